// src/web/routes/auth.ts
// Pages to get in and out: sign up, confirm the email address, sign in, re-authenticate, sign out,
// forgot and reset password. Thin: validate, call the domain, start or end the session, redirect.

import { Router } from 'express';
import { z } from 'zod';
import { validate, validated } from '../../security/validation.js';
import { currentUser } from '../access.js';
import type { WebDependencies } from '../dependencies.js';
import { formString, parseForm, refusalFrom, type FormRefusal } from '../forms.js';
import { beginSecondFactorIfDue } from '../mfa-session.js';
import { pageContext } from '../page-context.js';
import { ForgotPasswordPage, ResetPasswordPage } from '../pages/password-reset.js';
import { ReauthenticatePage, SignInPage } from '../pages/sign-in.js';
import { CheckEmailPage, SignUpPage } from '../pages/sign-up.js';
import { VerifyEmailConfirmPage, VerifyEmailPendingPage } from '../pages/verify-email.js';
import { sendPage } from '../render.js';
import { returnPathField, safeReturnPath } from '../return-path.js';
import { forgotPasswordBody, reauthenticateBody, resetPasswordBody, signInBody, signUpBody, tokenField, verifyEmailBody } from '../schemas.js';
import { requestMeta, setFlash, startAnonymousSession, startUserSession } from '../session-state.js';

const returnQuerySchema = { query: z.strictObject({ return: returnPathField }) };
/** A link's token is only carried into the form here; an odd one is left for the POST to refuse. */
const tokenQuerySchema = { query: z.strictObject({ token: z.string().max(512).optional() }) };
const signInForm = signInBody.extend({ return: returnPathField });
const reauthenticateForm = reauthenticateBody.extend({ return: returnPathField });

