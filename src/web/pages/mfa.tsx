// src/web/pages/mfa.tsx
// Two-step verification pages: the second-factor step (after a password, or to confirm a change),
// the settings page (authenticator app, passkeys, recovery codes), authenticator-app enrolment
// with its server-rendered QR code, and the one showing of new recovery codes. Everything but
// passkeys works without scripts; passkey buttons appear only where the browser supports them.

import type { MfaStatus, SecondFactorMethod } from '../../accounts/mfa/service.js';
import type { PageContext } from '../page-context.js';
import type { PasskeyScripts } from '../scripts.js';
import { FormAlert, PostForm, Time, type FieldErrors } from './components.js';
import { Layout } from './layout.js';

/** The passkey scripts, deferred, each with its Subresource Integrity hash. */
export function PasskeyScriptTags({ scripts }: { readonly scripts: PasskeyScripts }) {
  return (
    <>
      <script src={scripts.library.src} integrity={scripts.library.integrity} crossorigin="anonymous" defer />
      <script src={scripts.client.src} integrity={scripts.client.integrity} crossorigin="anonymous" defer />
    </>
  );
}

/** A passkey button, hidden until the script finds WebAuthn in the browser. */
export function PasskeyButton({ flow, label, returnTo, status, nameField, secondary = false }: { readonly flow: 'sign-in' | 'second-factor' | 'register'; readonly label: string; readonly returnTo?: string; readonly status: string; readonly nameField?: string; readonly secondary?: boolean }) {
  return (
    <button type="button" class={secondary ? 'secondary' : undefined} data-passkey={flow} data-return={returnTo} data-status={status} data-name-field={nameField} hidden>
      {label}
    </button>
  );
}

export function PasskeyStatus({ id }: { readonly id: string }) {
  // aria-live without role="status": the page's one status role stays the flash message.
  return <p id={id} class="passkey-status" aria-live="polite" />;
}

const codeHint = 'The 6-digit code your authenticator app shows now.';

