// src/web/pages/admin-dashboard.tsx
// The security dashboard for administrators: sign-ins per hour and per day, throttling, rate
// limiting, where failures come from (networks, never addresses), MFA adoption, active sessions
// and the latest security events with filters. Everything is rendered here, charts included (as
// SVG): no script, and the page's stylesheet is a file from this origin, so the CSP is unchanged.

import type { DashboardSnapshot, SignInBucket } from '../../observability/dashboard.js';
import { describeEvent } from '../activity.js';
import type { PageContext } from '../page-context.js';
import { Time } from './components.js';
import { Layout } from './layout.js';
import { BarList, Meter, StackedBarChart, type Series } from './svg-charts.js';

export interface DashboardFilterValues {
  readonly type: string;
  readonly outcome: string;
  /** YYYY-MM-DD or empty. */
  readonly from: string;
  readonly to: string;
  readonly page: number;
}

export interface AdminDashboardProps {
  readonly context: PageContext;
  readonly snapshot: DashboardSnapshot;
  readonly filters: DashboardFilterValues;
  /** The event types offered in the filter. */
  readonly eventTypes: readonly string[];
  /** A message about refused filters, shown above the events (the page still renders). */
  readonly filterError?: string | undefined;
}

const colours = { success: '#2e7d32', failure: '#c62828', throttled: '#ef6c00', limited: '#6a1b9a', sources: '#1565c0', mfa: '#00838f' } as const;

const signInSeries: readonly Series[] = [
  { name: 'Succeeded', color: colours.success },
  { name: 'Failed', color: colours.failure },
  { name: 'Throttled', color: colours.throttled },
];

function hourLabel(start: number): string {
  return `${new Date(start).toISOString().slice(11, 13)}:00`;
}

function dayLabel(start: number): string {
  return new Date(start).toISOString().slice(5, 10);
}

