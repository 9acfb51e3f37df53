// src/email/templates.ts
// The account emails. Each says what happened, what to do, and what to do if it was not you.
// Links point at PUBLIC_URL + /verify-email?token=... and /reset-password?token=... (the web
// layer's pages); tokens appear in the link only, never in a subject.

import type { MailMessage } from './mailer.js';
import { compose } from './compose.js';

export interface TemplateContext {
  readonly siteName: string;
  /** scheme://host[:port] of the public URL. */
  readonly publicOrigin: string;
}

export function verifyEmailLink(context: TemplateContext, token: string): string {
  return `${context.publicOrigin}/verify-email?token=${encodeURIComponent(token)}`;
}

export function resetPasswordLink(context: TemplateContext, token: string): string {
  return `${context.publicOrigin}/reset-password?token=${encodeURIComponent(token)}`;
}

function greet(displayName: string | null | undefined): string {
  return displayName === null || displayName === undefined || displayName === '' ? 'Hello,' : `Hello ${displayName},`;
}

export function verifyEmailMessage(context: TemplateContext, input: { to: string; displayName?: string | null; token: string }): MailMessage {
  return compose({
    to: input.to,
    subject: `Confirm your email address for ${context.siteName}`,
    greeting: greet(input.displayName),
    paragraphs: [`Someone, probably you, created a ${context.siteName} account with this email address. Confirm that it is yours to finish.`],
    action: { label: 'Confirm your email address', url: verifyEmailLink(context, input.token) },
    after: ['The link works once, for 24 hours.', 'If you did not create this account, ignore this email: nothing happens without the link.'],
    siteName: context.siteName,
  });
}

export function signUpAttemptMessage(context: TemplateContext, input: { to: string; displayName?: string | null }): MailMessage {
  return compose({
    to: input.to,
    subject: `Someone tried to create a ${context.siteName} account with your email address`,
    greeting: greet(input.displayName),
    paragraphs: [
      `Someone tried to create a new ${context.siteName} account with this email address. You already have one, so no new account was made.`,
      'If it was you, sign in instead. If you forgot your password, you can reset it from the sign-in page.',
    ],
    action: { label: 'Sign in', url: `${context.publicOrigin}/sign-in` },
    after: ['If it was not you, you do not need to do anything: your account is unchanged.'],
    siteName: context.siteName,
  });
}

export function passwordResetMessage(context: TemplateContext, input: { to: string; displayName?: string | null; token: string }): MailMessage {
  return compose({
    to: input.to,
    subject: `Reset your ${context.siteName} password`,
    greeting: greet(input.displayName),
    paragraphs: [`Someone asked to reset the password of your ${context.siteName} account. Choose a new password with this link.`],
    action: { label: 'Choose a new password', url: resetPasswordLink(context, input.token) },
    after: [
      'The link works once, for 30 minutes, and only the newest link works. Resetting signs you out everywhere.',
      'If you did not ask for this, ignore this email: your password stays as it is.',
    ],
    siteName: context.siteName,
  });
}

export function passwordChangedMessage(context: TemplateContext, input: { to: string; displayName?: string | null; how: 'changed' | 'reset' }): MailMessage {
  return compose({
    to: input.to,
    subject: `Your ${context.siteName} password was ${input.how}`,
    greeting: greet(input.displayName),
    paragraphs: [
      `The password of your ${context.siteName} account was just ${input.how}.`,
      'If it was you, there is nothing more to do.',
      'If it was not you, reset your password now and check your account\'s recent activity.',
    ],
    action: { label: 'Reset your password', url: `${context.publicOrigin}/forgot-password` },
    siteName: context.siteName,
  });
}

export function confirmEmailChangeMessage(context: TemplateContext, input: { to: string; displayName?: string | null; token: string }): MailMessage {
  return compose({
    to: input.to,
    subject: `Confirm your new email address for ${context.siteName}`,
    greeting: greet(input.displayName),
    paragraphs: [`Someone asked to use this address for their ${context.siteName} account. Confirm that it is yours to make the change.`],
    action: { label: 'Confirm this email address', url: verifyEmailLink(context, input.token) },
    after: ['The link works once, for 24 hours.', 'If you did not ask for this, ignore this email.'],
    siteName: context.siteName,
  });
}

export function emailChangeRequestedMessage(context: TemplateContext, input: { to: string; displayName?: string | null }): MailMessage {
  return compose({
    to: input.to,
    subject: `A change of email address was requested for your ${context.siteName} account`,
    greeting: greet(input.displayName),
    paragraphs: [
      `Someone signed in to your ${context.siteName} account asked to move it to another email address. The change happens only when the new address is confirmed.`,
      'If it was not you, change your password now and check your account\'s recent activity.',
    ],
    siteName: context.siteName,
  });
}

export function accountDisabledMessage(context: TemplateContext, input: { to: string; displayName?: string | null }): MailMessage {
  return compose({
    to: input.to,
    subject: `Your ${context.siteName} account was disabled`,
    greeting: greet(input.displayName),
    paragraphs: [`An administrator disabled your ${context.siteName} account. You cannot sign in until it is enabled again.`, 'If you think this is a mistake, contact the people who run this site.'],
    siteName: context.siteName,
  });
}
