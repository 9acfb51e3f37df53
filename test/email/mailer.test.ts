// test/email/mailer.test.ts
// Account emails really leave through SMTP (nodemailer to an in-process smtp-server on loopback)
// and arrive decoded with working links; without SMTP they land as private .eml files and the log
// says so without the link; user-supplied text is escaped in HTML; a failing mail server does not
// change what the caller sees.

import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createMailer } from '../../src/email/mailer.js';
import { verifyEmailMessage } from '../../src/email/templates.js';
import { createLogger } from '../../src/observability/logger.js';
import { createHarness, meta, otherStrongPassword, strongPassword, type Harness } from '../accounts/harness.js';
import { decodeQuotedPrintable, extractLink, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', pretty: false, destination }), lines };
}

describe('email over SMTP', () => {
  let smtp: TestSmtpServer;
  let h: Harness;
  before(async () => {
    smtp = await startSmtpServer();
    h = await createHarness({ PORTCULLIS_SMTP_URL: smtp.url, PORTCULLIS_MAIL_FROM: 'Portcullis Tests <no-reply@example.test>' }, { mailer: createMailer });
  });
  after(async () => {
    await h.close();
    await smtp.close();
  });

  it('delivers the verification email through a real SMTP server, and its link verifies the account', async () => {
    await h.service.signUp({ email: 'Ada@Example.com', password: strongPassword, displayName: 'Ada <Countess> & "Co"' }, meta);
    const message = await smtp.waitForMessage('ada@example.com', (received) => received.subject.startsWith('Confirm'));
    assert.equal(message.envelopeFrom, 'no-reply@example.test');
    assert.match(message.from, /Portcullis Tests/);
    const link = extractLink(message, '/verify-email');
    assert.equal(link.origin, 'https://localhost:8443');
    assert.match(link.searchParams.get('token') ?? '', /^[A-Za-z0-9_-]{43}$/);
    // The HTML part carries the same link, and the display name escaped.
    assert.ok(message.html?.includes(link.href.replace(/&/g, '&amp;')));
    assert.ok(message.html?.includes('Ada &lt;Countess&gt; &amp; &quot;Co&quot;'));
    assert.ok(!message.html?.includes('<Countess>'));
    const user = await h.service.verifyEmail(link.searchParams.get('token') ?? '', meta);
    assert.equal(user.emailVerified, true);
  });

  it('delivers reset links and password-change notices, one message per wait', async () => {
    await h.service.requestPasswordReset('ada@example.com', meta);
    await h.service.requestPasswordReset('ada@example.com', meta);
    const first = await smtp.waitForMessage('ada@example.com', (received) => received.subject.includes('Reset'));
    const second = await smtp.waitForMessage('ada@example.com', (received) => received.subject.includes('Reset'));
    assert.notEqual(first, second);
    const older = extractLink(first, '/reset-password').searchParams.get('token') ?? '';
    const newer = extractLink(second, '/reset-password').searchParams.get('token') ?? '';
    await assert.rejects(() => h.service.resetPassword({ token: older, newPassword: otherStrongPassword }, meta));
    await h.service.resetPassword({ token: newer, newPassword: otherStrongPassword }, meta);
    const notice = await smtp.waitForMessage('ada@example.com', (received) => received.subject.includes('was reset'));
    assert.match(notice.text, /reset your password now/);
  });

  it('sends the someone-tried email to an existing address, with no token in it', async () => {
    await h.service.signUp({ email: 'ada@example.com', password: strongPassword }, meta);
    const message = await smtp.waitForMessage('ada@example.com', (received) => received.subject.startsWith('Someone tried'));
    assert.doesNotMatch(message.raw, /token=/);
    assert.equal(extractLink(message, '/sign-in').origin, 'https://localhost:8443');
  });

  it('decodes non-ASCII subjects and bodies', async () => {
    const mailer = createMailer({ isProduction: false, mail: { smtpUrl: smtp.url, from: 'Portcullis <no-reply@example.test>', outboxDir: '/nonexistent' } }, captureLogs().logger);
    const longLink = `https://localhost:8443/verify-email?token=${'x'.repeat(43)}&unicode=${'é'.repeat(40)}`;
    await mailer.send({ to: 'zoë@example.com', subject: 'Grüße, Zoë — ✓', text: `Héllo 🦊\n${longLink}\n`, html: '<p>Héllo 🦊</p>' });
    const message = await smtp.waitForMessage('zoë@example.com');
    assert.equal(message.subject, 'Grüße, Zoë — ✓');
    assert.match(message.text, /^Héllo 🦊$/m);
    assert.equal(message.html, '<p>Héllo 🦊</p>');
    assert.ok(message.text.includes(longLink), 'a long line did not survive quoted-printable folding');
  });

  it('times out a wait with a message naming what did arrive', async () => {
    await assert.rejects(() => smtp.waitForMessage('ada@example.com', (received) => received.subject === 'never sent', 200), /no matching message to ada@example.com within 200 ms; received for it: "Confirm/);
  });
});

describe('a failing mail server', () => {
  it('does not change the answer of sign-up, and logs the failure without the link', async () => {
    const smtp = await startSmtpServer({ refuseRecipients: 'mailbox unavailable' });
    const h = await createHarness({ PORTCULLIS_SMTP_URL: smtp.url }, { mailer: createMailer });
    try {
      await h.service.signUp({ email: 'bounce@example.com', password: strongPassword }, meta);
      const deadline = Date.now() + 5_000;
      while (!h.logs.some((line) => line.includes('could not be sent')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const line = h.logs.find((entry) => entry.includes('could not be sent')) ?? '';
      assert.match(line, /"purpose":"verify_email"/);
      assert.doesNotMatch(line, /token/);
    } finally {
      await h.close();
      await smtp.close();
    }
  });
});

describe('the development outbox', () => {
  it('writes each message as a private .eml file and logs the file, never the link', async () => {
    const h = await createHarness();
    const logs = captureLogs();
    try {
      const mailer = createMailer(h.config, logs.logger);
      const message = verifyEmailMessage({ siteName: 'Portcullis', publicOrigin: 'https://localhost:8443' }, { to: 'dev@example.com', token: 'T'.repeat(43) });
      await mailer.send(message);
      const outbox = h.config.mail.outboxDir;
      assert.equal(outbox, path.join(h.dir, 'outbox'));
      assert.equal((await stat(outbox)).mode & 0o777, 0o700);
      const files = await readdir(outbox);
      assert.equal(files.length, 1);
      const file = path.join(outbox, files[0] ?? '');
      assert.match(file, /\.eml$/);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const eml = await readFile(file, 'utf8');
      assert.match(eml, /^Subject: Confirm your email address for Portcullis$/m);
      assert.ok(decodeQuotedPrintable(eml).toString('utf8').includes('T'.repeat(43)));
      const line = logs.lines.find((entry) => entry.includes('outbox')) ?? '';
      assert.ok(line.includes(file));
      assert.ok(!logs.lines.join('\n').includes('T'.repeat(20)), 'the token reached the log');
    } finally {
      await h.close();
    }
  });

  it('warns in production when no SMTP server is configured', () => {
    const logs = captureLogs();
    createMailer({ isProduction: true, mail: { smtpUrl: undefined, from: 'x <x@example.com>', outboxDir: '/nonexistent' } }, logs.logger);
    assert.ok(logs.lines.some((line) => line.includes('"level":"warn"') && line.includes('PORTCULLIS_SMTP_URL')));
  });
});
