// src/web/routes/account.ts
// The account page and its forms: profile, email, password, sessions, deletion. Email, password
// and deletion need a password proof from the last 10 minutes (requireAccess('fresh')).

import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { hashSessionId } from '../../storage/sessions/kysely-session-store.js';
import { validate, validated } from '../../security/validation.js';
import { currentUser } from '../access.js';
import type { WebDependencies } from '../dependencies.js';
import { parseForm, refusalFrom, type FormRefusal } from '../forms.js';
import { pageContext } from '../page-context.js';
import { AccountPage, type AccountForm } from '../pages/account.js';
import { sendPage } from '../render.js';
import { changeEmailBody, changePasswordBody, sessionParams, updateProfileBody } from '../schemas.js';
import { isFreshlyAuthenticated, requestMeta, setFlash, startAnonymousSession, startUserSession } from '../session-state.js';
import { describeUserAgent } from '../user-agent.js';

/** How many security events the account page shows. */
const activityShown = 20;

// An unticked box is simply absent from the form: a missing value gets the same words as a wrong one.
const deleteForm = z.strictObject({ confirm: z.string().default('').refine((value) => value === 'yes', { error: 'Tick the box to confirm.' }) });

export function accountPageRoutes(deps: WebDependencies): Router {
  const { accounts, sessions, requireAccess, passwordHint } = deps;
  const siteName = deps.config.siteName;
  const router = Router();

  const renderAccount = async (req: Request, res: Response, refused?: { form: AccountForm } & FormRefusal) => {
    const user = currentUser(res);
    const currentId = hashSessionId(req.sessionID);
    const [stored, activity, mfa] = await Promise.all([sessions.listForUser(user.id), accounts.listActivity(user.id, activityShown), deps.mfa.status(user)]);
    const views = stored.map((session) => ({
      id: session.id,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      ip: session.ip,
      client: describeUserAgent(session.userAgent).summary,
      current: session.id === currentId,
    }));
    const page = AccountPage({ context: pageContext(req, res, siteName, { forms: true }), user, sessions: views, activity, fresh: isFreshlyAuthenticated(req), passwordHint, refused, mfa });
    sendPage(res, page, refused?.status ?? 200);
  };

  const audit = (req: Request, userId: string, type: string, detail: Record<string, string | number | boolean> | null = null) => {
    const meta = requestMeta(req);
    return accounts.recordEvent({ type, outcome: 'success', actorId: userId, subjectId: userId, ip: meta.ip, userAgent: meta.userAgent, detail });
  };

  router.get('/account', requireAccess('verified', 'page'), validate({}), async (req, res) => {
    await renderAccount(req, res);
  });

  router.post('/account/profile', requireAccess('verified', 'page'), async (req, res) => {
    const form = parseForm(updateProfileBody, req.body);
    if (!form.ok) return renderAccount(req, res, { form: 'profile', ...form.refusal });
    try {
      const displayName = form.data.displayName === '' ? null : form.data.displayName;
      await accounts.updateProfile(currentUser(res).id, { displayName }, requestMeta(req));
    } catch (error) {
      return renderAccount(req, res, { form: 'profile', ...refusalFrom(error) });
    }
    setFlash(req, { kind: 'notice', message: 'Your name is saved.' });
    res.redirect(303, '/account');
  });

  router.post('/account/email', requireAccess('fresh', 'page'), async (req, res) => {
    const form = parseForm(changeEmailBody, req.body);
    if (!form.ok) return renderAccount(req, res, { form: 'email', ...form.refusal });
    try {
      await accounts.changeEmail(currentUser(res).id, form.data.email, requestMeta(req));
    } catch (error) {
      return renderAccount(req, res, { form: 'email', ...refusalFrom(error) });
    }
    setFlash(req, { kind: 'notice', message: 'We sent a link to the new address. Your email changes once you open it.' });
    res.redirect(303, '/account');
  });

  router.post('/account/password', requireAccess('fresh', 'page'), async (req, res) => {
    const user = currentUser(res);
    const form = parseForm(changePasswordBody, req.body);
    if (!form.ok) return renderAccount(req, res, { form: 'password', ...form.refusal });
    try {
      await accounts.changePassword(user.id, form.data, requestMeta(req));
    } catch (error) {
      return renderAccount(req, res, { form: 'password', ...refusalFrom(error) });
    }
    // A credential change: a new id for this session, and every other session ends (ASVS 7.4.3).
    await startUserSession(req, user);
    await sessions.revokeAllForUser(user.id, req.sessionID);
    setFlash(req, { kind: 'notice', message: 'Your password is changed. Every other device was signed out.' });
    res.redirect(303, '/account');
  });

  router.post('/account/sessions/revoke-others', requireAccess('verified', 'page'), validate({}), async (req, res) => {
    const user = currentUser(res);
    const ended = await sessions.revokeAllForUser(user.id, req.sessionID);
    await audit(req, user.id, 'other_sessions_revoked', { ended });
    setFlash(req, { kind: 'notice', message: ended === 1 ? 'One other session was signed out.' : `${ended} other sessions were signed out.` });
    res.redirect(303, '/account');
  });

  const revokeSchemas = { params: sessionParams };
  router.post('/account/sessions/:id/revoke', requireAccess('verified', 'page'), validate(revokeSchemas), async (req, res) => {
    const user = currentUser(res);
    const { params } = validated(res, revokeSchemas);
    if (params.id === hashSessionId(req.sessionID)) {
      // Revoking this very session is signing out.
      await audit(req, user.id, 'sign_out');
      await startAnonymousSession(req, { kind: 'notice', message: 'You are signed out.' });
      res.redirect(303, '/');
      return;
    }
    const revoked = await sessions.revokeForUser(user.id, params.id);
    if (revoked) await audit(req, user.id, 'session_revoked');
    setFlash(req, revoked ? { kind: 'notice', message: 'That session is signed out.' } : { kind: 'alert', message: 'That session had already ended.' });
    res.redirect(303, '/account');
  });

  router.post('/account/delete', requireAccess('fresh', 'page'), async (req, res) => {
    const user = currentUser(res);
    const form = parseForm(deleteForm, req.body);
    if (!form.ok) return renderAccount(req, res, { form: 'delete', ...form.refusal });
    await accounts.deleteAccount(user.id, requestMeta(req));
    await sessions.revokeAllForUser(user.id);
    await startAnonymousSession(req, { kind: 'notice', message: 'Your account and its data are deleted.' });
    res.redirect(303, '/');
  });

  return router;
}
