// src/web/api/me.ts
// /api/v1/me: the signed-in account, its sessions and its security activity. Email, password and
// deletion need a password proof from the last 10 minutes (POST /me/reauthenticate).

import { AppError } from '../../errors/app-error.js';
import { hashSessionId } from '../../storage/sessions/kysely-session-store.js';
import { currentUser } from '../access.js';
import type { WebDependencies } from '../dependencies.js';
import { changeEmailBody, changePasswordBody, reauthenticateBody, sessionParams, updateProfileBody } from '../schemas.js';
import { requestMeta, startAnonymousSession, startUserSession } from '../session-state.js';
import { apiRoute, type ApiRoute } from './route.js';
import { activityResponse, endedResponse, meAnswer, messageResponse, sessionsResponse, toActivityView, toSessionView, toUserView, userResponse } from './views.js';
import { z } from 'zod';

const tag = 'me';
const activityQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() });

export function meApiRoutes(deps: WebDependencies): ApiRoute[] {
  const { accounts, sessions } = deps;
  const audit = (meta: ReturnType<typeof requestMeta>, userId: string, type: string, detail: Record<string, number> | null = null) =>
    accounts.recordEvent({ type, outcome: 'success', actorId: userId, subjectId: userId, ip: meta.ip, userAgent: meta.userAgent, detail });

  return [
    apiRoute({
      method: 'get',
      path: '/me',
      summary: 'The signed-in account (also for accounts that have not confirmed their email yet).',
      tag,
      access: 'signed-in',
      schemas: {},
      responses: { 200: { description: 'The account.', schema: userResponse } },
      async handle(_input, _req, res) {
        // Most of these are answered before Express, with the same meAnswer (web/signed-in-lane.ts).
        res.json(meAnswer(currentUser(res)));
        return Promise.resolve();
      },
    }),
    apiRoute({
      method: 'patch',
      path: '/me',
      summary: 'Change the display name (null or empty clears it).',
      tag,
      access: 'verified',
      schemas: { body: updateProfileBody },
      responses: { 200: { description: 'The updated account.', schema: userResponse } },
      async handle({ body }, req, res) {
        const displayName = body.displayName === '' ? null : body.displayName;
        const user = await accounts.updateProfile(currentUser(res).id, { displayName }, requestMeta(req));
        res.json({ user: toUserView(user) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/reauthenticate',
      summary: 'Prove the password again; email, password and deletion are then allowed for 10 minutes. The session id changes.',
      tag,
      access: 'verified',
      schemas: { body: reauthenticateBody },
      responses: { 204: { description: 'Confirmed.' } },
      errors: ['INVALID_CREDENTIALS'],
      async handle({ body }, req, res) {
        const user = currentUser(res);
        await accounts.reauthenticate(user.id, body.password, requestMeta(req));
        await startUserSession(req, user);
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/email',
      summary: 'Change the email address: a link is sent to the new address, which takes over once opened.',
      tag,
      access: 'fresh',
      schemas: { body: changeEmailBody },
      responses: { 202: { description: 'Link sent.', schema: messageResponse } },
      errors: ['REAUTHENTICATION_REQUIRED'],
      async handle({ body }, req, res) {
        await accounts.changeEmail(currentUser(res).id, body.email, requestMeta(req));
        res.status(202).json({ message: 'We sent a link to the new address. Your email changes once you open it.' });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/email/verification',
      summary: 'Send a new link to confirm the email address.',
      tag,
      access: 'signed-in',
      schemas: {},
      responses: { 202: { description: 'Sent (or already confirmed).', schema: messageResponse } },
      async handle(_input, req, res) {
        const user = currentUser(res);
        if (!user.emailVerified) await accounts.resendVerification(user.id, requestMeta(req));
        res.status(202).json({ message: 'We sent a new link. It replaces the ones sent before.' });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/me/password',
      summary: 'Change the password (needs the current one). Every other session ends; this one gets a new id.',
      tag,
      access: 'fresh',
      schemas: { body: changePasswordBody },
      responses: { 204: { description: 'Changed.' } },
      errors: ['REAUTHENTICATION_REQUIRED', 'INVALID_CREDENTIALS', 'PASSWORD_REJECTED'],
      async handle({ body }, req, res) {
        const user = currentUser(res);
        await accounts.changePassword(user.id, body, requestMeta(req));
        await startUserSession(req, user);
        await sessions.revokeAllForUser(user.id, req.sessionID);
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'get',
      path: '/me/sessions',
      summary: 'Every active session of the account, the current one marked.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'The sessions, most recently active first.', schema: sessionsResponse } },
      async handle(_input, req, res) {
        const currentId = hashSessionId(req.sessionID);
        const stored = await sessions.listForUser(currentUser(res).id);
        res.json({ sessions: stored.map((session) => toSessionView(session, currentId)) });
      },
    }),
    apiRoute({
      method: 'delete',
      path: '/me/sessions',
      summary: 'Sign out everywhere else: end every session except this one.',
      tag,
      access: 'verified',
      schemas: {},
      responses: { 200: { description: 'How many sessions ended.', schema: endedResponse } },
      async handle(_input, req, res) {
        const user = currentUser(res);
        const ended = await sessions.revokeAllForUser(user.id, req.sessionID);
        await audit(requestMeta(req), user.id, 'other_sessions_revoked', { ended });
        res.json({ ended });
      },
    }),
    apiRoute({
      method: 'delete',
      path: '/me/sessions/:id',
      summary: 'End one session, by the id GET /me/sessions gives. Ending the current one signs out.',
      tag,
      access: 'verified',
      schemas: { params: sessionParams },
      responses: { 204: { description: 'Ended.' } },
      errors: ['NOT_FOUND'],
      async handle({ params }, req, res) {
        const user = currentUser(res);
        const meta = requestMeta(req);
        if (params.id === hashSessionId(req.sessionID)) {
          await audit(meta, user.id, 'sign_out');
          await startAnonymousSession(req);
          res.status(204).end();
          return;
        }
        // Someone else's session id, or one already ended, is simply not found.
        if (!(await sessions.revokeForUser(user.id, params.id))) throw new AppError('NOT_FOUND');
        await audit(meta, user.id, 'session_revoked');
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'get',
      path: '/me/activity',
      summary: 'Recent security events of the account, newest first.',
      tag,
      access: 'verified',
      schemas: { query: activityQuery },
      responses: { 200: { description: 'The events.', schema: activityResponse } },
      async handle({ query }, _req, res) {
        const events = await accounts.listActivity(currentUser(res).id, query.limit ?? 20);
        res.json({ events: events.map(toActivityView) });
      },
    }),
    apiRoute({
      method: 'delete',
      path: '/me',
      summary: 'Delete the account and its data. Every session ends.',
      tag,
      access: 'fresh',
      schemas: {},
      responses: { 204: { description: 'Deleted.' } },
      errors: ['REAUTHENTICATION_REQUIRED'],
      async handle(_input, req, res) {
        const user = currentUser(res);
        await accounts.deleteAccount(user.id, requestMeta(req));
        await sessions.revokeAllForUser(user.id);
        await startAnonymousSession(req);
        res.status(204).end();
      },
    }),
  ];
}
