// src/web/pages/account.tsx
// The account page: profile, email, password, sessions, recent security activity and deletion.
// The sensitive forms appear only after a recent password confirmation; the server checks it again.

import type { AuditEvent, PublicUser } from '../accounts-port.js';
import { describeEvent } from '../activity.js';
import type { PageContext } from '../page-context.js';
import { Field, FormAlert, PostForm, Time, type FieldErrors } from './components.js';
import { Layout } from './layout.js';
import type { MfaStatus } from '../../accounts/mfa/service.js';
import { MfaSummary } from './mfa.js';

export interface SessionView {
  /** The hashed id: what the revoke form sends. */
  readonly id: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly ip: string | null;
  readonly client: string;
  readonly current: boolean;
}

export type AccountForm = 'profile' | 'email' | 'password' | 'delete';

export interface AccountPageProps {
  readonly context: PageContext;
  readonly user: PublicUser;
  readonly sessions: readonly SessionView[];
  readonly activity: readonly AuditEvent[];
  readonly fresh: boolean;
  readonly passwordHint: string;
  /** Two-step verification at a glance (recovery codes left included); absent on pages that do not show it. */
  readonly mfa?: MfaStatus | undefined;
  /** The form the server refused, with why, so it is shown next to that form. */
  readonly refused?: { readonly form: AccountForm; readonly errors?: FieldErrors; readonly message?: string };
}

function refusalFor(props: AccountPageProps, form: AccountForm) {
  return props.refused?.form === form ? props.refused : undefined;
}

function ProfileSection(props: AccountPageProps) {
  const refused = refusalFor(props, 'profile');
  return (
    <section class="card" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <FormAlert message={refused?.message} />
      <PostForm action="/account/profile" token={props.context.csrfToken}>
        <Field
          name="displayName"
          form="profile"
          label="Name"
          autocomplete="name"
          value={props.user.displayName ?? ''}
          errors={refused?.errors}
          required={false}
          maxLength={80}
          hint="Leave empty to be greeted by your email address."
        />
        <div>
          <button type="submit">Save name</button>
        </div>
      </PostForm>
    </section>
  );
}

function ConfirmFirst({ what }: { readonly what: string }) {
  return (
    <p>
      To {what}, first <a href="/reauthenticate">confirm your password</a>.
    </p>
  );
}

function EmailSection(props: AccountPageProps) {
  const refused = refusalFor(props, 'email');
  const { user } = props;
  return (
    <section class="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      <p>
        <strong>{user.email}</strong> <span class={user.emailVerified ? 'badge ok' : 'badge'}>{user.emailVerified ? 'confirmed' : 'not confirmed'}</span>
      </p>
      <FormAlert message={refused?.message} />
      {props.fresh ? (
        <PostForm action="/account/email" token={props.context.csrfToken}>
          <Field name="email" form="email" label="New email address" type="email" autocomplete="email" errors={refused?.errors} maxLength={254} hint="We will send a link to the new address; it takes over once you open it." />
          <div>
            <button type="submit">Change email address</button>
          </div>
        </PostForm>
      ) : (
        <ConfirmFirst what="change your email address" />
      )}
    </section>
  );
}

function PasswordSection(props: AccountPageProps) {
  const refused = refusalFor(props, 'password');
  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <p class="muted">
        Last changed <Time at={props.user.passwordChangedAt} />.
      </p>
      <FormAlert message={refused?.message} />
      {props.fresh ? (
        <PostForm action="/account/password" token={props.context.csrfToken}>
          <Field name="currentPassword" form="password" label="Current password" type="password" autocomplete="current-password" errors={refused?.errors} maxLength={1024} />
          <Field name="newPassword" form="password" label="New password" type="password" autocomplete="new-password" errors={refused?.errors} hint={props.passwordHint} maxLength={1024} />
          <p class="hint">Changing your password signs out every other device.</p>
          <div>
            <button type="submit">Change password</button>
          </div>
        </PostForm>
      ) : (
        <ConfirmFirst what="change your password" />
      )}
    </section>
  );
}

function SessionsSection(props: AccountPageProps) {
  const others = props.sessions.filter((session) => !session.current).length;
  return (
    <section class="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Where you are signed in</h2>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Your active sessions</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last activity</th>
              <th scope="col">
                <span class="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.sessions.map((session) => (
              <tr key={session.id} class={session.current ? 'current' : undefined}>
                <td>
                  {session.client}
                  {session.current ? <span class="badge ok">this device</span> : null}
                </td>
                <td>{session.ip ?? 'unknown'}</td>
                <td>
                  <Time at={session.createdAt} />
                </td>
                <td>
                  <Time at={session.lastSeenAt} />
                </td>
                <td>
                  {session.current ? null : (
                    <PostForm action={`/account/sessions/${session.id}/revoke`} token={props.context.csrfToken} class="inline-form">
                      <button type="submit" class="secondary small" aria-label={`Sign out ${session.client}, last active ${new Date(session.lastSeenAt).toISOString()}`}>
                        Sign out
                      </button>
                    </PostForm>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {others > 0 ? (
        <PostForm action="/account/sessions/revoke-others" token={props.context.csrfToken}>
          <div>
            <button type="submit" class="secondary">
              Sign out everywhere else
            </button>
          </div>
        </PostForm>
      ) : (
        <p class="muted">You are not signed in anywhere else.</p>
      )}
    </section>
  );
}

function ActivitySection({ activity }: AccountPageProps) {
  return (
    <section class="card" aria-labelledby="activity-heading">
      <h2 id="activity-heading">Recent security activity</h2>
      {activity.length === 0 ? (
        <p class="muted">Nothing yet.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {activity.map((event) => (
                <tr key={event.id} class={event.outcome === 'failure' ? 'failure' : undefined}>
                  <td>
                    <Time at={event.at} />
                  </td>
                  <td>{describeEvent(event)}</td>
                  <td>{event.ip ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeleteSection(props: AccountPageProps) {
  const refused = refusalFor(props, 'delete');
  return (
    <section class="card danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete your account</h2>
      <p>This removes your account and everything we keep about it. It cannot be undone.</p>
      <FormAlert message={refused?.message} />
      {props.fresh ? (
        <PostForm action="/account/delete" token={props.context.csrfToken}>
          <div class="checkbox">
            <input type="checkbox" id="delete-confirm" name="confirm" value="yes" required aria-describedby={refused?.errors?.confirm === undefined ? undefined : 'delete-confirm-error'} />
            <label for="delete-confirm">I understand that my account will be deleted for good.</label>
            {refused?.errors?.confirm === undefined ? null : (
              <p class="field-error" id="delete-confirm-error">
                {refused.errors.confirm}
              </p>
            )}
          </div>
          <div>
            <button type="submit" class="danger">
              Delete my account
            </button>
          </div>
        </PostForm>
      ) : (
        <ConfirmFirst what="delete your account" />
      )}
    </section>
  );
}

export function AccountPage(props: AccountPageProps) {
  const { context, user } = props;
  return (
    <Layout title="Your account" siteName={context.siteName} context={context}>
      <h1>Your account</h1>
      <p class="lead">Signed in as {user.displayName ?? user.email}.</p>
      <ProfileSection {...props} />
      <EmailSection {...props} />
      <PasswordSection {...props} />
      {props.mfa === undefined ? null : <MfaSummary status={props.mfa} />}
      <SessionsSection {...props} />
      <ActivitySection {...props} />
      <DeleteSection {...props} />
    </Layout>
  );
}
