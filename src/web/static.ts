// src/web/static.ts
// The stylesheet, icons and scripts under /assets, from the package's public/assets/ folder. They may be
// cached (they hold nothing personal) and they skip sessions and body parsing entirely.

import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** public/assets/ at the package root; this file sits at dist/src/web/static.js once compiled. */
export const publicDirectory = fileURLToPath(new URL('../../../public/assets/', import.meta.url));

export function createStaticAssets(): RequestHandler {
  return express.static(publicDirectory, {
    dotfiles: 'deny',
    index: false,
    redirect: false,
    fallthrough: true,
    setHeaders(res) {
      res.setHeader('Cache-Control', 'public, max-age=3600');
    },
  });
}
