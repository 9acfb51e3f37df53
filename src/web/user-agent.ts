// src/web/user-agent.ts
// A readable "Firefox 128 on Windows 10" from a User-Agent header, for the sessions list. The header
// is whatever the client sent: the result is only ever shown as escaped text.

import Bowser from 'bowser';

export interface DescribedClient {
  readonly browser: string;
  readonly os: string;
  /** "Firefox 128 on Windows 10", or "Unknown browser" when nothing is recognised. */
  readonly summary: string;
}

/** Bowser answers "" or undefined for what it does not know. */
function known(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function majorVersion(version: string | undefined): string {
  const value = known(version);
  return value === undefined ? '' : ` ${value.split('.', 1)[0] ?? ''}`;
}

export function describeUserAgent(userAgent: string | null): DescribedClient {
  if (userAgent === null || userAgent.trim() === '') return { browser: 'Unknown browser', os: 'unknown system', summary: 'Unknown browser' };
  const parsed = Bowser.parse(userAgent);
  const browserName = known(parsed.browser.name);
  const osName = known(parsed.os.name);
  const osVersion = known(parsed.os.versionName) ?? known(parsed.os.version);
  const browser = browserName === undefined ? 'Unknown browser' : `${browserName}${majorVersion(parsed.browser.version)}`;
  const os = osName === undefined ? 'unknown system' : `${osName}${osVersion === undefined ? '' : ` ${osVersion}`}`;
  return { browser, os, summary: osName === undefined ? browser : `${browser} on ${os}` };
}
