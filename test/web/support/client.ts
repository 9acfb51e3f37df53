// test/web/support/client.ts
// A small browser stand-in over real HTTPS: a cookie jar, the form token of the last page seen,
// form posts and JSON calls with the headers a browser would send (or, on request, without them).

import { hashSessionId } from '../../../src/storage/sessions/kysely-session-store.js';
import type { TestResponse } from '../../helpers/https-client.js';
import type { TestServer } from '../../helpers/test-server.js';

export const defaultUserAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export interface CallOptions {
  /** Extra headers; `undefined` removes one the client would otherwise send. */
  readonly headers?: Record<string, string | undefined>;
}

export interface JsonOptions extends CallOptions {
  /** The Origin header: the site's own by default; null sends none. */
  readonly origin?: string | null;
  /** Sends the body as is (for malformed JSON); otherwise `body` is JSON-encoded. */
  readonly raw?: string;
}

export class WebClient {
  readonly #server: TestServer;
  readonly #cookies = new Map<string, string>();
  readonly userAgent: string;
  /** The form token of the last HTML page that carried one. */
  csrfToken: string | undefined;

  constructor(server: TestServer, options: { userAgent?: string } = {}) {
    this.#server = server;
    this.userAgent = options.userAgent ?? defaultUserAgent;
  }

  get cookieName(): string {
    return this.#server.config.session.cookieName;
  }

  /** The raw value of the session cookie, as a thief would copy it. */
  get sessionCookie(): string | undefined {
    return this.#cookies.get(this.cookieName);
  }

  set sessionCookie(value: string | undefined) {
    if (value === undefined) this.#cookies.delete(this.cookieName);
    else this.#cookies.set(this.cookieName, value);
  }

  /** The session id inside the signed cookie value (s:<id>.<signature>). */
  get sessionId(): string | undefined {
    const value = this.sessionCookie;
    if (value === undefined) return undefined;
    const decoded = decodeURIComponent(value);
    return decoded.startsWith('s:') ? decoded.slice(2, decoded.lastIndexOf('.')) : undefined;
  }

  /** The id the sessions list and the database use for this client's session. */
  get hashedSessionId(): string | undefined {
    const id = this.sessionId;
    return id === undefined ? undefined : hashSessionId(id);
  }

  async request(path: string, options: { method?: string; headers?: Record<string, string | undefined>; body?: string } = {}): Promise<TestResponse> {
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const merged: Record<string, string | undefined> = { 'user-agent': this.userAgent, ...(cookie === '' ? {} : { cookie }), ...options.headers };
    const headers = Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const response = await this.#server.request(path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    this.#remember(response);
    return response;
  }

  #remember(response: TestResponse): void {
    const setCookies = response.headers['set-cookie'] ?? [];
    for (const line of setCookies) {
      const [pair = ''] = line.split(';', 1);
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    if (String(response.headers['content-type']).startsWith('text/html')) {
      const found = /name="_csrf" value="([^"]+)"/.exec(response.body);
      if (found?.[1] !== undefined) this.csrfToken = found[1];
    }
  }

  /** GET a page as a browser navigating to it would. */
  get(path: string, options: CallOptions = {}): Promise<TestResponse> {
    return this.request(path, { headers: { accept: 'text/html', 'sec-fetch-site': 'none', ...options.headers } });
  }

  /**
   * POST a form as this site's own page would: urlencoded, the page's token, and the headers a
   * browser sends for a same-origin form under Referrer-Policy: no-referrer (Origin: null).
   * `token: null` leaves the token out; a string replaces it.
   */
  submit(path: string, fields: Record<string, string>, options: CallOptions & { token?: string | null } = {}): Promise<TestResponse> {
    const token = options.token === undefined ? this.csrfToken : options.token;
    const body = new URLSearchParams({ ...(token === null || token === undefined ? {} : { _csrf: token }), ...fields }).toString();
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: 'null', 'sec-fetch-site': 'same-origin', ...options.headers },
      body,
    });
  }

  /** A JSON API call as this site's own script would make it (Origin: the site). */
  api(method: string, path: string, body?: unknown, options: JsonOptions = {}): Promise<TestResponse> {
    const origin = options.origin === undefined ? this.#server.config.publicOrigin : options.origin;
    const text = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    return this.request(`/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(origin === null ? {} : { origin }), ...options.headers },
      ...(text === undefined ? {} : { body: text }),
    });
  }

  /** Signs in through the sign-in page; throws unless it worked. */
  async signIn(email: string, password: string): Promise<TestResponse> {
    await this.get('/sign-in');
    const response = await this.submit('/sign-in', { email, password, return: '/account' });
    if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`);
    return response;
  }

  /** Signs in through the API; throws unless it worked. */
  async apiSignIn(email: string, password: string): Promise<TestResponse> {
    const response = await this.api('POST', '/auth/sign-in', { email, password });
    if (response.status !== 200) throw new Error(`API sign-in answered ${response.status}: ${response.body}`);
    return response;
  }
}

/** The error body every refusal has. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string; readonly fields?: Record<string, string> };
}

export function errorOf(response: TestResponse): ErrorBody['error'] {
  return (response.json() as ErrorBody).error;
}
