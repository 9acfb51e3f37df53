// src/web/routes/pages.ts
// Pages that belong to no area: the home page.

import { Router } from 'express';
import { validate } from '../../security/validation.js';
import { pageContext } from '../page-context.js';
import { HomePage } from '../pages/home.js';
import { sendPage } from '../render.js';

export function pageRoutes(siteName: string): Router {
  const router = Router();
  router.get('/', validate({}), (req, res) => {
    sendPage(res, HomePage({ context: pageContext(req, res, siteName) }));
  });
  return router;
}
