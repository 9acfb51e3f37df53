// src/web/pages/password-reset.tsx
// Asking for a reset link, and choosing a new password with it. The request page answers the same
// for every address; the reset page carries the token in a hidden field and uses it only on POST.

import type { PageContext } from '../page-context.js';
import { Field, FormAlert, PostForm, type FieldErrors } from './components.js';
import { Layout } from './layout.js';

export interface ForgotPasswordPageProps {
  readonly context: PageContext;
  readonly email?: string;
  readonly errors?: FieldErrors;
  readonly message?: string;
}

export function ForgotPasswordPage({ context, email, errors, message }: ForgotPasswordPageProps) {
  return (
    <Layout title="Reset your password" siteName={context.siteName} context={context}>
      <h1>Reset your password</h1>
      <FormAlert message={message} />
      <p>Enter the address you signed up with. If it has an account, we will email it a link to choose a new password.</p>
      <div class="card">
        <PostForm action="/forgot-password" token={context.csrfToken}>
          <Field name="email" label="Email address" type="email" autocomplete="email" value={email} errors={errors} maxLength={254} />
          <div>
            <button type="submit">Send the link</button>
          </div>
        </PostForm>
      </div>
      <p>
        <a href="/sign-in">Back to sign in</a>
      </p>
    </Layout>
  );
}

export interface ResetPasswordPageProps {
  readonly context: PageContext;
  readonly token: string;
  readonly passwordHint: string;
  readonly errors?: FieldErrors;
  readonly message?: string;
}

export function ResetPasswordPage({ context, token, passwordHint, errors, message }: ResetPasswordPageProps) {
  return (
    <Layout title="Choose a new password" siteName={context.siteName} context={context}>
      <h1>Choose a new password</h1>
      <FormAlert message={message} />
      <p>After the change, every device signed in to your account is signed out.</p>
      <div class="card">
        <PostForm action="/reset-password" token={context.csrfToken}>
          <input type="hidden" name="token" value={token} />
          <Field name="newPassword" label="New password" type="password" autocomplete="new-password" errors={errors} hint={passwordHint} maxLength={1024} />
          <div>
            <button type="submit">Change password</button>
          </div>
        </PostForm>
      </div>
    </Layout>
  );
}
