// src/observability/audit-bus.ts
// The one hook between the audit trail and the monitoring: accounts/audit.ts publishes every
// event it has written on a diagnostics channel, and the metrics and the alerts subscribe. The
// domain keeps no reference to either; a process with no monitoring pays one has-subscribers check.
// Messages carry the database handle they were written through, so two servers in one process
// (as in tests) each count only their own events.

import diagnostics from 'node:diagnostics_channel';
import type { AuditDetail } from '../accounts/types.js';
import type { SecuritySignal } from './security-signals.js';

export interface RecordedAuditEvent {
  /** The Kysely instance the event was written through: the subscriber's identity filter. */
  readonly source: object;
  readonly at: number;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly subjectId: string | null;
  readonly ip: string | null;
  readonly detail: AuditDetail | null;
  readonly signals: readonly SecuritySignal[];
}

const channelName = 'portcullis:audit-recorded';
const channel = diagnostics.channel(channelName);

export function publishAuditRecorded(event: RecordedAuditEvent): void {
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `listener` for each event written through `source`; returns the unsubscribe function. */
export function subscribeToAudit(source: object, listener: (event: RecordedAuditEvent) => void): () => void {
  const handler = (message: unknown) => {
    const event = message as RecordedAuditEvent;
    if (event.source === source) listener(event);
  };
  diagnostics.subscribe(channelName, handler);
  return () => {
    diagnostics.unsubscribe(channelName, handler);
  };
}
