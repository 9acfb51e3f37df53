// src/web/pages/sign-in.tsx
// Signing in, and confirming the password again before sensitive changes. Both carry the page to
// return to as a hidden field; the server only follows it when it is a path on this site.

import type { PageContext } from '../page-context.js';
import { Field, FormAlert, PostForm, type FieldErrors } from './components.js';
import { Layout } from './layout.js';
import type { PasskeyScripts } from '../scripts.js';
import { PasskeyButton, PasskeyScriptTags, PasskeyStatus } from './mfa.js';

export interface SignInPageProps {
  readonly context: PageContext;
  readonly returnTo: string;
  readonly email?: string;
  readonly errors?: FieldErrors;
  readonly message?: string;
  /** Offers passwordless sign-in with a passkey (shown only where the browser supports it). */
  readonly passkeys?: PasskeyScripts | undefined;
}

export function SignInPage({ context, returnTo, email, errors, message, passkeys }: SignInPageProps) {
  return (
    <Layout title="Sign in" siteName={context.siteName} context={context}>
      <h1>Sign in</h1>
      <FormAlert message={message} />
      <div class="card">
        <PostForm action="/sign-in" token={context.csrfToken}>
          <input type="hidden" name="return" value={returnTo} />
          <Field name="email" label="Email address" type="email" autocomplete="email" value={email} errors={errors} maxLength={254} />
          <Field name="password" label="Password" type="password" autocomplete="current-password" errors={errors} maxLength={1024} />
          <div>
            <button type="submit">Sign in</button>
          </div>
        </PostForm>
      </div>
      {passkeys === undefined ? null : (
        <div class="card passkey-sign-in" data-passkey-show hidden>
          <p>Or sign in without your password:</p>
          <PasskeyButton flow="sign-in" label="Sign in with a passkey" returnTo={returnTo} status="passkey-sign-in-status" secondary />
          <PasskeyStatus id="passkey-sign-in-status" />
        </div>
      )}
      <p>
        <a href="/forgot-password">Forgot your password?</a> · <a href="/sign-up">Create an account</a>
      </p>
      {passkeys === undefined ? null : <PasskeyScriptTags scripts={passkeys} />}
    </Layout>
  );
}

export interface ReauthenticatePageProps {
  readonly context: PageContext;
  readonly returnTo: string;
  readonly errors?: FieldErrors;
  readonly message?: string;
}

export function ReauthenticatePage({ context, returnTo, errors, message }: ReauthenticatePageProps) {
  return (
    <Layout title="Confirm your password" siteName={context.siteName} context={context}>
      <h1>Confirm your password</h1>
      <FormAlert message={message} />
      <p>Changing your email address or password, or deleting your account, needs your password again. You will not be asked again for 10 minutes.</p>
      <div class="card">
        <PostForm action="/reauthenticate" token={context.csrfToken}>
          <input type="hidden" name="return" value={returnTo} />
          <Field name="password" label="Password" type="password" autocomplete="current-password" errors={errors} maxLength={1024} />
          <div>
            <button type="submit">Confirm</button>
          </div>
        </PostForm>
      </div>
    </Layout>
  );
}
