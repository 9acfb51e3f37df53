// src/web/api/views.ts
// What the API sends back, as zod schemas (the OpenAPI document's response bodies) and the functions
// that build them, so the documented shape and the sent shape are one definition.

import { z } from 'zod';
import type { AuditEvent, PublicUser } from '../accounts-port.js';
import { describeEvent } from '../activity.js';
import { describeUserAgent } from '../user-agent.js';
import type { StoredSessionSummary } from '../../storage/sessions/kysely-session-store.js';

const timestamp = z.iso.datetime().meta({ description: 'UTC, ISO 8601' });

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string().nullable(),
  role: z.enum(['user', 'admin']),
  emailVerified: z.boolean(),
  createdAt: timestamp,
  passwordChangedAt: timestamp,
});

export const userResponse = z.object({ user: userView });

export const messageResponse = z.object({ message: z.string() });

export const sessionView = z.object({
  id: z.string().meta({ description: 'The SHA-256 of the session id: usable to revoke it, useless as a cookie.' }),
  current: z.boolean(),
  createdAt: timestamp,
  lastSeenAt: timestamp,
  ip: z.string().nullable(),
  browser: z.string(),
  os: z.string(),
});

export const sessionsResponse = z.object({ sessions: z.array(sessionView) });

export const endedResponse = z.object({ ended: z.number().int().min(0) });

export const activityView = z.object({
  id: z.string(),
  at: timestamp,
  type: z.string(),
  outcome: z.enum(['success', 'failure']),
  description: z.string(),
  ip: z.string().nullable(),
});

export const activityResponse = z.object({ events: z.array(activityView) });

export const errorResponse = z.object({
  error: z.object({
    code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
    message: z.string(),
    requestId: z.string(),
    fields: z.record(z.string(), z.string()).optional(),
  }),
});

const iso = (at: number) => new Date(at).toISOString();

export function toUserView(user: PublicUser): z.infer<typeof userView> {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    emailVerified: user.emailVerified,
    createdAt: iso(user.createdAt),
    passwordChangedAt: iso(user.passwordChangedAt),
  };
}

/** GET /api/v1/me's answer; also written by the signed-in lane before Express (web/signed-in-lane.ts). */
export function meAnswer(user: PublicUser): { user: z.infer<typeof userView> } {
  return { user: toUserView(user) };
}

export function toSessionView(session: StoredSessionSummary, currentId: string): z.infer<typeof sessionView> {
  const client = describeUserAgent(session.userAgent);
  return {
    id: session.id,
    current: session.id === currentId,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    ip: session.ip,
    browser: client.browser,
    os: client.os,
  };
}

export function toActivityView(event: AuditEvent): z.infer<typeof activityView> {
  return { id: event.id, at: iso(event.at), type: event.type, outcome: event.outcome, description: describeEvent(event), ip: event.ip };
}
