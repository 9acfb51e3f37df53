// src/email/compose.ts
// Builds one email as plain text and as simple HTML from the same parts, escaping every value
// that goes into the HTML (names and addresses come from users).

import type { MailMessage } from './mailer.js';

export interface EmailParts {
  readonly to: string;
  readonly subject: string;
  readonly greeting?: string | undefined;
  readonly paragraphs: readonly string[];
  /** A button in HTML, a bare link on its own line in text. */
  readonly action?: { readonly label: string; readonly url: string } | undefined;
  readonly after?: readonly string[] | undefined;
  readonly siteName: string;
}

const htmlEscapes = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#39;'],
]);

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => htmlEscapes.get(character) ?? character);
}

export function compose(parts: EmailParts): MailMessage {
  const greeting = parts.greeting ?? 'Hello,';
  const after = parts.after ?? [];
  const text = [
    greeting,
    '',
    ...parts.paragraphs.flatMap((paragraph) => [paragraph, '']),
    ...(parts.action === undefined ? [] : [`${parts.action.label}:`, parts.action.url, '']),
    ...after.flatMap((paragraph) => [paragraph, '']),
    `-- ${parts.siteName}`,
  ].join('\n');
  const paragraph = (value: string) => `<p style="margin:0 0 16px">${escapeHtml(value)}</p>`;
  const button =
    parts.action === undefined
      ? ''
      : `<p style="margin:24px 0"><a href="${escapeHtml(parts.action.url)}" style="background:#1f4e79;color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none;display:inline-block">${escapeHtml(parts.action.label)}</a></p>` +
        `<p style="margin:0 0 16px;font-size:13px;color:#555555">If the button does not work, copy this address into your browser:<br>${escapeHtml(parts.action.url)}</p>`;
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>',
    '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;line-height:1.5;color:#1a1a1a;max-width:560px;margin:0 auto;padding:24px">',
    paragraph(greeting),
    ...parts.paragraphs.map(paragraph),
    button,
    ...after.map(paragraph),
    `<p style="margin:32px 0 0;font-size:13px;color:#555555">${escapeHtml(parts.siteName)}</p>`,
    '</body></html>',
  ].join('');
  return { to: parts.to, subject: parts.subject, text, html };
}
