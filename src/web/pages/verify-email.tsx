// src/web/pages/verify-email.tsx
// Confirming an address. Opening the link only shows a button: mail scanners fetch links to look
// at them, and a GET that used the token up would verify (or waste) it without the person.

import type { PageContext } from '../page-context.js';
import { FormAlert, PostForm } from './components.js';
import { Layout } from './layout.js';

export interface VerifyEmailConfirmPageProps {
  readonly context: PageContext;
  readonly token: string;
  readonly message?: string;
}

export function VerifyEmailConfirmPage({ context, token, message }: VerifyEmailConfirmPageProps) {
  return (
    <Layout title="Confirm your email address" siteName={context.siteName} context={context}>
      <h1>Confirm your email address</h1>
      <FormAlert message={message} />
      <p>Select the button to confirm that this address is yours.</p>
      <PostForm action="/verify-email" token={context.csrfToken}>
        <input type="hidden" name="token" value={token} />
        <div>
          <button type="submit">Confirm my email address</button>
        </div>
      </PostForm>
    </Layout>
  );
}

/** What an unverified account sees instead of everything else, while verification is required. */
export function VerifyEmailPendingPage({ context }: { readonly context: PageContext }) {
  const email = context.user?.email;
  return (
    <Layout title="Confirm your email address" siteName={context.siteName} context={context}>
      <h1>Confirm your email address</h1>
      <p class="lead">
        {email === undefined ? 'Open the link we emailed you to confirm your address.' : `We sent a link to ${email}. Open it to confirm your address and use your account.`}
      </p>
      {context.user === undefined ? (
        <p>
          <a href="/sign-in">Sign in</a> to ask for a new link.
        </p>
      ) : (
        <PostForm action="/verify-email/resend" token={context.csrfToken}>
          <div>
            <button type="submit" class="secondary">
              Send a new link
            </button>
          </div>
        </PostForm>
      )}
    </Layout>
  );
}
