// src/web/pages/home.tsx

import { Layout } from './layout.js';

export function HomePage({ siteName }: { readonly siteName: string }) {
  return (
    <Layout title="Welcome" siteName={siteName}>
      <h1>{siteName}</h1>
      <p class="lead">A hardened account service. Your connection is encrypted and this page runs no script.</p>
    </Layout>
  );
}
