// src/web/pages/layout.tsx
// The frame every page shares: one stylesheet from this origin, no inline script or style, the
// navigation for who is signed in, and the pending notice (Post/Redirect/Get) announced politely.

import type { ComponentChildren } from 'preact';
import type { PageContext } from '../page-context.js';
import { PostForm } from './components.js';

export interface LayoutProps {
  readonly title: string;
  readonly siteName: string;
  readonly children: ComponentChildren;
  /** Who is signed in and the pending message; absent on pages rendered without a request (errors). */
  readonly context?: PageContext;
}

function Navigation({ context }: { readonly context: PageContext | undefined }) {
  const user = context?.user;
  if (user === undefined) {
    return (
      <nav aria-label="Main">
        <a href="/sign-in">Sign in</a>
        <a href="/sign-up">Create account</a>
      </nav>
    );
  }
  return (
    <nav aria-label="Main">
      <a href="/account">Account</a>
      {user.role === 'admin' ? <a href="/admin/users">Users</a> : null}
      {user.role === 'admin' ? <a href="/admin/security">Security</a> : null}
      <PostForm action="/sign-out" token={context?.csrfToken} class="inline-form">
        <button type="submit" class="link-button">
          Sign out
        </button>
      </PostForm>
    </nav>
  );
}

export function Layout({ title, siteName, children, context }: LayoutProps) {
  const flash = context?.flash;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · ${siteName}`}</title>
        <link rel="stylesheet" href="/assets/style.css" />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            {siteName}
          </a>
          <Navigation context={context} />
        </header>
        <main class="content" id="main">
          {flash === undefined ? null : (
            <div class={flash.kind === 'alert' ? 'alert' : 'notice'} role={flash.kind === 'alert' ? 'alert' : 'status'}>
              {flash.message}
            </div>
          )}
          {children}
        </main>
        <footer class="site-footer">
          <p>Served over HTTPS with a strict content security policy.</p>
        </footer>
      </body>
    </html>
  );
}