function CodeField({ name, label, hint, errors, form, kind }: { readonly name: string; readonly label: string; readonly hint: string; readonly errors?: FieldErrors | undefined; readonly form: string; readonly kind: 'totp' | 'recovery' }) {
  const id = `${form}-${name}`;
  // eslint-disable-next-line security/detect-object-injection -- name is one of our own field names
  const error = errors?.[name];
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="text"
        class="code-input"
        autocomplete={kind === 'totp' ? 'one-time-code' : 'off'}
        inputmode={kind === 'totp' ? 'numeric' : 'text'}
        spellcheck={false}
        maxLength={kind === 'totp' ? 12 : 32}
        required
        aria-invalid={error === undefined ? undefined : 'true'}
        aria-describedby={`${id}-hint${error === undefined ? '' : ` ${id}-error`}`}
      />
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {error === undefined ? null : (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export interface SecondFactorPageProps {
  readonly context: PageContext;
  readonly methods: readonly SecondFactorMethod[];
  /** Signing in (after the password) or confirming a change while signed in. */
  readonly mode: 'sign-in' | 'step-up';
  readonly returnTo: string;
  readonly scripts: PasskeyScripts | undefined;
  readonly refused?: { readonly form: 'totp' | 'recovery'; readonly message: string; readonly errors?: FieldErrors };
}

export function SecondFactorPage({ context, methods, mode, returnTo, scripts, refused }: SecondFactorPageProps) {
  const totp = methods.includes('totp');
  const passkeyScripts = methods.includes('passkey') ? scripts : undefined;
  const passkey = passkeyScripts !== undefined;
  const recovery = methods.includes('recovery');
  const refusedFor = (form: 'totp' | 'recovery') => (refused?.form === form ? refused : undefined);
  return (
    <Layout title="Two-step verification" siteName={context.siteName} context={context}>
      <h1>Two-step verification</h1>
      <p class="lead">{mode === 'sign-in' ? 'Your password is correct. Now confirm it is you with your second factor.' : 'Confirm it is you with your second factor to change your two-step verification.'}</p>
      {totp ? (
        <section class="card" aria-labelledby="totp-heading">
          <h2 id="totp-heading">Authenticator app</h2>
          <FormAlert message={refusedFor('totp')?.message} />
          <PostForm action="/second-factor/totp" token={context.csrfToken}>
            <input type="hidden" name="return" value={returnTo} />
            <CodeField name="code" form="totp" kind="totp" label="Code" hint={codeHint} errors={refusedFor('totp')?.errors} />
            <div>
              <button type="submit">Verify</button>
            </div>
          </PostForm>
        </section>
      ) : null}
      {passkey ? (
        <section class="card" aria-labelledby="passkey-heading">
          <h2 id="passkey-heading">Passkey</h2>
          <p class="muted" data-passkey-note>
            Passkeys need a browser with scripts on.
          </p>
          <PasskeyButton flow="second-factor" label="Use a passkey" returnTo={returnTo} status="second-factor-status" secondary={totp} />
          <PasskeyStatus id="second-factor-status" />
        </section>
      ) : null}
      {recovery ? (
        <section class="card" aria-labelledby="recovery-heading">
          <h2 id="recovery-heading">Recovery code</h2>
          <details open={refusedFor('recovery') !== undefined || (!totp && !passkey)}>
            <summary>Use a recovery code instead</summary>
            <FormAlert message={refusedFor('recovery')?.message} />
            <PostForm action="/second-factor/recovery" token={context.csrfToken}>
              <input type="hidden" name="return" value={returnTo} />
              <CodeField name="code" form="recovery" kind="recovery" label="Recovery code" hint="One of the codes you saved, like ABCDE-FGHJK. Each works once." errors={refusedFor('recovery')?.errors} />
              <div>
                <button type="submit" class="secondary">
                  Use recovery code
                </button>
              </div>
            </PostForm>
          </details>
        </section>
      ) : null}
      <p>{mode === 'sign-in' ? <a href="/sign-in">Start again</a> : <a href="/account/mfa">Back to two-step verification</a>}</p>
      {passkeyScripts === undefined ? null : <PasskeyScriptTags scripts={passkeyScripts} />}
    </Layout>
  );
}

export interface MfaSettingsPageProps {
  readonly context: PageContext;
  readonly status: MfaStatus;
  readonly scripts: PasskeyScripts | undefined;
  /** The form the server refused, with why. */
  readonly refused?: { readonly form: string; readonly message: string; readonly errors?: FieldErrors };
}

function PasskeysSection({ context, status, scripts, refused }: MfaSettingsPageProps) {
  if (!status.passkeysAvailable || scripts === undefined) {
    return (
      <section class="card" aria-labelledby="passkeys-heading">
        <h2 id="passkeys-heading">Passkeys</h2>
        <p class="muted">Passkeys are not available at this address.</p>
      </section>
    );
  }
  return (
    <section class="card" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">Passkeys</h2>
      <p>A passkey signs you in with your fingerprint, face or device PIN, with or without your password. Add one for each device you use.</p>
      {status.passkeys.length === 0 ? (
        <p class="muted">No passkeys yet.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">Your passkeys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Added</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {status.passkeys.map((passkey) => (
                <tr key={passkey.id}>
                  <td>
                    {passkey.name}
                    {passkey.backedUp ? <span class="badge">synced</span> : null}
                  </td>
                  <td>
                    <Time at={passkey.createdAt} />
                  </td>
                  <td>{passkey.lastUsedAt === null ? 'never' : <Time at={passkey.lastUsedAt} />}</td>
                  <td>
                    <div class="row-actions">
                      <PostForm action={`/account/mfa/passkeys/${passkey.id}/rename`} token={context.csrfToken} class="rename-form">
                        <label class="visually-hidden" for={`rename-${passkey.id}`}>{`New name for ${passkey.name}`}</label>
                        <input id={`rename-${passkey.id}`} name="name" type="text" maxLength={64} required value={passkey.name} />
                        <button type="submit" class="secondary small">
                          Rename
                        </button>
                      </PostForm>
                      <PostForm action={`/account/mfa/passkeys/${passkey.id}/remove`} token={context.csrfToken}>
                        <button type="submit" class="secondary small" aria-label={`Remove ${passkey.name}`}>
                          Remove
                        </button>
                      </PostForm>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <FormAlert message={refused?.form === 'passkey' ? refused.message : undefined} />
      <p class="muted" data-passkey-note>
        Adding a passkey needs a browser with scripts on.
      </p>
      <div class="passkey-add" data-passkey-show hidden>
        <div class="field">
          <label for="passkey-name">Name for the new passkey</label>
          <input id="passkey-name" type="text" maxLength={64} autocomplete="off" aria-describedby="passkey-name-hint" />
          <p class="hint" id="passkey-name-hint">
            So you can tell your passkeys apart, for example “Work laptop”. Optional.
          </p>
        </div>
        <div>
          <PasskeyButton flow="register" label="Add a passkey" status="passkey-add-status" nameField="passkey-name" />
        </div>
        <PasskeyStatus id="passkey-add-status" />
      </div>
    </section>
  );
}

export function MfaSettingsPage(props: MfaSettingsPageProps) {
  const { context, status, refused } = props;
  return (
    <Layout title="Two-step verification" siteName={context.siteName} context={context}>
      <h1>Two-step verification</h1>
      <p class="lead">
        Two-step verification is <strong>{status.enabled ? 'on' : 'off'}</strong>.{' '}
        {status.enabled ? 'Signing in needs your password and a second factor, or a passkey alone.' : 'Add a second factor so a stolen password is not enough to get in.'}
      </p>
      {status.required && !status.enabled ? (
        <div class="alert" role="alert">
          Your account must use two-step verification. Set up an authenticator app{status.passkeysAvailable ? ' or a passkey' : ''} to continue.
        </div>
      ) : null}
      <section class="card" aria-labelledby="totp-heading">
        <h2 id="totp-heading">Authenticator app</h2>
        <FormAlert message={refused?.form === 'totp' ? refused.message : undefined} />
        {status.totp ? (
          <>
            <p>
              An authenticator app gives your codes. <span class="badge ok">on</span>
            </p>
            <PostForm action="/account/mfa/totp/remove" token={context.csrfToken}>
              <div>
                <button type="submit" class="secondary">
                  Remove authenticator app
                </button>
              </div>
            </PostForm>
          </>
        ) : (
          <>
            <p>Use an app such as 2FAS, Aegis, Google Authenticator or 1Password to get a new 6-digit code every 30 seconds.</p>
            {status.totpPending ? (
              <p>
                <a href="/account/mfa/totp">Continue setting up your authenticator app</a>
              </p>
            ) : null}
            <PostForm action="/account/mfa/totp" token={context.csrfToken}>
              <div>
                <button type="submit">{status.totpPending ? 'Start again with a new code' : 'Set up an authenticator app'}</button>
              </div>
            </PostForm>
          </>
        )}
      </section>
      <PasskeysSection {...props} />
      <section class="card" aria-labelledby="recovery-heading">
        <h2 id="recovery-heading">Recovery codes</h2>
        <FormAlert message={refused?.form === 'recovery' ? refused.message : undefined} />
        {status.enabled ? (
          <>
            <p>
              <strong id="recovery-codes-left">{`${status.recoveryCodesRemaining} of 10`}</strong> recovery codes left. Each gets you in once if you lose your second factor.
            </p>
            {status.recoveryCodesRemaining <= 3 ? <p class="alert">You are running out of recovery codes. Make a new set.</p> : null}
            <PostForm action="/account/mfa/recovery-codes" token={context.csrfToken}>
              <p class="hint">A new set replaces the old one: the codes you have now stop working.</p>
              <div>
                <button type="submit" class="secondary">
                  Make new recovery codes
                </button>
              </div>
            </PostForm>
          </>
        ) : (
          <p class="muted">You get ten recovery codes when you turn two-step verification on.</p>
        )}
      </section>
      <p>
        <a href="/account">Back to your account</a>
      </p>
      {props.scripts !== undefined && status.passkeysAvailable ? <PasskeyScriptTags scripts={props.scripts} /> : null}
    </Layout>
  );
}

export interface TotpSetupPageProps {
  readonly context: PageContext;
  readonly secret: string;
  /** The QR code as SVG markup made on the server by qrcode (checked to be nothing but an SVG of paths). */
  readonly qrSvg: string;
  readonly errors?: FieldErrors;
  readonly message?: string;
}

/** The seed in groups of four, as authenticator apps show it and people type it. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

export function TotpSetupPage({ context, secret, qrSvg, errors, message }: TotpSetupPageProps) {
  return (
    <Layout title="Set up an authenticator app" siteName={context.siteName} context={context}>
      <h1>Set up an authenticator app</h1>
      <FormAlert message={message} />
      <section class="card" aria-labelledby="scan-heading">
        <h2 id="scan-heading">1. Scan this code</h2>
        <p>Open your authenticator app, add an account and scan the QR code.</p>
        {/* Markup made on the server from our own otpauth URI; it contains only SVG paths. */}
        <div class="qr" role="img" aria-label="QR code with the setup key for your authenticator app" dangerouslySetInnerHTML={{ __html: qrSvg }} />
        <p>Cannot scan it? Type this setup key into the app instead (time-based, 6 digits, 30 seconds):</p>
        <p>
          <code id="totp-secret" class="secret">
            {grouped(secret)}
          </code>
        </p>
      </section>
      <section class="card" aria-labelledby="confirm-heading">
        <h2 id="confirm-heading">2. Enter the code the app shows</h2>
        <PostForm action="/account/mfa/totp/confirm" token={context.csrfToken}>
          <CodeField name="code" form="confirm" kind="totp" label="Code" hint={codeHint} errors={errors} />
          <div class="actions">
            <button type="submit">Turn on</button>
          </div>
        </PostForm>
      </section>
      <PostForm action="/account/mfa/totp/remove" token={context.csrfToken}>
        <div>
          <button type="submit" class="link-button">
            Cancel setup
          </button>
        </div>
      </PostForm>
    </Layout>
  );
}

export interface RecoveryCodesPageProps {
  readonly context: PageContext;
  /** The new codes, on their one showing; undefined when they were shown already. */
  readonly codes: readonly string[] | undefined;
}

export function RecoveryCodesPage({ context, codes }: RecoveryCodesPageProps) {
  return (
    <Layout title="Your recovery codes" siteName={context.siteName} context={context}>
      <h1>Your recovery codes</h1>
      {codes === undefined ? (
        <>
          <p class="lead">New recovery codes are shown only once, right after they are made.</p>
          <p>If you did not save them, make a new set from the two-step verification page: the old set stops working then.</p>
        </>
      ) : (
        <>
          <p class="lead">Save these ten codes somewhere safe, such as a password manager. Each one signs you in once if you lose your second factor.</p>
          <div class="alert" role="alert">
            This is the only time they are shown.
          </div>
          <ol class="recovery-codes" aria-label="Recovery codes">
            {codes.map((code) => (
              <li key={code}>
                <code>{code}</code>
              </li>
            ))}
          </ol>
          <PostForm action="/account/mfa/recovery-codes/download" token={context.csrfToken}>
            <div>
              <button type="submit" class="secondary">
                Download as a text file
              </button>
            </div>
          </PostForm>
          <p class="hint">The download works once, for the next ten minutes.</p>
        </>
      )}
      {codes === undefined ? (
        <p>
          <a href="/account/mfa">Back to two-step verification</a>
        </p>
      ) : (
        <PostForm action="/account/mfa/recovery-codes/saved" token={context.csrfToken}>
          <div>
            <button type="submit">I have saved my codes</button>
          </div>
        </PostForm>
      )}
    </Layout>
  );
}

/** The account page's summary of two-step verification. */
export function MfaSummary({ status }: { readonly status: MfaStatus }) {
  const factors = [status.totp ? 'an authenticator app' : undefined, status.passkeys.length === 0 ? undefined : status.passkeys.length === 1 ? 'a passkey' : `${status.passkeys.length} passkeys`].filter((part) => part !== undefined);
  return (
    <section class="card" aria-labelledby="mfa-heading">
      <h2 id="mfa-heading">Two-step verification</h2>
      <p>
        {status.enabled ? `On, with ${factors.join(' and ')}.` : 'Off.'}
        {status.enabled ? <span class="badge ok">on</span> : <span class="badge">off</span>}
      </p>
      {status.enabled ? (
        <p>
          <strong>{status.recoveryCodesRemaining}</strong> of 10 recovery codes left.
        </p>
      ) : null}
      <p>
        <a href="/account/mfa">{status.enabled ? 'Manage two-step verification' : 'Turn on two-step verification'}</a>
      </p>
    </section>
  );
}
