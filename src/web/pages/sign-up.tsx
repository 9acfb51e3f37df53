// src/web/pages/sign-up.tsx
// Creating an account, and the page that follows it. The answer is the same whether or not the
// address already has an account, so neither page tells anyone who is registered here.

import type { PageContext } from '../page-context.js';
import { Field, FormAlert, PostForm, type FieldErrors } from './components.js';
import { Layout } from './layout.js';

export interface SignUpPageProps {
  readonly context: PageContext;
  readonly passwordHint: string;
  readonly values?: { readonly email?: string; readonly displayName?: string };
  readonly errors?: FieldErrors;
  readonly message?: string;
}

export function SignUpPage({ context, passwordHint, values = {}, errors, message }: SignUpPageProps) {
  return (
    <Layout title="Create an account" siteName={context.siteName} context={context}>
      <h1>Create an account</h1>
      <FormAlert message={message} />
      <div class="card">
        <PostForm action="/sign-up" token={context.csrfToken}>
          <Field name="email" label="Email address" type="email" autocomplete="email" value={values.email} errors={errors} maxLength={254} />
          <Field
            name="displayName"
            label="Name (optional)"
            autocomplete="name"
            value={values.displayName}
            errors={errors}
            required={false}
            maxLength={80}
            hint="How we greet you. You can change it later."
          />
          <Field name="password" label="Password" type="password" autocomplete="new-password" errors={errors} hint={passwordHint} maxLength={1024} />
          <div>
            <button type="submit">Create account</button>
          </div>
        </PostForm>
      </div>
      <p>
        Already have an account? <a href="/sign-in">Sign in</a>.
      </p>
    </Layout>
  );
}

export function CheckEmailPage({ context }: { readonly context: PageContext }) {
  return (
    <Layout title="Check your email" siteName={context.siteName} context={context}>
      <h1>Check your email</h1>
      <p class="lead">If the address can be used for a new account, we have sent it a link to confirm it.</p>
      <p>Open the link in the email to finish. It works once and expires after 24 hours. If nothing arrives within a few minutes, check your spam folder.</p>
      <p>
        <a href="/sign-in">Go to sign in</a>
      </p>
    </Layout>
  );
}
