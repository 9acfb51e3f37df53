// src/web/pages/error.tsx
// What a browser sees for any error: the generic message and a reference to quote, nothing else.

import { Layout } from './layout.js';

export interface ErrorPageProps {
  readonly siteName: string;
  readonly status: number;
  readonly message: string;
  readonly requestId: string;
}

export function ErrorPage({ siteName, status, message, requestId }: ErrorPageProps) {
  return (
    <Layout title={`Error ${status}`} siteName={siteName}>
      <h1>{status === 404 ? 'Page not found' : 'Something is not right'}</h1>
      <p class="lead">{message}</p>
      <p class="muted">
        Reference: <code>{requestId}</code>
      </p>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </Layout>
  );
}
