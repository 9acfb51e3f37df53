// src/web/routes/unlock.ts
// The emailed unlock link (security/brute-force.ts): GET shows a button, POST spends the single-use
// token and lifts the account's sign-in delays. A bad link gets one answer whatever was wrong.

import { Router } from 'express';
import { z } from 'zod';
import { validate, validated } from '../../security/validation.js';
import type { WebDependencies } from '../dependencies.js';
import { formString, parseForm } from '../forms.js';
import { pageContext } from '../page-context.js';
import { UnlockAccountPage } from '../pages/unlock-account.js';
import { sendPage } from '../render.js';
import { tokenField } from '../schemas.js';
import { setFlash } from '../session-state.js';

const tokenQuerySchema = { query: z.strictObject({ token: z.string().max(512).optional() }) };
const unlockBody = z.strictObject({ token: tokenField });

export function unlockPageRoutes(deps: WebDependencies): Router {
  const { signInProtection } = deps;
  const siteName = deps.config.siteName;
  const router = Router();

  router.get('/unlock-account', validate(tokenQuerySchema), (req, res) => {
    const { query } = validated(res, tokenQuerySchema);
    if (query.token === undefined) {
      res.redirect(303, '/sign-in');
      return;
    }
    sendPage(res, UnlockAccountPage({ context: pageContext(req, res, siteName, { forms: true }), token: query.token }));
  });

  router.post('/unlock-account', async (req, res) => {
    const form = parseForm(unlockBody, req.body);
    // Called for a malformed link too, so that every failed attempt is in the audit trail.
    const unlocked = await signInProtection.unlock(req, form.ok ? form.data.token : undefined);
    if (!unlocked) {
      const given = formString(req.body, 'token', 512) ?? '';
      sendPage(res, UnlockAccountPage({ context: pageContext(req, res, siteName, { forms: true }), token: given, message: 'This link is not valid, has expired or was already used.' }), 400);
      return;
    }
    setFlash(req, { kind: 'notice', message: 'Sign-in delays are lifted. You can sign in now.' });
    res.redirect(303, '/sign-in');
  });

  return router;
}
