// src/check/target.ts
// What a URL check aims at: the URL as given, its plain-HTTP and HTTPS counterparts (the MDN
// Observatory's convention, src/retriever/url.js: the same host and the same explicit port for
// both schemes, or 80 and 443), and whether the host is this machine.

import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { isLoopbackAddress } from './net.js';

export class CheckCannotRun extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckCannotRun';
  }
}

export interface CheckTarget {
  /** The URL as given, normalised. */
  readonly url: URL;
  readonly httpUrl: URL;
  readonly httpsUrl: URL;
  /** host[:port] the way the Observatory's scanner is given a site. */
  readonly scanName: string;
  /** Every address the host resolves to is a loopback address. */
  readonly loopback: boolean;
  readonly addresses: readonly string[];
}

export interface TargetOptions {
  readonly httpPort?: number;
  readonly httpsPort?: number;
}

export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    // A bare host ("example.com") is read as https://example.com/.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw new CheckCannotRun(`"${raw.slice(0, 200)}" is not a URL. Give one like https://example.com/ or http://127.0.0.1:8080/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CheckCannotRun(`only http:// and https:// URLs can be checked, not ${url.protocol}//`);
  if (url.username !== '' || url.password !== '') throw new CheckCannotRun('leave credentials out of the URL: the check only makes anonymous requests');
  if (url.hostname === '') throw new CheckCannotRun(`"${raw.slice(0, 200)}" has no host`);
  url.hash = '';
  return url;
}

function withScheme(url: URL, protocol: 'http:' | 'https:', port: number | undefined): URL {
  const copy = new URL(url.href);
  copy.protocol = protocol;
  // An explicit port on the given URL is used for both schemes, as the Observatory does.
  copy.port = port !== undefined ? String(port) : url.port;
  return copy;
}

export async function resolveTarget(raw: string, options: TargetOptions = {}): Promise<CheckTarget> {
  const url = parseTargetUrl(raw);
  const httpUrl = withScheme(url, 'http:', options.httpPort);
  const httpsUrl = withScheme(url, 'https:', options.httpsPort);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (net.isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
      throw new CheckCannotRun(`cannot resolve ${host} (${code}): check the spelling and the network`);
    }
  }
  return {
    url,
    httpUrl,
    httpsUrl,
    scanName: url.host,
    loopback: addresses.length > 0 && addresses.every(isLoopbackAddress),
    addresses,
  };
}
