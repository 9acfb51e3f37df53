// src/web/pages/components.tsx
// Form pieces every page shares. Each input has a label, its hint and error tied to it with
// aria-describedby, and aria-invalid when the server refused it, so screen readers say why.

import type { ComponentChildren } from 'preact';
import { csrfFieldName } from '../../security/csrf.js';

/** The input kinds Field renders; one name for what Preact types as separate members. */
type InputType = 'text';

export type FieldErrors = Readonly<Record<string, string>>;

export interface FieldProps {
  readonly name: string;
  readonly label: string;
  readonly type?: 'text' | 'email' | 'password' | 'search';
  readonly autocomplete?: string;
  readonly value?: string;
  readonly hint?: string;
  readonly errors?: FieldErrors;
  readonly required?: boolean;
  readonly maxLength?: number;
  readonly minLength?: number;
  /** The id prefix, when one page has two forms with a field of the same name. */
  readonly form?: string;
}

export function Field({ name, label, type = 'text', autocomplete, value, hint, errors, required = true, maxLength, minLength, form }: FieldProps) {
  const id = form === undefined ? name : `${form}-${name}`;
  // eslint-disable-next-line security/detect-object-injection -- name is a field name from our own markup
  const error = errors?.[name];
  const described = [hint === undefined ? undefined : `${id}-hint`, error === undefined ? undefined : `${id}-error`].filter((part) => part !== undefined);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        // Preact types <input> per `type` value and tsc needs the cast; the linter's view of JSX differs.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
        type={type as InputType}
        autocomplete={autocomplete}
        value={type === 'password' ? undefined : value}
        required={required}
        maxlength={maxLength}
        minlength={minLength}
        aria-invalid={error === undefined ? undefined : 'true'}
        aria-describedby={described.length === 0 ? undefined : described.join(' ')}
      />
      {hint === undefined ? null : (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error === undefined ? null : (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function CsrfInput({ token }: { readonly token: string | undefined }) {
  return token === undefined ? null : <input type="hidden" name={csrfFieldName} value={token} />;
}

/** A form that posts to this site with the session's token; no script needed. */
export function PostForm({ action, token, children, class: className }: { readonly action: string; readonly token: string | undefined; readonly children: ComponentChildren; readonly class?: string }) {
  return (
    <form method="post" action={action} class={className}>
      <CsrfInput token={token} />
      {children}
    </form>
  );
}

/** The form-level error, announced first; field errors sit next to their fields. */
export function FormAlert({ message }: { readonly message: string | undefined }) {
  return message === undefined ? null : (
    <div class="alert" role="alert">
      {message}
    </div>
  );
}

/** A time shown as UTC text, with the machine-readable value for assistive tools. */
export function Time({ at }: { readonly at: number }) {
  const iso = new Date(at).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`}</time>;
}
