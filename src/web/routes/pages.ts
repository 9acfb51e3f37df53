// src/web/routes/pages.ts
// Server-rendered pages.

import { Router } from 'express';
import { renderDocument } from '../render.js';
import { HomePage } from '../pages/home.js';
import { validate } from '../../security/validation.js';

export function pageRoutes(siteName: string): Router {
  const router = Router();
  router.get('/', validate({}), (_req, res) => {
    res.type('html').send(renderDocument(HomePage({ siteName })));
  });
  return router;
}
