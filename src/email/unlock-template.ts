// src/email/unlock-template.ts
// The one email an account owner gets when sign-ins to their account start being slowed down:
// what happened, that their usual browser still works, and a link that lifts the delays.

import { compose } from './compose.js';
import type { MailMessage } from './mailer.js';
import type { TemplateContext } from './templates.js';

export function unlockAccountLink(context: TemplateContext, token: string): string {
  return `${context.publicOrigin}/unlock-account?token=${encodeURIComponent(token)}`;
}

export function signInThrottledMessage(context: TemplateContext, input: { to: string; displayName: string | null; failures: number; token: string; linkLifetimeHours: number }): MailMessage {
  return compose({
    to: input.to,
    subject: `Sign-ins to your ${context.siteName} account are being slowed down`,
    greeting: input.displayName === null || input.displayName === '' ? 'Hello,' : `Hello ${input.displayName},`,
    paragraphs: [
      `Someone entered a wrong password for your ${context.siteName} account ${input.failures} times in a row. To protect it, sign-ins from browsers we have not seen you use are now delayed, a little longer after each wrong try.`,
      'Browsers you signed in with before keep working as usual.',
      'If it was you and you remember the password now, open this link to lift the delays. If not, you can also reset your password from the sign-in page.',
    ],
    action: { label: 'Lift the delays', url: unlockAccountLink(context, input.token) },
    after: [
      `The link works once, for ${input.linkLifetimeHours} hours. We send this email once; further attempts do not send more.`,
      'If it was not you, someone may be guessing your password: choose a long, unique one, and turn on two-step sign-in if you can.',
    ],
    siteName: context.siteName,
  });
}
