// src/web/routes/mfa.ts
// Two-step verification pages (issue 4): the second-factor step after a password (and to confirm
// a change while signed in), the settings page, authenticator-app enrolment with a server-made QR
// code, and new recovery codes shown once and downloadable once. Thin: validate, call the domain,
// move the session along, redirect. Changes need a recent password and a recent second factor.

import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { MfaStatus, SecondFactorMethod } from '../../accounts/mfa/service.js';
import { validate, validated } from '../../security/validation.js';
import { currentUser } from '../access.js';
import type { PublicUser } from '../accounts-port.js';
import type { WebDependencies } from '../dependencies.js';
import { formString, parseForm, refusalFrom, type FormRefusal } from '../forms.js';
import { checkSecondFactorCode, completeSignIn, completeStepUp, dropRecoveryCodes, holdRecoveryCodes, pendingAccount, recoveryCodeBox, requireMfaChangeAllowed, showRecoveryCodes, takeRecoveryCodes } from '../mfa-session.js';
import { passkeyParams, passkeyRenameBody, recoveryCodeForm, totpCodeBody, totpCodeForm } from '../mfa-schemas.js';
import { pageContext } from '../page-context.js';
import { MfaSettingsPage, RecoveryCodesPage, SecondFactorPage, TotpSetupPage } from '../pages/mfa.js';
import { qrCodeSvg } from '../qr-code.js';
import { sendPage } from '../render.js';
import { returnPathField, safeReturnPath } from '../return-path.js';
import { requestMeta, setFlash } from '../session-state.js';

const returnQuerySchema = { query: z.strictObject({ return: returnPathField }) };
const passkeySchemas = { params: passkeyParams };

interface Step {
  readonly mode: 'sign-in' | 'step-up';
  readonly user: PublicUser;
  readonly methods: SecondFactorMethod[];
  readonly returnTo: string;
}

