// src/web/api/auth.ts
// /api/v1/auth: sign up, confirm the email address, sign in and out, forgotten password. The same
// schemas and domain calls as the pages; the session cookie is the same one too.

import { z } from 'zod';
import type { WebDependencies } from '../dependencies.js';
import { forgotPasswordBody, resetPasswordBody, signInBody, signUpBody, verifyEmailBody } from '../schemas.js';
import { beginSecondFactorIfDue } from '../mfa-session.js';
import { requestMeta, startAnonymousSession, startUserSession } from '../session-state.js';
import { apiRoute, type ApiRoute } from './route.js';
import { mfaRequiredResponse } from './mfa.js';
import { messageResponse, toUserView, userResponse } from './views.js';

const tag = 'auth';

/** Signed in, or (issue 4) a second factor is due first. */
const signInResponse = z.union([userResponse.extend({ mfaEnrolmentRequired: z.literal(true).optional() }), mfaRequiredResponse]);

export function authApiRoutes(deps: WebDependencies): ApiRoute[] {
  const { accounts, sessions, signInProtection } = deps;
  return [
    apiRoute({
      method: 'post',
      path: '/auth/sign-up',
      summary: 'Create an account. Answers the same whether or not the address is taken; a link to confirm it is emailed.',
      tag,
      access: 'public',
      schemas: { body: signUpBody },
      responses: { 202: { description: 'Accepted; check the mailbox.', schema: messageResponse } },
      errors: ['PASSWORD_REJECTED'],
      async handle({ body }, req, res) {
        const { displayName, ...rest } = body;
        await accounts.signUp({ ...rest, ...(displayName === undefined || displayName === '' ? {} : { displayName }) }, requestMeta(req));
        res.status(202).json({ message: 'If the address can be used for a new account, we have sent it a link to confirm it.' });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/verify-email',
      summary: 'Confirm an email address with the token from the emailed link (single use, 24 hours).',
      tag,
      access: 'public',
      schemas: { body: verifyEmailBody },
      responses: { 200: { description: 'Confirmed.', schema: userResponse } },
      errors: ['TOKEN_INVALID'],
      async handle({ body }, req, res) {
        const user = await accounts.verifyEmail(body.token, requestMeta(req));
        // More access than a moment ago for this session's own account: a new session id.
        if (req.session.userId === user.id) await startUserSession(req, user, { passwordProven: false });
        res.json({ user: toUserView(user) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/sign-in',
      summary: 'Sign in. Unknown address, wrong password and disabled account all answer INVALID_CREDENTIALS, in the same time.',
      tag,
      access: 'public',
      schemas: { body: signInBody },
      responses: { 200: { description: 'Signed in, the session cookie set; or, for an account with a second factor, { mfaRequired: true, methods } and a session that waits for it (5 minutes).', schema: signInResponse } },
      errors: ['INVALID_CREDENTIALS'],
      async handle({ body }, req, res) {
        // Through the brute-force throttle: refusals look exactly like a wrong password.
        const user = await signInProtection.signIn(req, res, body);
        // A second factor on the account: the session only waits for it (five minutes at most).
        const methods = await beginSecondFactorIfDue(req, deps.mfa, user, '/account');
        if (methods !== undefined) {
          res.json({ mfaRequired: true, methods });
          return;
        }
        await startUserSession(req, user);
        // An account the MFA policy covers must enrol before anything else (MFA_ENROLMENT_REQUIRED).
        res.json({ user: toUserView(user), ...(deps.mfa.isRequiredFor(user.role) ? { mfaEnrolmentRequired: true as const } : {}) });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/sign-out',
      summary: 'End this session on the server.',
      tag,
      access: 'public',
      schemas: {},
      responses: { 204: { description: 'Signed out (or was not signed in).' } },
      async handle(_input, req, res) {
        const user = res.locals.user;
        if (user !== undefined) {
          const meta = requestMeta(req);
          await accounts.recordEvent({ type: 'sign_out', outcome: 'success', actorId: user.id, subjectId: user.id, ip: meta.ip, userAgent: meta.userAgent, detail: null });
        }
        await startAnonymousSession(req);
        res.clearCookie(deps.config.session.cookieName, { secure: true, httpOnly: true, sameSite: 'lax', path: '/' });
        res.status(204).end();
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/password/forgot',
      summary: 'Email a password reset link (single use, 30 minutes). Answers the same for unknown addresses.',
      tag,
      access: 'public',
      schemas: { body: forgotPasswordBody },
      responses: { 202: { description: 'Accepted.', schema: messageResponse } },
      async handle({ body }, req, res) {
        await accounts.requestPasswordReset(body.email, requestMeta(req));
        res.status(202).json({ message: 'If an account uses that address, we have emailed it a link to choose a new password.' });
      },
    }),
    apiRoute({
      method: 'post',
      path: '/auth/password/reset',
      summary: 'Choose a new password with the emailed token. Every session of the account ends.',
      tag,
      access: 'public',
      schemas: { body: resetPasswordBody },
      responses: { 204: { description: 'Changed; sign in again.' } },
      errors: ['TOKEN_INVALID', 'PASSWORD_REJECTED'],
      async handle({ body }, req, res) {
        const user = await accounts.resetPassword(body, requestMeta(req));
        await sessions.revokeAllForUser(user.id);
        await signInProtection.clear(user.id);
        await startAnonymousSession(req);
        res.status(204).end();
      },
    }),
  ];
}
