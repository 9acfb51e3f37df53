// src/web/pages/layout.tsx
// The frame every page shares: one stylesheet from this origin, no inline script or style.

import type { ComponentChildren } from 'preact';

export interface LayoutProps {
  readonly title: string;
  readonly siteName: string;
  readonly children: ComponentChildren;
}

export function Layout({ title, siteName, children }: LayoutProps) {
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
        <header class="site-header">
          <a class="brand" href="/">
            {siteName}
          </a>
        </header>
        <main class="content">{children}</main>
        <footer class="site-footer">
          <p>Served over HTTPS with a strict content security policy.</p>
        </footer>
      </body>
    </html>
  );
}