export function mfaPageRoutes(deps: WebDependencies): Router {
  const { accounts, mfa, requireAccess, requireVerifiedEmail } = deps;
  const siteName = deps.config.siteName;
  const box = recoveryCodeBox(deps.config.masterKey);
  const changeAllowed = requireMfaChangeAllowed(mfa);
  const router = Router();
  const meta = requestMeta;

  /** Where a person lands after signing in: the verification page first when it is required. */
  const landingFor = (user: PublicUser, wanted: string) => (requireVerifiedEmail && !user.emailVerified ? '/verify-email' : wanted);

  /** A pending sign-in, or a signed-in account confirming a change; undefined for anyone else. */
  const currentStep = async (req: Request, res: Response, wanted: string | undefined): Promise<Step | undefined> => {
    const pending = await pendingAccount(req, accounts);
    if (pending !== undefined) return { mode: 'sign-in', user: pending.user, methods: await mfa.methodsFor(pending.user.id), returnTo: pending.pending.returnTo };
    const user = res.locals.user;
    if (user === undefined) return undefined;
    return { mode: 'step-up', user, methods: await mfa.methodsFor(user.id), returnTo: safeReturnPath(wanted, '/account/mfa') };
  };

  const renderStep = (req: Request, res: Response, step: Step, refused?: { form: 'totp' | 'recovery' } & FormRefusal) => {
    const scripts = step.methods.includes('passkey') ? deps.passkeyScripts : undefined;
    sendPage(
      res,
      SecondFactorPage({ context: pageContext(req, res, siteName, { forms: true }), methods: step.methods, mode: step.mode, returnTo: step.returnTo, scripts, ...(refused === undefined ? {} : { refused: { form: refused.form, message: refused.message, errors: refused.errors } }) }),
      refused?.status ?? 200,
    );
  };

  const noStep = (req: Request, res: Response) => {
    setFlash(req, { kind: 'notice', message: 'Sign in again: the second step waits five minutes at most.' });
    res.redirect(303, '/sign-in');
  };

  // The second step --------------------------------------------------------------------------------
  router.get('/second-factor', validate(returnQuerySchema), async (req, res) => {
    const { query } = validated(res, returnQuerySchema);
    const step = await currentStep(req, res, query.return);
    if (step === undefined) {
      noStep(req, res);
      return;
    }
    // Nothing to confirm with: an account without a second factor needs no step-up.
    if (step.methods.length === 0) {
      res.redirect(303, step.returnTo);
      return;
    }
    renderStep(req, res, step);
  });

  const finishStep = async (req: Request, res: Response, step: Step) => {
    if (step.mode === 'sign-in') {
      await completeSignIn(req, step.user);
      res.redirect(303, landingFor(step.user, step.returnTo));
      return;
    }
    await completeStepUp(req, step.user);
    res.redirect(303, step.returnTo);
  };

  for (const kind of ['totp', 'recovery'] as const) {
    router.post(`/second-factor/${kind}`, async (req, res) => {
      const step = await currentStep(req, res, formString(req.body, 'return', 1024));
      if (step === undefined) {
        noStep(req, res);
        return;
      }
      const form = parseForm(kind === 'totp' ? totpCodeForm : recoveryCodeForm, req.body);
      if (!form.ok) {
        renderStep(req, res, step, { form: kind, ...form.refusal });
        return;
      }
      const purpose = step.mode === 'sign-in' ? 'sign_in' : 'step_up';
      try {
        await checkSecondFactorCode(deps, req, step.user.id, () =>
          kind === 'totp' ? mfa.verifyTotp(step.user.id, form.data.code, purpose, meta(req)) : mfa.useRecoveryCode(step.user.id, form.data.code, purpose, meta(req)),
        );
      } catch (error) {
        renderStep(req, res, step, { form: kind, ...refusalFrom(error) });
        return;
      }
      if (kind === 'recovery') setFlash(req, { kind: 'notice', message: 'Recovery code accepted. Each code works once: check how many you have left.' });
      await finishStep(req, res, step);
    });
  }

  // Settings -----------------------------------------------------------------------------------
  const renderSettings = async (req: Request, res: Response, refused?: { form: string } & FormRefusal) => {
    const status: MfaStatus = await mfa.status(currentUser(res));
    sendPage(
      res,
      MfaSettingsPage({ context: pageContext(req, res, siteName, { forms: true }), status, scripts: deps.passkeyScripts, ...(refused === undefined ? {} : { refused: { form: refused.form, message: refused.message, errors: refused.errors } }) }),
      refused?.status ?? 200,
    );
  };

  router.get('/account/mfa', requireAccess('verified', 'page'), validate({}), async (req, res) => {
    await renderSettings(req, res);
  });

  router.post('/account/mfa/totp', requireAccess('verified', 'page'), changeAllowed, validate({}), async (req, res) => {
    try {
      await mfa.startTotpEnrolment(currentUser(res), meta(req));
    } catch (error) {
      return renderSettings(req, res, { form: 'totp', ...refusalFrom(error) });
    }
    res.redirect(303, '/account/mfa/totp');
  });

  const renderSetup = async (req: Request, res: Response, refusal?: FormRefusal) => {
    const enrolment = await mfa.pendingTotpEnrolment(currentUser(res));
    if (enrolment === undefined) {
      setFlash(req, { kind: 'notice', message: 'Start setting up your authenticator app again: the last attempt expired.' });
      res.redirect(303, '/account/mfa');
      return;
    }
    const qrSvg = await qrCodeSvg(enrolment.otpauthUrl);
    sendPage(
      res,
      TotpSetupPage({ context: pageContext(req, res, siteName, { forms: true }), secret: enrolment.secret, qrSvg, ...(refusal === undefined ? {} : { errors: refusal.errors, message: refusal.message }) }),
      refusal?.status ?? 200,
    );
  };

  router.get('/account/mfa/totp', requireAccess('verified', 'page'), changeAllowed, validate({}), async (req, res) => {
    await renderSetup(req, res);
  });

  router.post('/account/mfa/totp/confirm', requireAccess('verified', 'page'), changeAllowed, async (req, res) => {
    const user = currentUser(res);
    const form = parseForm(totpCodeBody, req.body);
    if (!form.ok) return renderSetup(req, res, form.refusal);
    let recoveryCodes: string[] = [];
    try {
      await checkSecondFactorCode(deps, req, user.id, async () => {
        ({ recoveryCodes } = await mfa.confirmTotp(user, form.data.code, meta(req)));
      });
    } catch (error) {
      return renderSetup(req, res, refusalFrom(error));
    }
    // Proving the new factor is a second-factor proof: a new session id that records it.
    await completeStepUp(req, user);
    setFlash(req, { kind: 'notice', message: 'Your authenticator app is on. Signing in now asks for its code.' });
    if (recoveryCodes.length === 0) {
      res.redirect(303, '/account/mfa');
      return;
    }
    holdRecoveryCodes(req, box, user.id, recoveryCodes);
    res.redirect(303, '/account/mfa/recovery-codes');
  });

  router.post('/account/mfa/totp/remove', requireAccess('verified', 'page'), changeAllowed, validate({}), async (req, res) => {
    try {
      await mfa.removeTotp(currentUser(res), meta(req));
    } catch (error) {
      return renderSettings(req, res, { form: 'totp', ...refusalFrom(error) });
    }
    setFlash(req, { kind: 'notice', message: 'The authenticator app is removed.' });
    res.redirect(303, '/account/mfa');
  });

  router.post('/account/mfa/recovery-codes', requireAccess('verified', 'page'), changeAllowed, validate({}), async (req, res) => {
    const user = currentUser(res);
    let codes: string[];
    try {
      codes = await mfa.regenerateRecoveryCodes(user, meta(req));
    } catch (error) {
      return renderSettings(req, res, { form: 'recovery', ...refusalFrom(error) });
    }
    holdRecoveryCodes(req, box, user.id, codes);
    res.redirect(303, '/account/mfa/recovery-codes');
  });

  router.get('/account/mfa/recovery-codes', requireAccess('verified', 'page'), validate({}), (req, res) => {
    const codes = showRecoveryCodes(req, box, currentUser(res).id);
    sendPage(res, RecoveryCodesPage({ context: pageContext(req, res, siteName, { forms: true }), codes }));
  });

  router.post('/account/mfa/recovery-codes/download', requireAccess('verified', 'page'), validate({}), (req, res) => {
    const codes = takeRecoveryCodes(req, box, currentUser(res).id);
    if (codes === undefined) {
      setFlash(req, { kind: 'alert', message: 'These recovery codes can no longer be downloaded. Make a new set if you did not save them.' });
      res.redirect(303, '/account/mfa/recovery-codes');
      return;
    }
    const lines = [`${siteName} recovery codes for ${currentUser(res).email}`, `Made ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Each code works once.`, '', ...codes, ''];
    res.setHeader('Content-Disposition', 'attachment; filename="recovery-codes.txt"');
    res.status(200).type('text/plain; charset=utf-8').send(lines.join('\r\n'));
  });

  router.post('/account/mfa/recovery-codes/saved', requireAccess('verified', 'page'), validate({}), (req, res) => {
    dropRecoveryCodes(req);
    res.redirect(303, '/account/mfa');
  });

  router.post('/account/mfa/passkeys/:id/rename', requireAccess('verified', 'page'), async (req, res) => {
    const params = passkeyParams.safeParse(req.params);
    if (!params.success) throw new AppError('NOT_FOUND');
    const form = parseForm(passkeyRenameBody, req.body);
    if (!form.ok) return renderSettings(req, res, { form: 'passkey', ...form.refusal });
    try {
      await mfa.renamePasskey(currentUser(res), params.data.id, form.data.name, meta(req));
    } catch (error) {
      return renderSettings(req, res, { form: 'passkey', ...refusalFrom(error) });
    }
    setFlash(req, { kind: 'notice', message: 'The passkey is renamed.' });
    res.redirect(303, '/account/mfa');
  });

  router.post('/account/mfa/passkeys/:id/remove', requireAccess('verified', 'page'), changeAllowed, validate(passkeySchemas), async (req, res) => {
    const { params } = validated(res, passkeySchemas);
    try {
      await mfa.removePasskey(currentUser(res), params.id, meta(req));
    } catch (error) {
      return renderSettings(req, res, { form: 'passkey', ...refusalFrom(error) });
    }
    setFlash(req, { kind: 'notice', message: 'The passkey is removed.' });
    res.redirect(303, '/account/mfa');
  });

  return router;
}
