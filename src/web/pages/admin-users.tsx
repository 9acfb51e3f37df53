// src/web/pages/admin-users.tsx
// The administrators' list of accounts: search, pages, and per account disable or enable, end
// every session, or send a reset link. Each action is its own small form (no script needed).

import type { PublicUser } from '../accounts-port.js';
import type { PageContext } from '../page-context.js';
import { PostForm, Time } from './components.js';
import { Layout } from './layout.js';

export interface AdminUsersPageProps {
  readonly context: PageContext;
  readonly users: readonly PublicUser[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly search: string;
  /** This list's own address, so each action comes back to the same page of results. */
  readonly here: string;
}

function pageLink(search: string, page: number): string {
  const query = new URLSearchParams();
  if (search !== '') query.set('q', search);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return text === '' ? '/admin/users' : `/admin/users?${text}`;
}

function Actions({ user, self, token, here }: { readonly user: PublicUser; readonly self: boolean; readonly token: string | undefined; readonly here: string }) {
  const who = user.email;
  return (
    <div class="row-actions">
      {self ? null : (
        <PostForm action={`/admin/users/${user.id}/${user.disabled ? 'enable' : 'disable'}`} token={token} class="inline-form">
          <input type="hidden" name="return" value={here} />
          <button type="submit" class={user.disabled ? 'secondary small' : 'danger small'} aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${who}`}>
            {user.disabled ? 'Enable' : 'Disable'}
          </button>
        </PostForm>
      )}
      <PostForm action={`/admin/users/${user.id}/end-sessions`} token={token} class="inline-form">
        <input type="hidden" name="return" value={here} />
        <button type="submit" class="secondary small" aria-label={`End every session of ${who}`}>
          End sessions
        </button>
      </PostForm>
      <PostForm action={`/admin/users/${user.id}/send-reset`} token={token} class="inline-form">
        <input type="hidden" name="return" value={here} />
        <button type="submit" class="secondary small" aria-label={`Send a password reset link to ${who}`}>
          Send reset link
        </button>
      </PostForm>
    </div>
  );
}

export function AdminUsersPage({ context, users, total, page, pageSize, search, here }: AdminUsersPageProps) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const selfId = context.user?.id;
  return (
    <Layout title="Users" siteName={context.siteName} context={context}>
      <h1>Users</h1>
      <form method="get" action="/admin/users" class="search-form" role="search">
        <div class="field">
          <label for="q">Search by email or name</label>
          <input id="q" name="q" type="search" value={search} maxlength={100} />
        </div>
        <div>
          <button type="submit">Search</button>
        </div>
      </form>
      <p class="muted" role="status">
        {total === 0 ? 'No accounts match.' : `${total} account${total === 1 ? '' : 's'}, page ${page} of ${pages}.`}
      </p>
      {users.length === 0 ? null : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <tr key={user.id}>
                  <td>
                    <div>{user.email}</div>
                    {user.displayName === null ? null : <div class="muted">{user.displayName}</div>}
                  </td>
                  <td>{user.role}</td>
                  <td>
                    {user.disabled ? <span class="badge danger">disabled</span> : <span class="badge ok">active</span>}{' '}
                    {user.emailVerified ? null : <span class="badge">unconfirmed</span>}
                  </td>
                  <td>
                    <Time at={user.createdAt} />
                  </td>
                  <td>
                    <Actions user={user} self={user.id === selfId} token={context.csrfToken} here={here} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pagination" aria-label="Pages">
        {page > 1 ? <a href={pageLink(search, page - 1)}>Previous page</a> : <span />}
        {page < pages ? <a href={pageLink(search, page + 1)}>Next page</a> : <span />}
      </nav>
    </Layout>
  );
}
