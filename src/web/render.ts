// src/web/render.ts
// Server-side rendering with Preact: JSX escapes every value by default, and there is no inline
// script or style anywhere, so the strict CSP holds.

import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

export function renderDocument(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}

/** Sends a rendered page. Pages are personal and never cached (the headers middleware says no-store). */
export function sendPage(res: Response, page: VNode, status = 200): void {
  sendDocument(res, renderDocument(page), status);
}

/** Sends a document already rendered (see pageRoutes: the guest's home page is the same for all). */
export function sendDocument(res: Response, document: string, status = 200): void {
  res.status(status).type('html').send(document);
}

/** The characters HTML gives meaning to, escaped as Preact escapes text. */
function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * Memoises a document that differs between requests only in one text value (an error page and its
 * request id): rendered once per `key` with a marker in that value's place, then the value, escaped,
 * is put where the marker was. Floods of 404s and 429s then cost no rendering (issue 8). A marker
 * the page does not show exactly once (a page that changed shape) means rendering every time.
 */
export function memoiseDocumentWithValue<Args extends unknown[]>(render: (value: string, ...args: Args) => string, keyOf: (...args: Args) => string, capacity = 64): (value: string, ...args: Args) => string {
  const marker = `portcullis-value-${randomUUID()}`;
  const parts = new Map<string, readonly [string, string] | null>();
  return (value, ...args) => {
    const key = keyOf(...args);
    let split = parts.get(key);
    if (split === undefined) {
      const pieces = render(marker, ...args).split(marker);
      split = pieces.length === 2 ? [pieces[0] ?? '', pieces[1] ?? ''] : null;
      // Keys are error codes' messages, a handful; the bound only guards against a mistake.
      if (parts.size < capacity) parts.set(key, split);
    }
    return split === null ? render(value, ...args) : `${split[0]}${escapeText(value)}${split[1]}`;
  };
}
