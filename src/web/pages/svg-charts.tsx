// src/web/pages/svg-charts.tsx
// Charts drawn on the server as inline SVG: no script, no inline style (presentation attributes
// only, which the CSP's style-src does not govern), text in currentColor so dark mode works. Each
// chart names itself for screen readers (role="img", <title>, <desc>) and carries its numbers in
// a table under a disclosure, so nothing is only in the picture.

export interface Series {
  readonly name: string;
  /** A fill colour; every series also has a name in the legend, so colour is never the only cue. */
  readonly color: string;
}

export interface StackedBucket {
  readonly label: string;
  /** One value per series, in the series' order. */
  readonly values: readonly number[];
}

const width = 720;
const height = 240;
const margin = { top: 12, right: 12, bottom: 34, left: 44 };

/** 1, 2 or 5 times a power of ten, at least `value` (and at least 1). */
export function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatCount(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(value >= 10_000_000 ? 0 : 1)}M`;
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  return String(value);
}

function Legend({ series }: { readonly series: readonly Series[] }) {
  return (
    <ul class="chart-legend">
      {series.map((entry) => (
        <li key={entry.name}>
          <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false">
            <rect width="12" height="12" rx="2" fill={entry.color} />
          </svg>
          {entry.name}
        </li>
      ))}
    </ul>
  );
}

function DataTable({ caption, series, buckets }: { readonly caption: string; readonly series: readonly Series[]; readonly buckets: readonly StackedBucket[] }) {
  return (
    <details class="chart-data">
      <summary>{`Numbers: ${caption}`}</summary>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              {series.map((entry) => (
                <th scope="col" key={entry.name}>
                  {entry.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {buckets.map((bucket) => (
              <tr key={bucket.label}>
                <th scope="row">{bucket.label}</th>
                {bucket.values.map((value, index) => (
                  <td key={series.at(index)?.name ?? index}>{value}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export interface StackedBarChartProps {
  /** Unique on the page: the ids of the chart's title and description derive from it. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly series: readonly Series[];
  readonly buckets: readonly StackedBucket[];
  /** Show every n-th label on the x axis (all labels are in the table). */
  readonly labelEvery?: number;
}

/** Stacked columns, one per bucket, with a y axis (0, half, max) and a legend. */
export function StackedBarChart({ id, title, description, series, buckets, labelEvery = 1 }: StackedBarChartProps) {
  const totals = buckets.map((bucket) => bucket.values.reduce((sum, value) => sum + value, 0));
  const top = niceCeiling(Math.max(0, ...totals));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.72);
  const y = (value: number) => margin.top + plotHeight - (value / top) * plotHeight;
  const grand = totals.reduce((sum, value) => sum + value, 0);
  return (
    <figure class="chart">
      <svg class="chart-svg" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} preserveAspectRatio="xMidYMid meet">
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{`${description} Total ${grand}.`}</desc>
        {[0, top / 2, top].map((tick) => (
          <g key={tick}>
            <line x1={margin.left} x2={width - margin.right} y1={y(tick)} y2={y(tick)} stroke="currentColor" stroke-opacity="0.18" stroke-width="1" />
            <text x={margin.left - 6} y={y(tick) + 4} text-anchor="end" font-size="11" fill="currentColor">
              {formatCount(tick)}
            </text>
          </g>
        ))}
        {buckets.map((bucket, index) => {
          const x = margin.left + index * slot + (slot - barWidth) / 2;
          let base = 0;
          return (
            <g key={bucket.label}>
              {bucket.values.map((value, seriesIndex) => {
                if (value <= 0) return null;
                const upper = y(base + value);
                const lower = y(base);
                base += value;
                const entry = series.at(seriesIndex);
                return (
                  <rect key={entry?.name ?? seriesIndex} x={x.toFixed(1)} y={upper.toFixed(1)} width={barWidth.toFixed(1)} height={Math.max(0.5, lower - upper).toFixed(1)} fill={entry?.color ?? 'currentColor'}>
                    <title>{`${bucket.label}: ${value} ${entry?.name ?? ''}`}</title>
                  </rect>
                );
              })}
              {index % labelEvery === 0 ? (
                <text x={(x + barWidth / 2).toFixed(1)} y={height - margin.bottom + 16} text-anchor="middle" font-size="11" fill="currentColor">
                  {bucket.label}
                </text>
              ) : null}
            </g>
          );
        })}
        <line x1={margin.left} x2={width - margin.right} y1={y(0)} y2={y(0)} stroke="currentColor" stroke-opacity="0.5" stroke-width="1" />
      </svg>
      <figcaption>
        <Legend series={series} />
      </figcaption>
      <DataTable caption={title} series={series} buckets={buckets} />
    </figure>
  );
}

export interface BarListProps {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly { readonly label: string; readonly value: number }[];
  readonly color: string;
  /** What to say when there are no rows. */
  readonly empty: string;
}

/** Horizontal bars with their label and value as text: top sources, counts by limiter. */
export function BarList({ id, title, rows, color, empty }: BarListProps) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  const max = Math.max(1, ...rows.map((row) => row.value));
  const rowHeight = 26;
  const labelWidth = 210;
  const barSpace = width - labelWidth - 70;
  const total = rows.length * rowHeight + 8;
  return (
    <svg class="chart-svg" viewBox={`0 0 ${width} ${total}`} role="img" aria-labelledby={`${id}-title`}>
      <title id={`${id}-title`}>{`${title}: ${rows.map((row) => `${row.label} ${row.value}`).join(', ')}`}</title>
      {rows.map((row, index) => {
        const barWidth = Math.max(1, (row.value / max) * barSpace);
        const top = 4 + index * rowHeight;
        return (
          <g key={row.label}>
            <text x={labelWidth - 8} y={top + 16} text-anchor="end" font-size="12" fill="currentColor" font-family="ui-monospace, monospace">
              {row.label}
            </text>
            <rect x={labelWidth} y={top + 4} width={barWidth.toFixed(1)} height={rowHeight - 10} rx="3" fill={color} />
            <text x={(labelWidth + barWidth + 6).toFixed(1)} y={top + 16} font-size="12" fill="currentColor">
              {row.value}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export interface MeterProps {
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly total: number;
  readonly color: string;
}

/** A share as a bar with its percentage: MFA adoption. */
export function Meter({ id, label, value, total, color }: MeterProps) {
  const share = total === 0 ? 0 : value / total;
  const percent = Math.round(share * 100);
  return (
    <div class="meter">
      <svg class="meter-svg" viewBox="0 0 300 18" role="img" aria-labelledby={`${id}-title`} preserveAspectRatio="none">
        <title id={`${id}-title`}>{`${label}: ${value} of ${total} (${percent}%)`}</title>
        <rect x="0" y="0" width="300" height="18" rx="4" fill="currentColor" fill-opacity="0.12" />
        <rect x="0" y="0" width={(300 * share).toFixed(1)} height="18" rx="4" fill={color} />
      </svg>
      <span class="meter-text">{`${label}: ${value} of ${total} (${percent}%)`}</span>
    </div>
  );
}
