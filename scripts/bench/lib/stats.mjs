// scripts/bench/lib/stats.mjs: the few statistics the benchmark reports. Every figure is the median
// of its repetitions with the spread (lowest to highest) beside it, and every comparison is a ratio
// of two figures measured in the same repetition, so a machine that slows down between two
// repetitions moves both sides of the ratio together.

/** The median of a non-empty list of numbers. */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted.at(middle) : (sorted.at(middle - 1) + sorted.at(middle)) / 2;
}

/** Lowest and highest, and the spread as a share of the median ((max - min) / median). */
export function spread(values) {
  if (values.length === 0) return { min: Number.NaN, max: Number.NaN, relative: Number.NaN };
  const min = Math.min(...values);
  const max = Math.max(...values);
  const mid = median(values);
  return { min, max, relative: mid === 0 ? 0 : (max - min) / mid };
}

/** Pairs two series repetition by repetition and returns the ratios a[i] / b[i]. */
export function pairedRatios(numerators, denominators) {
  return numerators
    .slice(0, denominators.length)
    .map((value, index) => [value, denominators.at(index)])
    .filter(([, denominator]) => denominator > 0)
    .map(([value, denominator]) => value / denominator);
}

/** A number for a table: thousands separated, a fixed number of decimals. */
export function formatNumber(value, decimals = 0) {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** "1,234 (1,100–1,300)": the median and the spread of a series. */
export function formatSeries(values, decimals = 0) {
  if (values.length === 0) return 'n/a';
  const { min, max } = spread(values);
  const middle = formatNumber(median(values), decimals);
  return values.length === 1 ? middle : `${middle} (${formatNumber(min, decimals)}–${formatNumber(max, decimals)})`;
}

/** "82% (79–85%)" for a series of ratios. */
export function formatRatios(ratios) {
  if (ratios.length === 0) return 'n/a';
  const percent = (value) => `${Math.round(value * 100)}`;
  const { min, max } = spread(ratios);
  return ratios.length === 1 ? `${percent(median(ratios))}%` : `${percent(median(ratios))}% (${percent(min)}–${percent(max)}%)`;
}
