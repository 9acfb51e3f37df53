// src/web/scripts.ts
// The only scripts the site serves: @simplewebauthn/browser's own bundle (from the installed
// package, so it is always the version the server was tested with) and public/assets/passkeys.js,
// which uses it. Both are read once at start and served from memory, and pages reference them with
// the SHA-384 of exactly those bytes (Subresource Integrity), so the CSP stays script-src 'self'
// and a script altered on disk or on the way is refused by the browser rather than run.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { publicDirectory } from './static.js';

export interface ScriptAsset {
  /** Path on this site, under /assets. */
  readonly src: string;
  /** `sha384-<base64>` of the served bytes. */
  readonly integrity: string;
}

/** The scripts a page with passkey buttons loads, in order. */
export interface PasskeyScripts {
  readonly library: ScriptAsset;
  readonly client: ScriptAsset;
}

export interface ScriptAssets {
  readonly passkeys: PasskeyScripts;
  /** Serves the scripts; mount it at /assets before the static files. */
  readonly handler: RequestHandler;
}

export function subresourceIntegrity(content: Buffer): string {
  return `sha384-${createHash('sha384').update(content).digest('base64')}`;
}

/** The browser package's minified UMD bundle (it defines the global SimpleWebAuthnBrowser). */
function simpleWebAuthnBundle(): string {
  // The package exports only its entry points; its bundle sits beside them in the package folder.
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  let folder = path.dirname(entry);
  while (path.basename(folder) !== 'browser' && path.dirname(folder) !== folder) folder = path.dirname(folder);
  return path.join(folder, 'dist', 'bundle', 'index.umd.min.js');
}

function load(file: string, what: string): Buffer {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- our package's own files, resolved at start, never from a request
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${what} is missing (${file}): reinstall the package or rebuild`, { cause: error });
  }
}

export function createScriptAssets(): ScriptAssets {
  const served = new Map<string, Buffer>([
    ['/vendor/simplewebauthn-browser.js', load(simpleWebAuthnBundle(), '@simplewebauthn/browser\'s bundle')],
    ['/passkeys.js', load(path.join(publicDirectory, 'passkeys.js'), 'public/assets/passkeys.js')],
  ]);
  const asset = (name: string): ScriptAsset => {
    const content = served.get(name);
    if (content === undefined) throw new Error(`no script ${name}`);
    return { src: `/assets${name}`, integrity: subresourceIntegrity(content) };
  };
  const handler: RequestHandler = (req, res, next) => {
    const content = req.method === 'GET' || req.method === 'HEAD' ? served.get(req.path) : undefined;
    if (content === undefined) {
      next();
      return;
    }
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.status(200).end(req.method === 'HEAD' ? undefined : content);
  };
  return { passkeys: { library: asset('/vendor/simplewebauthn-browser.js'), client: asset('/passkeys.js') }, handler };
}
