// test/observability/metrics-mfa.test.ts
// Failed second factors are counted by factor (TOTP, recovery code, passkey), from the audit
// events the MFA module writes, after real attempts through the JSON API.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { passwords, startAccountsHarness, type AccountsHarness } from '../web/support/harness.js';
import { counter } from './support.js';

describe('metrics of second factors', () => {
  let harness: AccountsHarness;
  before(async () => {
    harness = await startAccountsHarness({ PORTCULLIS_METRICS_ADDR: '127.0.0.1:0', PORTCULLIS_MFA_REQUIRED: 'none', PORTCULLIS_RATE_LIMIT_AUTH_MAX: '1000' });
    await harness.server.server.accounts.createUser({ email: 'second@example.com', password: passwords.first, role: 'user', emailVerified: true });
  });
  after(async () => {
    await harness.close();
  });

  it('counts failed second factors by factor', async () => {
    const metricsUrl = harness.server.server.metricsUrl ?? '';
    const totp = await counter(metricsUrl, 'portcullis_mfa_failures_total', { factor: 'totp' });
    const recovery = await counter(metricsUrl, 'portcullis_mfa_failures_total', { factor: 'recovery_code' });
    const client = harness.client();
    await client.apiSignIn('second@example.com', passwords.first);
    // Confirming an action with a code that is wrong (this account has no authenticator at all).
    const wrongTotp = await client.api('POST', '/auth/mfa/totp', { code: '123456' });
    assert.equal(wrongTotp.status, 401, wrongTotp.body);
    assert.equal((wrongTotp.json() as { error: { code: string } }).error.code, 'MFA_CODE_INVALID');
    assert.equal(await totp.moved(), 1);
    assert.equal(await recovery.moved(), 0);
    const wrongRecovery = await client.api('POST', '/auth/mfa/recovery', { code: 'abcde-fghij-klmno' });
    assert.equal(wrongRecovery.status, 401, wrongRecovery.body);
    assert.equal(await recovery.moved(), 1);
    assert.equal(await totp.moved(), 1);
  });
});
