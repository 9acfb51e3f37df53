// test/config/node-support.test.ts
// The runtime is a dependency too: a Node.js major past its end of life is reported.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeSupportStatus } from '../../src/security/node-support.js';

describe('nodeSupportStatus', () => {
  const day = (iso: string) => new Date(`${iso}T12:00:00Z`);
  it('reports Node.js 20 as past end of life after April 2026', () => {
    assert.equal(nodeSupportStatus(20, day('2026-11-29')).pastEndOfLife, true);
    assert.equal(nodeSupportStatus(20, day('2026-04-01')).pastEndOfLife, false);
  });
  it('reports Node.js 24 as supported in 2026', () => {
    assert.deepEqual(nodeSupportStatus(24, day('2026-11-29')), { major: 24, endOfLife: '2028-04-30', pastEndOfLife: false });
  });
  it('treats majors older than the schedule as unsupported and newer ones as not yet scheduled', () => {
    assert.equal(nodeSupportStatus(8, day('2026-11-29')).pastEndOfLife, true);
    assert.equal(nodeSupportStatus(30, day('2026-11-29')).pastEndOfLife, false);
  });
});
