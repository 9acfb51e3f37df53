// src/web/render.ts
// Server-side rendering with Preact: JSX escapes every value by default, and there is no inline
// script or style anywhere, so the strict CSP holds.

import type { Response } from 'express';
import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

export function renderDocument(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}

/** Sends a rendered page. Pages are personal and never cached (the headers middleware says no-store). */
export function sendPage(res: Response, page: VNode, status = 200): void {
  res.status(status).type('html').send(renderDocument(page));
}
