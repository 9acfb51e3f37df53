// test/helpers/smtp.ts
// A real SMTP server for tests, in-process on an ephemeral loopback port (the `smtp-server`
// package): Portcullis sends to it through nodemailer exactly as it would to a production relay,
// and tests read what arrived, decoded, and follow the links inside.
//
//   const smtp = await startSmtpServer();
//   // start Portcullis with PORTCULLIS_SMTP_URL: smtp.url
//   const message = await smtp.waitForMessage('ada@example.com', (m) => m.subject.includes('Confirm'));
//   const link = extractLink(message, '/verify-email');   // a URL; request link.pathname + link.search
//   await smtp.close();

import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message as it arrived: envelope, decoded headers and decoded text and HTML bodies. */
export interface ReceivedMessage {
  /** MAIL FROM of the SMTP envelope. */
  readonly envelopeFrom: string;
  /** RCPT TO addresses of the SMTP envelope, lower-cased. */
  readonly envelopeTo: readonly string[];
  /** Top-level headers, names lower-cased, folded lines joined, RFC 2047 words decoded. */
  readonly headers: ReadonlyMap<string, string>;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  /** The text/plain part, decoded (quoted-printable or base64) to a string; '' if none. */
  readonly text: string;
  /** The text/html part, decoded; undefined if the message has none. */
  readonly html: string | undefined;
  /** The whole message as received, with CRLF line ends. */
  readonly raw: string;
  /** Date.now() when the message finished arriving. */
  readonly receivedAt: number;
}

