// src/web/routes/pages.ts
// Pages that belong to no area: the home page.

import { Router } from 'express';
import { validate } from '../../security/validation.js';
import type { WebDependencies } from '../dependencies.js';
import { pageContext, type PageContext } from '../page-context.js';
import { HomePage } from '../pages/home.js';
import { renderDocument, sendDocument } from '../render.js';

/**
 * The home page as every visitor who is not signed in and has no pending message sees it. Also
 * served before Express to such visitors (web/guest-lane.ts).
 */
export function guestHomeDocument(siteName: string): string {
  return homeDocument({ siteName, user: undefined, flash: undefined, csrfToken: undefined });
}

/**
 * The home page for any visitor. A signed-in visitor with no pending message, whose session
 * already has its form token, is also answered before Express (web/signed-in-lane.ts), with this.
 */
export function homeDocument(context: PageContext): string {
  return renderDocument(HomePage({ context }));
}

export function pageRoutes(deps: Pick<WebDependencies, 'config' | 'requireVerifiedEmail'>): Router {
  const router = Router();
  // A visitor who is not signed in and has no pending message sees the same page as every other
  // such visitor (it has no form, so no token): it is rendered once, not on every request (issue 8).
  // Most such visitors never reach this route: the server's listener answers them with the same
  // document before Express (web/guest-lane.ts). A change to what guests get here must be made
  // there too; test/web/guest-lane.test.ts compares the two answers and fails until it is. Most
  // signed-in visitors are answered before Express too, with homeDocument (web/signed-in-lane.ts,
  // test/web/signed-in-lane.test.ts); the rules below that make this route redirect, show a message
  // or make the form token are the ones that lane leaves to this route.
  let guestHome: string | undefined;
  router.get('/', validate({}), (req, res) => {
    const user = res.locals.user;
    // An account that must confirm its address first sees only the page that asks for it.
    if (user !== undefined && deps.requireVerifiedEmail && !user.emailVerified) {
      res.redirect(303, '/verify-email');
      return;
    }
    const context = pageContext(req, res, deps.config.siteName);
    if (context.user === undefined && context.flash === undefined && context.csrfToken === undefined) {
      sendDocument(res, (guestHome ??= guestHomeDocument(context.siteName)));
      return;
    }
    sendDocument(res, homeDocument(context));
  });
  return router;
}
