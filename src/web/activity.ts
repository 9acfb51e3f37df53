// src/web/activity.ts
// Security events as a person reads them. Known types get a sentence; anything newer is shown by
// its type name made readable, so a new event never breaks the page.

import type { AuditEvent } from './accounts-port.js';

const sentences: ReadonlyMap<string, string> = new Map([
  // Written by the domain (src/accounts).
  ['sign_up', 'Account created'],
  ['user_created', 'Account created by an administrator'],
  ['user_imported', 'Account imported'],
  ['email_verified', 'Email address confirmed'],
  ['verification_resent', 'New confirmation link sent'],
  ['sign_in', 'Signed in'],
  ['reauth', 'Password confirmed'],
  ['password_changed', 'Password changed'],
  ['password_reset_requested', 'Password reset link requested'],
  ['password_reset_completed', 'Password reset'],
  ['email_change_requested', 'Email address change requested'],
  ['email_changed', 'Email address changed'],
  ['profile_updated', 'Name changed'],
  ['role_changed', 'Role changed'],
  ['user_disabled', 'Account disabled by an administrator'],
  ['user_enabled', 'Account enabled by an administrator'],
  ['account_deleted', 'Account deleted'],
  // Written by the web layer.
  ['sign_out', 'Signed out'],
  ['session_revoked', 'Another session was signed out'],
  ['other_sessions_revoked', 'Signed out everywhere else'],
  ['admin_sessions_ended', 'Sessions ended by an administrator'],
  ['csrf_rejected', 'A request from another site was refused'],
  ['authorization_denied', 'An administrators-only page was refused'],
  // Two-step verification (issue 4).
  ['second_factor', 'Second factor confirmed'],
  ['passkey_sign_in', 'Signed in with a passkey'],
  ['totp_enrolment_started', 'Authenticator app setup started'],
  ['totp_enabled', 'Authenticator app turned on'],
  ['totp_removed', 'Authenticator app removed'],
  ['recovery_codes_generated', 'New recovery codes made'],
  ['passkey_added', 'Passkey added'],
  ['passkey_renamed', 'Passkey renamed'],
  ['passkey_removed', 'Passkey removed'],
  ['mfa_disabled', 'Two-step verification turned off'],
]);

/** The failure wording where "(failed)" would read badly. */
const failures: ReadonlyMap<string, string> = new Map([
  ['sign_in', 'Failed sign-in attempt'],
  ['reauth', 'Wrong password when confirming'],
  ['second_factor', 'Wrong or refused second-factor code'],
  ['passkey_sign_in', 'Failed passkey sign-in'],
]);

export function describeEvent(event: Pick<AuditEvent, 'type' | 'outcome'>): string {
  if (event.outcome === 'failure') {
    const failure = failures.get(event.type);
    if (failure !== undefined) return failure;
  }
  const known = sentences.get(event.type);
  const base = known ?? event.type.replace(/[._]+/g, ' ').replace(/^\w/, (first) => first.toUpperCase());
  return event.outcome === 'failure' && !/fail|refused/i.test(base) ? `${base} (failed)` : base;
}
