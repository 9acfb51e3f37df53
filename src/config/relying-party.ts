// src/config/relying-party.ts
// The WebAuthn relying party, derived from PUBLIC_URL once at start. Browsers only release a
// passkey to the origin it was made on, for an RP id that is that origin's host or a parent domain
// of it, and never for an IP address: a setting that breaks those rules would make every passkey
// fail at the first use, so it stops the start with the setting named and the fix.

import { isIP } from 'node:net';
import type { ConfigProblem } from './config-error.js';

export interface RelyingParty {
  /** The RP id: PUBLIC_URL's host, or the parent domain PORTCULLIS_WEBAUTHN_RP_ID names. */
  readonly rpId: string;
  /** The one origin assertions and registrations must come from: PUBLIC_URL's. */
  readonly origin: string;
}

export type RelyingPartyDecision =
  | { readonly kind: 'ok'; readonly relyingParty: RelyingParty }
  /** Passkeys cannot work at this address; the rest of the service can (refused in production). */
  | { readonly kind: 'unavailable'; readonly problem: ConfigProblem }
  | { readonly kind: 'error'; readonly problem: ConfigProblem };

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isDomainName(value: string): boolean {
  return value.length <= 253 && value.split('.').every((part) => label.test(part));
}

/** The host as WebAuthn sees it: URL keeps IPv6 hosts in brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function decideRelyingParty(publicUrl: URL, rpIdSetting: string | undefined): RelyingPartyDecision {
  const host = bareHost(publicUrl);
  const origin = publicUrl.origin;
  if (rpIdSetting !== undefined) {
    const rpId = rpIdSetting.trim().toLowerCase();
    if (isIP(rpId) !== 0 || !isDomainName(rpId)) {
      return {
        kind: 'error',
        problem: { setting: 'PORTCULLIS_WEBAUTHN_RP_ID', problem: 'a relying party id must be a domain name (browsers refuse IP addresses and other forms)', fix: 'leave it unset to use the host of PORTCULLIS_PUBLIC_URL, or name a parent domain of it such as example.com' },
      };
    }
    if (rpId !== host && !host.endsWith(`.${rpId}`)) {
      return {
        kind: 'error',
        problem: {
          setting: 'PORTCULLIS_WEBAUTHN_RP_ID',
          problem: `${rpId} is neither the host of PORTCULLIS_PUBLIC_URL (${host}) nor a parent domain of it, so browsers would refuse every passkey`,
          fix: `leave it unset to use ${host}, or set a parent domain of ${host}`,
        },
      };
    }
    if (!rpId.includes('.') && rpId !== 'localhost') {
      return {
        kind: 'error',
        problem: { setting: 'PORTCULLIS_WEBAUTHN_RP_ID', problem: `${rpId} is a top-level name, which browsers refuse as a relying party id`, fix: `use ${host} or a registrable parent domain of it` },
      };
    }
    return { kind: 'ok', relyingParty: { rpId, origin } };
  }
  if (isIP(host) !== 0) {
    return {
      kind: 'unavailable',
      problem: {
        setting: 'PORTCULLIS_PUBLIC_URL',
        problem: `its host ${host} is an IP address, which cannot be a WebAuthn relying party id, so passkeys are switched off`,
        fix: 'serve the site at a domain name (https://localhost:PORT for development) to offer passkeys',
      },
    };
  }
  if (publicUrl.protocol !== 'https:' && host !== 'localhost') {
    return {
      kind: 'unavailable',
      problem: { setting: 'PORTCULLIS_PUBLIC_URL', problem: 'passkeys need a secure context, and the public URL is not https, so they are switched off', fix: 'use the https:// address users reach the service at' },
    };
  }
  return { kind: 'ok', relyingParty: { rpId: host, origin } };
}
