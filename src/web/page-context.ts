// src/web/page-context.ts
// What every page's frame needs: the site name, the signed-in user, the pending message and the
// session's form token. The token (and so a session) is created only for pages with a form.

import type { Request, Response } from 'express';
import { csrfToken } from '../security/csrf.js';
import type { PublicUser } from './accounts-port.js';
import { takeFlash, type Flash } from './session-state.js';

export interface PageContext {
  readonly siteName: string;
  readonly user: PublicUser | undefined;
  readonly flash: Flash | undefined;
  /** Present whenever a form may be on the page (always when signed in: the header's sign-out). */
  readonly csrfToken: string | undefined;
}

export function pageContext(req: Request, res: Response, siteName: string, { forms = false }: { forms?: boolean } = {}): PageContext {
  const user = res.locals.user;
  return {
    siteName,
    user,
    flash: takeFlash(req),
    csrfToken: forms || user !== undefined ? csrfToken(req) : undefined,
  };
}