export interface TestSmtpServer {
  /** smtp://127.0.0.1:PORT, ready for PORTCULLIS_SMTP_URL. */
  readonly url: string;
  readonly port: number;
  /** Every message received so far, oldest first (including ones waitForMessage handed out). */
  readonly messages: readonly ReceivedMessage[];
  /**
   * Resolves with the first message to `to` (case-insensitive, matched against the envelope
   * recipients) that satisfies `predicate` and has not been handed out by an earlier call: one
   * already received, or the next to arrive. Each message is handed out once, so two waits for
   * the same address get two different messages. Rejects after `timeoutMs` (default 5000) with
   * an error listing what did arrive for that address (subjects only).
   */
  waitForMessage(to: string, predicate?: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  /** Forgets every message received so far. */
  clear(): void;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Largest message accepted, in bytes (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /** When set, every RCPT TO is refused with this SMTP error text (to test delivery failures). */
  readonly refuseRecipients?: string;
}

interface Waiter {
  readonly to: string;
  readonly predicate: (message: ReceivedMessage) => boolean;
  resolve(message: ReceivedMessage): void;
}

/** Starts the server on 127.0.0.1 with an ephemeral port. Plain SMTP: no STARTTLS, no AUTH. */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const handedOut = new Set<ReceivedMessage>();
  const waiters = new Set<Waiter>();

  const offer = (message: ReceivedMessage): void => {
    for (const waiter of waiters) {
      if (message.envelopeTo.includes(waiter.to) && waiter.predicate(message)) {
        waiters.delete(waiter);
        handedOut.add(message);
        waiter.resolve(message);
        return;
      }
    }
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    banner: 'portcullis test smtp',
    size: options.maxMessageBytes ?? 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (options.refuseRecipients !== undefined) {
        const error = Object.assign(new Error(options.refuseRecipients), { responseCode: 550 });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const envelopeFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        const envelopeTo = session.envelope.rcptTo.map((address) => address.address.toLowerCase());
        const message = parseMessage(raw, envelopeFrom, envelopeTo);
        messages.push(message);
        offer(message);
        callback();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    get messages() {
      return [...messages];
    },
    waitForMessage(to, predicate = () => true, timeoutMs = 5_000) {
      const recipient = to.toLowerCase();
      const ready = messages.find((message) => !handedOut.has(message) && message.envelopeTo.includes(recipient) && predicate(message));
      if (ready !== undefined) {
        handedOut.add(ready);
        return Promise.resolve(ready);
      }
      return new Promise<ReceivedMessage>((resolve, reject) => {
        const waiter: Waiter = {
          to: recipient,
          predicate,
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const arrived = messages.filter((message) => message.envelopeTo.includes(recipient)).map((message) => JSON.stringify(message.subject));
          reject(new Error(`no matching message to ${recipient} within ${timeoutMs} ms; received for it: ${arrived.length === 0 ? 'none' : arrived.join(', ')}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    clear() {
      messages.length = 0;
      handedOut.clear();
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/**
 * The first link in the message (text part first, then HTML) whose path is `path`, as a URL.
 * Throws when there is none, naming the links that were there. Follow it with the test client:
 * `request(link.pathname + link.search)`.
 */
export function extractLink(message: ReceivedMessage, path: string): URL {
  const candidates = [...message.text.matchAll(/https?:\/\/[^\s<>"']+/g), ...(message.html ?? '').matchAll(/https?:\/\/[^\s<>"']+/g)].map((match) =>
    decodeHtmlEntities(match[0]),
  );
  for (const candidate of candidates) {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      continue;
    }
    if (url.pathname === path) return url;
  }
  throw new Error(`no link to ${path} in the message "${message.subject}"; links found: ${candidates.length === 0 ? 'none' : candidates.join(', ')}`);
}

// ---- MIME, as much as nodemailer produces: headers, multipart, quoted-printable and base64 ----

interface Part {
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** Parses a raw RFC 5322 message into a ReceivedMessage. Exported for the helper's own tests. */
export function parseMessage(raw: string, envelopeFrom: string, envelopeTo: readonly string[]): ReceivedMessage {
  const top = splitPart(raw.replace(/\r\n/g, '\n'));
  const leaves = flatten(top);
  const textPart = leaves.find((part) => mediaType(part) === 'text/plain');
  const htmlPart = leaves.find((part) => mediaType(part) === 'text/html');
  return {
    envelopeFrom,
    envelopeTo,
    headers: top.headers,
    from: top.headers.get('from') ?? '',
    to: top.headers.get('to') ?? '',
    subject: top.headers.get('subject') ?? '',
    text: textPart === undefined ? '' : decodeBody(textPart),
    html: htmlPart === undefined ? undefined : decodeBody(htmlPart),
    raw,
    receivedAt: Date.now(),
  };
}

function splitPart(source: string): Part {
  const end = source.indexOf('\n\n');
  const head = end === -1 ? source : source.slice(0, end);
  const body = end === -1 ? '' : source.slice(end + 2);
  const headers = new Map<string, string>();
  // Unfold: a line starting with white space continues the previous header.
  const unfolded = head.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, decodeEncodedWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function mediaType(part: Part): string {
  return (part.headers.get('content-type') ?? 'text/plain').split(';')[0]?.trim().toLowerCase() ?? 'text/plain';
}

function parameter(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  // name is one of this file's literals (boundary, charset), never message content.
  // eslint-disable-next-line security/detect-non-literal-regexp
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(header);
  return match?.[1] ?? match?.[2];
}

function flatten(part: Part): Part[] {
  if (!mediaType(part).startsWith('multipart/')) return [part];
  const boundary = parameter(part.headers.get('content-type'), 'boundary');
  if (boundary === undefined) return [part];
  const pieces = part.body.split(`--${boundary}`);
  // pieces[0] is the preamble; the piece starting with "--" is the epilogue after the last boundary.
  return pieces
    .slice(1)
    .filter((piece) => !piece.startsWith('--'))
    .flatMap((piece) => flatten(splitPart(piece.replace(/^\n/, '').replace(/\n$/, ''))));
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const charset = (parameter(part.headers.get('content-type'), 'charset') ?? 'utf-8').toLowerCase();
  const bytes = encoding === 'quoted-printable' ? decodeQuotedPrintable(part.body) : encoding === 'base64' ? Buffer.from(part.body.replace(/\s+/g, ''), 'base64') : Buffer.from(part.body, 'utf8');
  return new TextDecoder(charset === 'us-ascii' ? 'utf-8' : charset).decode(bytes);
}

/** RFC 2045 quoted-printable: "=" at a line end is a soft break, "=XX" is one byte. */
export function decodeQuotedPrintable(input: string): Buffer {
  const joined = input.replace(/[ \t]+$/gm, '').replace(/=\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < joined.length; index += 1) {
    const character = joined.charAt(index);
    const hex = joined.slice(index + 1, index + 3);
    if (character === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(...Buffer.from(character, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words in headers (=?UTF-8?Q?...?= and =?UTF-8?B?...?=), as nodemailer writes them. */
function decodeEncodedWords(value: string): string {
  // Adjacent encoded words are separated by folding white space that is not part of the text.
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_whole, charset: string, kind: string, text: string) => {
    const bytes = kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  });
}

function decodeHtmlEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&#x3D;/gi, '=').replace(/&#61;/g, '=');
}
