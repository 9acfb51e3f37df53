// src/web/pages/unlock-account.tsx
// Lifting sign-in delays with the emailed link. Opening the link only shows a button (mail scanners
// open links); the token is spent when the button is pressed.

import type { PageContext } from '../page-context.js';
import { FormAlert, PostForm } from './components.js';
import { Layout } from './layout.js';

export interface UnlockAccountPageProps {
  readonly context: PageContext;
  readonly token: string;
  readonly message?: string;
}

export function UnlockAccountPage({ context, token, message }: UnlockAccountPageProps) {
  return (
    <Layout title="Lift sign-in delays" siteName={context.siteName} context={context}>
      <h1>Lift sign-in delays</h1>
      <FormAlert message={message} />
      <p>After several wrong passwords, sign-ins to your account from new browsers were slowed down. Select the button to lift the delays now.</p>
      <PostForm action="/unlock-account" token={context.csrfToken}>
        <input type="hidden" name="token" value={token} />
        <div>
          <button type="submit">Lift the delays</button>
        </div>
      </PostForm>
    </Layout>
  );
}
