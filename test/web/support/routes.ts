// test/web/support/routes.ts
// Every route the running Express app serves, read from its router stack (not from a list kept
// by hand), so a route added tomorrow is in every test that loops over routes.

import type { Express } from 'express';

export interface ServedRoute {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Express path syntax, mount prefix included (`/api/v1/me/sessions/:id`). */
  readonly path: string;
}

interface LayerLike {
  readonly rawPath?: unknown;
  readonly route?: { readonly path: unknown; readonly methods: Record<string, boolean | undefined> };
  readonly handle?: { readonly stack?: readonly LayerLike[] };
}

function walk(stack: readonly LayerLike[], prefix: string, found: ServedRoute[]): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        if (typeof path !== 'string') throw new Error('a route with a non-string path cannot be enumerated; give it a string path');
        for (const [method, enabled] of Object.entries(layer.route.methods)) {
          if (enabled === true && method !== '_all') found.push({ method: method.toUpperCase(), path: `${prefix}${path}` });
        }
      }
      continue;
    }
    const nested = layer.handle?.stack;
    if (nested !== undefined) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      walk(nested, `${prefix}${mount}`, found);
    }
  }
}

export function servedRoutes(app: Express): ServedRoute[] {
  const router = (app as unknown as { router?: { stack?: readonly LayerLike[] } }).router;
  if (router?.stack === undefined) throw new Error('the Express app exposes no router stack to enumerate');
  const found: ServedRoute[] = [];
  walk(router.stack, '', found);
  return found;
}

/** The routes that change state: every method but GET, HEAD and OPTIONS. */
export function stateChangingRoutes(app: Express): ServedRoute[] {
  return servedRoutes(app).filter((route) => !['GET', 'HEAD', 'OPTIONS'].includes(route.method));
}

/** A concrete path for a route: each `:param` becomes a well-formed sample value. */
export function samplePath(route: ServedRoute, sample = 'a'.repeat(64)): string {
  return route.path.replace(/:(\w+)/g, sample);
}
