// src/web/pages/home.tsx
// The front door: what the service is, and the way in (or back to the account).

import type { PageContext } from '../page-context.js';
import { Layout } from './layout.js';

export function HomePage({ context }: { readonly context: PageContext }) {
  const user = context.user;
  return (
    <Layout title="Welcome" siteName={context.siteName} context={context}>
      <h1>{context.siteName}</h1>
      <p class="lead">A hardened account service. Your connection is encrypted and this page runs no script.</p>
      {user === undefined ? (
        <p class="actions">
          <a class="button" href="/sign-up">
            Create an account
          </a>
          <a class="button secondary" href="/sign-in">
            Sign in
          </a>
        </p>
      ) : (
        <p class="actions">
          <span>Signed in as {user.displayName ?? user.email}.</span>
          <a class="button" href="/account">
            Go to your account
          </a>
        </p>
      )}
    </Layout>
  );
}