export function authPageRoutes(deps: WebDependencies): Router {
  const { accounts, sessions, requireAccess, passwordHint, requireVerifiedEmail, signInProtection } = deps;
  const siteName = deps.config.siteName;
  const router = Router();

  /** Where a person lands after signing in: the verification page first when it is required. */
  const landingFor = (verified: boolean, wanted: string) => (requireVerifiedEmail && !verified ? '/verify-email' : wanted);

  // Sign up -------------------------------------------------------------------------------------
  router.get('/sign-up', validate({}), (req, res) => {
    if (res.locals.user !== undefined) {
      res.redirect(303, '/account');
      return;
    }
    sendPage(res, SignUpPage({ context: pageContext(req, res, siteName, { forms: true }), passwordHint }));
  });

  router.post('/sign-up', async (req, res) => {
    const form = parseForm(signUpBody, req.body);
    const values = { email: formString(req.body, 'email', 254), displayName: formString(req.body, 'displayName', 80) };
    const refuse = (refusal: FormRefusal) => {
      sendPage(res, SignUpPage({ context: pageContext(req, res, siteName, { forms: true }), passwordHint, values, errors: refusal.errors, message: refusal.message }), refusal.status);
    };
    if (!form.ok) {
      refuse(form.refusal);
      return;
    }
    const { email, password, displayName } = form.data;
    try {
      await accounts.signUp({ email, password, ...(displayName === undefined || displayName === '' ? {} : { displayName }) }, requestMeta(req));
    } catch (error) {
      refuse(refusalFrom(error));
      return;
    }
    res.redirect(303, '/check-email');
  });

  router.get('/check-email', validate({}), (req, res) => {
    sendPage(res, CheckEmailPage({ context: pageContext(req, res, siteName) }));
  });

  // Email verification ---------------------------------------------------------------------------
  router.get('/verify-email', validate(tokenQuerySchema), (req, res) => {
    const { query } = validated(res, tokenQuerySchema);
    if (query.token !== undefined) {
      // Only shows a button: opening the link must not use the token up (mail scanners open links).
      sendPage(res, VerifyEmailConfirmPage({ context: pageContext(req, res, siteName, { forms: true }), token: query.token }));
      return;
    }
    if (res.locals.user?.emailVerified === true) {
      res.redirect(303, '/account');
      return;
    }
    sendPage(res, VerifyEmailPendingPage({ context: pageContext(req, res, siteName) }));
  });

  router.post('/verify-email', async (req, res) => {
    const form = parseForm(verifyEmailBody, req.body);
    const given = formString(req.body, 'token', 512);
    const token = given !== undefined && tokenField.safeParse(given).success ? given : '';
    try {
      if (!form.ok) throw new InvalidLink();
      const user = await accounts.verifyEmail(form.data.token, requestMeta(req));
      setFlash(req, { kind: 'notice', message: 'Your email address is confirmed.' });
      if (req.session.userId === user.id) {
        // More access than a moment ago: a privilege change, so a new session id.
        await startUserSession(req, user, { passwordProven: false });
        res.redirect(303, '/account');
        return;
      }
      res.redirect(303, res.locals.user === undefined ? '/sign-in' : '/account');
    } catch (error) {
      const refusal = error instanceof InvalidLink ? { status: 400, message: 'This link is not valid. Use the newest link we sent you.' } : refusalFrom(error);
      sendPage(res, VerifyEmailConfirmPage({ context: pageContext(req, res, siteName, { forms: true }), token, message: refusal.message }), refusal.status);
    }
  });

  router.post('/verify-email/resend', requireAccess('signed-in', 'page'), validate({}), async (req, res) => {
    const user = currentUser(res);
    if (!user.emailVerified) await accounts.resendVerification(user.id, requestMeta(req));
    setFlash(req, { kind: 'notice', message: 'We sent a new link. It replaces the ones sent before.' });
    res.redirect(303, '/verify-email');
  });

  // Sign in and out ------------------------------------------------------------------------------
  router.get('/sign-in', validate(returnQuerySchema), (req, res) => {
    const { query } = validated(res, returnQuerySchema);
    const returnTo = safeReturnPath(query.return);
    if (res.locals.user !== undefined) {
      res.redirect(303, returnTo);
      return;
    }
    sendPage(res, SignInPage({ context: pageContext(req, res, siteName, { forms: true }), returnTo, passkeys: deps.passkeyScripts }));
  });

  router.post('/sign-in', async (req, res) => {
    const returnTo = safeReturnPath(formString(req.body, 'return', 1024));
    const email = formString(req.body, 'email', 254);
    const form = parseForm(signInForm, req.body);
    let refusal: FormRefusal;
    if (form.ok) {
      try {
        // Through the brute-force throttle: refusals look exactly like a wrong password.
        const user = await signInProtection.signIn(req, res, { email: form.data.email, password: form.data.password });
        // A second factor on the account: the session only waits for it (five minutes at most).
        if ((await beginSecondFactorIfDue(req, deps.mfa, user, returnTo)) !== undefined) {
          res.redirect(303, '/second-factor');
          return;
        }
        await startUserSession(req, user);
        res.redirect(303, landingFor(user.emailVerified, returnTo));
        return;
      } catch (error) {
        refusal = refusalFrom(error);
      }
    } else {
      refusal = form.refusal;
    }
    sendPage(res, SignInPage({ context: pageContext(req, res, siteName, { forms: true }), returnTo, email, errors: refusal.errors, message: refusal.message, passkeys: deps.passkeyScripts }), refusal.status);
  });

  router.get('/reauthenticate', requireAccess('verified', 'page'), validate(returnQuerySchema), (req, res) => {
    const { query } = validated(res, returnQuerySchema);
    sendPage(res, ReauthenticatePage({ context: pageContext(req, res, siteName, { forms: true }), returnTo: safeReturnPath(query.return) }));
  });

  router.post('/reauthenticate', requireAccess('verified', 'page'), async (req, res) => {
    const user = currentUser(res);
    const returnTo = safeReturnPath(formString(req.body, 'return', 1024));
    const form = parseForm(reauthenticateForm, req.body);
    let refusal: FormRefusal;
    if (form.ok) {
      try {
        await accounts.reauthenticate(user.id, form.data.password, requestMeta(req));
        await startUserSession(req, user);
        res.redirect(303, returnTo);
        return;
      } catch (error) {
        refusal = refusalFrom(error);
      }
    } else {
      refusal = form.refusal;
    }
    sendPage(res, ReauthenticatePage({ context: pageContext(req, res, siteName, { forms: true }), returnTo, errors: refusal.errors, message: refusal.message }), refusal.status);
  });

  router.post('/sign-out', validate({}), async (req, res) => {
    const user = res.locals.user;
    if (user !== undefined) {
      const meta = requestMeta(req);
      await accounts.recordEvent({ type: 'sign_out', outcome: 'success', actorId: user.id, subjectId: user.id, ip: meta.ip, userAgent: meta.userAgent, detail: null });
    }
    // The old session row is deleted; the new one holds only the goodbye message.
    await startAnonymousSession(req, { kind: 'notice', message: 'You are signed out.' });
    res.redirect(303, '/');
  });

  // Forgotten password ---------------------------------------------------------------------------
  router.get('/forgot-password', validate({}), (req, res) => {
    sendPage(res, ForgotPasswordPage({ context: pageContext(req, res, siteName, { forms: true }) }));
  });

  router.post('/forgot-password', async (req, res) => {
    const form = parseForm(forgotPasswordBody, req.body);
    if (!form.ok) {
      const email = formString(req.body, 'email', 254);
      sendPage(res, ForgotPasswordPage({ context: pageContext(req, res, siteName, { forms: true }), email, errors: form.refusal.errors, message: form.refusal.message }), form.refusal.status);
      return;
    }
    await accounts.requestPasswordReset(form.data.email, requestMeta(req));
    setFlash(req, { kind: 'notice', message: 'If an account uses that address, we have emailed it a link to choose a new password. The link works once, for 30 minutes.' });
    res.redirect(303, '/forgot-password');
  });

  router.get('/reset-password', validate(tokenQuerySchema), (req, res) => {
    const { query } = validated(res, tokenQuerySchema);
    if (query.token === undefined) {
      res.redirect(303, '/forgot-password');
      return;
    }
    // Shows the form only: the token is checked, and used, when the new password is posted.
    sendPage(res, ResetPasswordPage({ context: pageContext(req, res, siteName, { forms: true }), token: query.token, passwordHint }));
  });

  router.post('/reset-password', async (req, res) => {
    const form = parseForm(resetPasswordBody, req.body);
    const token = formString(req.body, 'token', 512) ?? '';
    let refusal: FormRefusal;
    if (form.ok) {
      try {
        const user = await accounts.resetPassword(form.data, requestMeta(req));
        // Whoever knew the old password is out: every session of the account ends, this one too.
        await sessions.revokeAllForUser(user.id);
        // The emailed link proved the inbox, as an unlock link would: sign-in delays end too.
        await signInProtection.clear(user.id);
        await startAnonymousSession(req, { kind: 'notice', message: 'Your password is changed and every device was signed out. Sign in with the new password.' });
        res.redirect(303, '/sign-in');
        return;
      } catch (error) {
        refusal = refusalFrom(error);
      }
    } else {
      refusal = form.refusal.errors.token === undefined ? form.refusal : { ...form.refusal, message: 'This link is not valid. Ask for a new one.' };
    }
    sendPage(res, ResetPasswordPage({ context: pageContext(req, res, siteName, { forms: true }), token, passwordHint, errors: refusal.errors, message: refusal.message }), refusal.status);
  });

  return router;
}

/** A refused token in the verification form; answered like the domain's TOKEN_INVALID. */
class InvalidLink extends Error {}
