// test/config/relying-party.test.ts
// Passkeys' relying party comes from PUBLIC_URL. Browsers release a passkey only to its origin and
// only for an RP id that is that origin's host or a parent domain of it, never an IP address: a
// setting that breaks those rules stops the start with the setting named and the fix, an address
// that cannot have passkeys at all (an IP host) turns them off (refused in production), and
// PORTCULLIS_MFA_REQUIRED=none is refused in production (ASVS 6.3.3: administrators need MFA).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load.js';
import { decideRelyingParty } from '../../src/config/relying-party.js';

describe('the WebAuthn relying party', () => {
  it('is PUBLIC_URL\'s host and origin by default', () => {
    assert.deepEqual(decideRelyingParty(new URL('https://accounts.example.com'), undefined), { kind: 'ok', relyingParty: { rpId: 'accounts.example.com', origin: 'https://accounts.example.com' } });
    assert.deepEqual(decideRelyingParty(new URL('https://localhost:8443'), undefined), { kind: 'ok', relyingParty: { rpId: 'localhost', origin: 'https://localhost:8443' } });
  });

  it('may be a parent domain of the host when set, and nothing else', () => {
    assert.deepEqual(decideRelyingParty(new URL('https://accounts.example.com'), 'Example.COM'), { kind: 'ok', relyingParty: { rpId: 'example.com', origin: 'https://accounts.example.com' } });
    for (const [rpId, pattern] of [
      ['example.org', /neither the host of PORTCULLIS_PUBLIC_URL \(accounts\.example\.com\) nor a parent domain/],
      ['ample.com', /neither the host/],
      ['sub.accounts.example.com', /neither the host/],
      ['com', /top-level name/],
      ['127.0.0.1', /must be a domain name/],
      ['[::1]', /must be a domain name/],
      ['exa mple.com', /must be a domain name/],
      ['https://example.com', /must be a domain name/],
    ] as const) {
      const decision = decideRelyingParty(new URL('https://accounts.example.com'), rpId);
      assert.equal(decision.kind, 'error', rpId);
      assert.equal(decision.problem.setting, 'PORTCULLIS_WEBAUTHN_RP_ID');
      assert.match(decision.problem.problem, pattern, rpId);
    }
  });

  it('cannot exist for an IP-address host: passkeys are off, with the reason', () => {
    for (const url of ['https://127.0.0.1:8443', 'https://[::1]:8443', 'https://10.0.0.5']) {
      const decision = decideRelyingParty(new URL(url), undefined);
      assert.equal(decision.kind, 'unavailable', url);
      assert.match(decision.problem.problem, /is an IP address, which cannot be a WebAuthn relying party id/);
    }
  });

  describe('at start', () => {
    let workDir: string;
    before(async () => {
      workDir = await mkdtemp(path.join(tmpdir(), 'portcullis-rp-'));
    });
    after(async () => {
      await rm(workDir, { recursive: true, force: true });
    });

    const load = (env: Record<string, string>) => loadConfig({ env, cwd: workDir, euid: 1000 });
    const production = (extra: Record<string, string> = {}) => ({
      NODE_ENV: 'production',
      PORTCULLIS_SECRET: 'k'.repeat(48),
      PORTCULLIS_TRUST_PROXY: '127.0.0.1',
      PORTCULLIS_PUBLIC_URL: 'https://accounts.example.com',
      ...extra,
    });

    it('stops with the setting and the fix when the RP id does not fit PUBLIC_URL', async () => {
      await assert.rejects(
        () => load({ PORTCULLIS_PUBLIC_URL: 'https://accounts.example.com', PORTCULLIS_WEBAUTHN_RP_ID: 'example.org' }),
        (error: unknown) => error instanceof ConfigError && /^PORTCULLIS_WEBAUTHN_RP_ID: example\.org is neither .* Fix: leave it unset to use accounts\.example\.com, or set a parent domain/m.test(error.message),
      );
    });

    it('turns passkeys off for an IP host with a warning in development, and refuses it in production', async () => {
      const { config, warnings } = await load({ PORTCULLIS_PUBLIC_URL: 'https://127.0.0.1:8443' });
      assert.equal(config.mfa.webauthn, undefined);
      assert.ok(warnings.some((warning) => warning.startsWith('PORTCULLIS_PUBLIC_URL: its host 127.0.0.1 is an IP address')));
      await assert.rejects(() => load(production({ PORTCULLIS_PUBLIC_URL: 'https://192.0.2.10' })), /PORTCULLIS_PUBLIC_URL: its host 192\.0\.2\.10 is an IP address/);
    });

    it('defaults to MFA for administrators, and refuses none in production', async () => {
      assert.equal((await load({})).config.mfa.required, 'admin');
      assert.equal((await load({ PORTCULLIS_MFA_REQUIRED: 'all' })).config.mfa.required, 'all');
      const { config, warnings } = await load({ PORTCULLIS_MFA_REQUIRED: 'none' });
      assert.equal(config.mfa.required, 'none');
      assert.ok(warnings.some((warning) => warning.startsWith('PORTCULLIS_MFA_REQUIRED:')));
      await assert.rejects(() => load(production({ PORTCULLIS_MFA_REQUIRED: 'none' })), /PORTCULLIS_MFA_REQUIRED: administrators could sign in with a password alone/);
      await assert.rejects(() => load({ PORTCULLIS_MFA_REQUIRED: 'admins' }), /PORTCULLIS_MFA_REQUIRED: invalid value.*Fix: use admin/s);
      // Short passwords only when every account has a second factor (NIST 800-63B-4).
      await assert.rejects(() => load(production({ PORTCULLIS_PASSWORD_MIN_LENGTH: '8' })), /PORTCULLIS_PASSWORD_MIN_LENGTH: passwords of 8 characters are allowed .* Fix: use 15 or more, or set PORTCULLIS_MFA_REQUIRED=all/);
      assert.equal((await load(production({ PORTCULLIS_PASSWORD_MIN_LENGTH: '8', PORTCULLIS_MFA_REQUIRED: 'all' }))).config.passwords.minLength, 8);
      const { config: production_ } = await load(production());
      assert.deepEqual(production_.mfa, { required: 'admin', webauthn: { rpId: 'accounts.example.com', origin: 'https://accounts.example.com' } });
    });
  });
});
