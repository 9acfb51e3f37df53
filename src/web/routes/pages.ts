// src/web/routes/pages.ts
// Pages that belong to no area: the home page.

import { Router } from 'express';
import { validate } from '../../security/validation.js';
import type { WebDependencies } from '../dependencies.js';
import { pageContext } from '../page-context.js';
import { HomePage } from '../pages/home.js';
import { sendPage } from '../render.js';

export function pageRoutes(deps: Pick<WebDependencies, 'config' | 'requireVerifiedEmail'>): Router {
  const router = Router();
  router.get('/', validate({}), (req, res) => {
    const user = res.locals.user;
    // An account that must confirm its address first sees only the page that asks for it.
    if (user !== undefined && deps.requireVerifiedEmail && !user.emailVerified) {
      res.redirect(303, '/verify-email');
      return;
    }
    sendPage(res, HomePage({ context: pageContext(req, res, deps.config.siteName) }));
  });
  return router;
}