function signInBuckets(buckets: readonly SignInBucket[], label: (start: number) => string) {
  return buckets.map((bucket) => ({ label: label(bucket.start), values: [bucket.success, bucket.failure, bucket.throttled] }));
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function Figure({ label, value, note }: { readonly label: string; readonly value: string; readonly note?: string }) {
  return (
    <div class="stat">
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
      {note === undefined ? null : <div class="stat-note muted">{note}</div>}
    </div>
  );
}

function detailText(detail: Readonly<Record<string, string | number | boolean>> | null): string {
  if (detail === null) return '';
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}

function pageLink(filters: DashboardFilterValues, page: number): string {
  const query = new URLSearchParams();
  if (filters.type !== '') query.set('type', filters.type);
  if (filters.outcome !== '') query.set('outcome', filters.outcome);
  if (filters.from !== '') query.set('from', filters.from);
  if (filters.to !== '') query.set('to', filters.to);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return `/admin/security${text === '' ? '' : `?${text}`}#events`;
}

function EventFilters({ filters, eventTypes }: { readonly filters: DashboardFilterValues; readonly eventTypes: readonly string[] }) {
  return (
    <form method="get" action="/admin/security#events" class="filter-form" aria-label="Filter security events">
      <div class="field">
        <label for="filter-type">Type</label>
        <select id="filter-type" name="type">
          <option value="" selected={filters.type === ''}>
            Any type
          </option>
          {eventTypes.map((type) => (
            <option key={type} value={type} selected={filters.type === type}>
              {type}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-outcome">Outcome</label>
        <select id="filter-outcome" name="outcome">
          <option value="" selected={filters.outcome === ''}>
            Any outcome
          </option>
          <option value="success" selected={filters.outcome === 'success'}>
            Success
          </option>
          <option value="failure" selected={filters.outcome === 'failure'}>
            Failure
          </option>
        </select>
      </div>
      <div class="field">
        <label for="filter-from">From (UTC)</label>
        <input id="filter-from" name="from" type="date" value={filters.from} />
      </div>
      <div class="field">
        <label for="filter-to">To (UTC, inclusive)</label>
        <input id="filter-to" name="to" type="date" value={filters.to} />
      </div>
      <div class="filter-actions">
        <button type="submit">Filter</button>
        <a href="/admin/security#events" class="button secondary">
          Clear
        </a>
      </div>
    </form>
  );
}

export function AdminDashboardPage({ context, snapshot, filters, eventTypes, filterError }: AdminDashboardProps) {
  const hourly = signInBuckets(snapshot.signInsByHour, hourLabel);
  const daily = signInBuckets(snapshot.signInsByDay, dayLabel);
  const failed24h = sum(snapshot.signInsByHour.map((bucket) => bucket.failure));
  const succeeded24h = sum(snapshot.signInsByHour.map((bucket) => bucket.success));
  const throttled24h = sum(snapshot.signInsByHour.map((bucket) => bucket.throttled));
  const limited24h = sum(snapshot.rateLimitedByHour.map((bucket) => bucket.count));
  const adoption = snapshot.mfaAdoption;
  return (
    <Layout title="Security" siteName={context.siteName} context={context}>
      {/* A stylesheet from this origin (body-ok), so the shared layout stays as it is. */}
      <link rel="stylesheet" href="/assets/dashboard.css" />
      <div class="dashboard">
        <h1>Security</h1>
        <p class="muted">
          {'Updated '}
          <Time at={snapshot.generatedAt} />
          {'. Counts cover the last 24 hours unless a chart says otherwise.'}
        </p>

        <section class="stats" aria-label="At a glance">
          <Figure label="Active sessions" value={snapshot.activeSessions === undefined ? 'n/a' : String(snapshot.activeSessions)} note="signed in, not expired" />
          <Figure label="Sign-ins succeeded" value={String(succeeded24h)} />
          <Figure label="Sign-ins failed" value={String(failed24h)} />
          <Figure label="Throttled accounts" value={String(snapshot.throttledAccounts)} note={`${throttled24h} attempts refused`} />
          <Figure label="Rate-limited requests" value={String(limited24h)} />
          <Figure label="MFA adoption" value={adoption === undefined || adoption.users === 0 ? 'n/a' : `${Math.round((adoption.withMfa / adoption.users) * 100)}%`} note={adoption === undefined ? undefined : `${adoption.withMfa} of ${adoption.users} accounts`} />
          <Figure label="CSP reports" value={String(snapshot.cspReports)} />
        </section>

        <section class="card" aria-labelledby="sign-ins-heading">
          <h2 id="sign-ins-heading">Sign-ins per hour, last 24 hours (UTC)</h2>
          <StackedBarChart id="chart-hourly" title="Sign-ins per hour, last 24 hours" description="Succeeded, failed and throttled sign-in attempts per hour." series={signInSeries} buckets={hourly} labelEvery={3} />
        </section>

        <section class="card" aria-labelledby="daily-heading">
          <h2 id="daily-heading">Sign-ins per day, last 30 days (UTC)</h2>
          <StackedBarChart id="chart-daily" title="Sign-ins per day, last 30 days" description="Succeeded, failed and throttled sign-in attempts per day." series={signInSeries} buckets={daily} labelEvery={5} />
        </section>

        <div class="dashboard-grid">
          <section class="card" aria-labelledby="throttled-heading">
            <h2 id="throttled-heading">Throttled sign-ins</h2>
            <p>
              {`${snapshot.throttledAccounts} account${snapshot.throttledAccounts === 1 ? '' : 's'} began to be throttled (their owners were emailed); ${throttled24h} attempts were refused without being evaluated.`}
            </p>
            <StackedBarChart
              id="chart-throttled"
              title="Throttled sign-in attempts per hour"
              description="Sign-in attempts refused by brute-force throttling, per hour."
              series={[{ name: 'Throttled', color: colours.throttled }]}
              buckets={snapshot.throttledByHour.map((bucket) => ({ label: hourLabel(bucket.start), values: [bucket.count] }))}
              labelEvery={6}
            />
          </section>

          <section class="card" aria-labelledby="limited-heading">
            <h2 id="limited-heading">Rate-limited requests</h2>
            <StackedBarChart
              id="chart-limited"
              title="Rate-limited requests per hour"
              description="Requests refused with 429 by any limiter, per hour."
              series={[{ name: 'Refused (429)', color: colours.limited }]}
              buckets={snapshot.rateLimitedByHour.map((bucket) => ({ label: hourLabel(bucket.start), values: [bucket.count] }))}
              labelEvery={6}
            />
            <h3>By limiter</h3>
            <BarList id="list-limiters" title="Rate-limited requests by limiter" rows={snapshot.rateLimitedByLimiter.map((row) => ({ label: row.label, value: row.count }))} color={colours.limited} empty="No request was rate limited." />
          </section>
        </div>

        <div class="dashboard-grid">
          <section class="card" aria-labelledby="sources-heading">
            <h2 id="sources-heading">Top sources of failures</h2>
            <p class="muted">Failed sign-ins and second factors by network: IPv4 /24, IPv6 /48.</p>
            <BarList id="list-sources" title="Top sources of failed authentication" rows={snapshot.topSources.map((row) => ({ label: row.network, value: row.failures }))} color={colours.sources} empty="No failed sign-in in the last 24 hours." />
          </section>

          <section class="card" aria-labelledby="mfa-heading">
            <h2 id="mfa-heading">Multi-factor authentication</h2>
            {adoption === undefined ? (
              <p class="muted">Not available.</p>
            ) : (
              <>
                <Meter id="meter-mfa-all" label="Accounts with MFA" value={adoption.withMfa} total={adoption.users} color={colours.mfa} />
                <Meter id="meter-mfa-admins" label="Administrators with MFA" value={adoption.adminsWithMfa} total={adoption.admins} color={colours.mfa} />
              </>
            )}
            <h3>Failed second factors</h3>
            <BarList id="list-mfa" title="Failed second-factor attempts by factor" rows={snapshot.mfaFailuresByFactor.map((row) => ({ label: row.label, value: row.count }))} color={colours.failure} empty="No failed second factor." />
          </section>
        </div>

        <section class="card" aria-labelledby="events-heading" id="events">
          <h2 id="events-heading">Latest security events</h2>
          <EventFilters filters={filters} eventTypes={eventTypes} />
          {filterError === undefined ? null : (
            <div class="alert" role="alert">
              {filterError}
            </div>
          )}
          {snapshot.events.length === 0 ? (
            <p class="muted" role="status">
              No event matches.
            </p>
          ) : (
            <div class="table-scroll">
              <table class="events">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Event</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Account</th>
                    <th scope="col">From</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {snapshot.events.map((event) => (
                    <tr key={event.id} class={event.outcome === 'failure' ? 'failure' : undefined}>
                      <td>
                        <Time at={event.at} />
                      </td>
                      <td>
                        <div>{describeEvent(event)}</div>
                        <code class="muted">{event.type}</code>
                      </td>
                      <td>{event.outcome}</td>
                      <td>
                        <code>{event.subjectId ?? event.actorId ?? ''}</code>
                      </td>
                      <td>
                        <code>{event.ip ?? ''}</code>
                      </td>
                      <td>
                        <code>{detailText(event.detail)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav class="pagination" aria-label="Event pages">
            {filters.page > 1 ? <a href={pageLink(filters, filters.page - 1)}>Newer events</a> : <span />}
            {snapshot.moreEvents ? <a href={pageLink(filters, filters.page + 1)}>Older events</a> : <span />}
          </nav>
        </section>
      </div>
    </Layout>
  );
}
