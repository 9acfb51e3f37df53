// test/server/app-error.test.ts
// AppError (src/errors/app-error.ts) captures no stack for refusals of the client's request (4xx:
// expected, never logged with one, and the cost of a flooded 429), keeps it for server errors, and
// leaves Error.stackTraceLimit as it found it, even when construction throws.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors/app-error.js';

function stackFrames(error: Error): string[] {
  return (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
}

describe('AppError stacks', () => {
  it('has no stack frames for a 4xx, and keeps them for a 5xx', () => {
    const refused = new AppError('RATE_LIMITED');
    assert.equal(refused.status, 429);
    assert.deepEqual(stackFrames(refused), []);
    assert.match(refused.stack ?? '', /Too many requests/);
    const notFound = new AppError('NOT_FOUND');
    assert.deepEqual(stackFrames(notFound), []);
    const internal = new AppError('INTERNAL');
    assert.equal(internal.status, 500);
    assert.ok(stackFrames(internal).length > 0, 'a server error says where it came from');
  });

  it('restores Error.stackTraceLimit, whatever it was', () => {
    const before = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = 7;
      new AppError('VALIDATION_FAILED', { fields: { email: 'Enter an email address.' } });
      assert.equal(Error.stackTraceLimit, 7);
      new AppError('SERVICE_UNAVAILABLE');
      assert.equal(Error.stackTraceLimit, 7);
      assert.equal(stackFrames(new Error('plain')).length > 0, true, 'other errors still have stacks');
    } finally {
      Error.stackTraceLimit = before;
    }
  });
});
