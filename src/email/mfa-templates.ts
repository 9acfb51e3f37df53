// src/email/mfa-templates.ts
// The emails that tell a person their second factors changed (issue 4): every change, so that
// someone who got hold of a session and quietly added their own passkey is seen at once.

import { compose } from './compose.js';
import type { MailMessage } from './mailer.js';
import type { TemplateContext } from './templates.js';

/** What changed, in words the email's subject and first line both use. */
export type MfaChange =
  | { readonly kind: 'totp_enabled' }
  | { readonly kind: 'totp_removed' }
  | { readonly kind: 'recovery_codes_generated' }
  | { readonly kind: 'recovery_code_used'; readonly remaining: number }
  | { readonly kind: 'passkey_added'; readonly name: string }
  | { readonly kind: 'passkey_renamed'; readonly name: string }
  | { readonly kind: 'passkey_removed'; readonly name: string }
  | { readonly kind: 'mfa_disabled' };

function describe(change: MfaChange, siteName: string): { subject: string; line: string } {
  switch (change.kind) {
    case 'totp_enabled':
      return { subject: `An authenticator app was added to your ${siteName} account`, line: 'An authenticator app now gives the codes for two-step verification on your account.' };
    case 'totp_removed':
      return { subject: `An authenticator app was removed from your ${siteName} account`, line: 'The authenticator app was removed from your account; its codes no longer work.' };
    case 'recovery_codes_generated':
      return { subject: `New recovery codes for your ${siteName} account`, line: 'A new set of recovery codes was made for your account. The codes made before no longer work.' };
    case 'recovery_code_used':
      return {
        subject: `A recovery code was used on your ${siteName} account`,
        line: `One of your recovery codes was just used. ${change.remaining === 1 ? 'One code is' : `${change.remaining} codes are`} left.`,
      };
    case 'passkey_added':
      return { subject: `A passkey was added to your ${siteName} account`, line: `A passkey named “${change.name}” can now sign in to your account.` };
    case 'passkey_renamed':
      return { subject: `A passkey on your ${siteName} account was renamed`, line: `One of your passkeys is now named “${change.name}”.` };
    case 'passkey_removed':
      return { subject: `A passkey was removed from your ${siteName} account`, line: `The passkey named “${change.name}” was removed and can no longer sign in.` };
    case 'mfa_disabled':
      return { subject: `Two-step verification is off for your ${siteName} account`, line: 'Your account no longer has a second factor: a password alone now signs in, and your recovery codes were deleted.' };
  }
}

export function mfaChangedMessage(context: TemplateContext, input: { to: string; displayName?: string | null; change: MfaChange }): MailMessage {
  const { subject, line } = describe(input.change, context.siteName);
  const name = input.displayName ?? '';
  return compose({
    to: input.to,
    subject,
    greeting: name === '' ? 'Hello,' : `Hello ${name},`,
    paragraphs: [line, 'If it was you, there is nothing more to do.'],
    action: { label: 'Review your two-step verification', url: `${context.publicOrigin}/account/mfa` },
    after: ['If it was not you, sign in, change your password, sign out everywhere else and check your second factors now.'],
    siteName: context.siteName,
  });
}
