// src/email/mailer.ts
// Sends the account emails. With PORTCULLIS_SMTP_URL, through that SMTP server (nodemailer);
// without it (development), each message is written as an .eml file under DATA_DIR/outbox/
// (mode 0600) and a log line says so. Log lines never carry a message's body: its links are secrets.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export type MailerConfig = Pick<Config, 'mail' | 'isProduction'>;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** SMTP options from the URL, with timeouts, and TLS required in production for a remote server. */
export function smtpOptions(smtpUrl: string, isProduction: boolean): SMTPTransport.Options {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    // smtp:// upgrades with STARTTLS when offered; production refuses to send in clear to a
    // server that is not on this machine.
    requireTLS: !secure && isProduction && !isLoopback(url.hostname),
    ...(user === '' ? {} : { auth: { user, pass: decodeURIComponent(url.password) } }),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}

function createSmtpMailer(config: MailerConfig, smtpUrl: string, logger: Logger): Mailer {
  const transport = nodemailer.createTransport(smtpOptions(smtpUrl, config.isProduction));
  return {
    async send(message) {
      const info = await transport.sendMail({ from: config.mail.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
      logger.info({ messageId: info.messageId }, 'email sent');
    },
  };
}

function createOutboxMailer(config: MailerConfig, logger: Logger): Mailer {
  // Renders the message exactly as SMTP would carry it, into a buffer instead of onto a socket.
  const renderer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const outbox = config.mail.outboxDir;
  let ready: Promise<void> | undefined;
  return {
    async send(message) {
      // The outbox path comes from the operator's DATA_DIR, never from a request.
      // eslint-disable-next-line security/detect-non-literal-fs-filename
      ready ??= mkdir(outbox, { recursive: true, mode: 0o700 }).then(() => undefined);
      await ready;
      const info = await renderer.sendMail({ from: config.mail.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
      const file = path.join(outbox, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(6).toString('hex')}.eml`);
      // The message holds live links (tokens): readable by the service's user only. 'wx' never
      // follows or overwrites a file someone placed there.
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- DATA_DIR/outbox and a name we made
      await writeFile(file, info.message, { mode: 0o600, flag: 'wx' });
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the file just written
      await chmod(file, 0o600);
      logger.info({ file }, 'email written to the outbox (no SMTP server is configured)');
    },
  };
}

export function createMailer(config: MailerConfig, logger: Logger): Mailer {
  if (config.mail.smtpUrl !== undefined) return createSmtpMailer(config, config.mail.smtpUrl, logger);
  if (config.isProduction) logger.warn('PORTCULLIS_SMTP_URL is not set: account emails are written to DATA_DIR/outbox and nobody receives them');
  return createOutboxMailer(config, logger);
}
