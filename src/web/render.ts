// src/web/render.ts
// Server-side rendering with Preact: JSX escapes every value by default, and there is no inline
// script or style anywhere, so the strict CSP holds.

import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

export function renderDocument(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}
