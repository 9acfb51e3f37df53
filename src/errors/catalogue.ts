// src/errors/catalogue.ts
// Every error a client can see, in one place: a stable code, an HTTP status and a safe public message.
// Codes are never reused or renamed: clients and monitoring match on them.

export interface ErrorDefinition {
  readonly status: number;
  /** Shown to the user as is. Never contains input, internals or library names. */
  readonly message: string;
}

export const errorCatalogue = {
  BAD_REQUEST: { status: 400, message: 'The request could not be understood.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  BAD_ENCODING: { status: 400, message: 'The request address is not correctly encoded.' },
  VALIDATION_FAILED: { status: 400, message: 'Some fields are missing or not valid. Correct them and try again.' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in to continue.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  CSRF_REJECTED: { status: 403, message: 'This request did not come from this site. Reload the page and try again.' },
  NOT_FOUND: { status: 404, message: 'Nothing was found at this address.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This content type is not accepted here. Send JSON or a form.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests. Wait a moment and try again.' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side. Try again later.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable. Try again shortly.' },
  // Accounts (issue 3).
  INVALID_CREDENTIALS: { status: 401, message: 'The email address or password is not correct.' },
  PASSWORD_REJECTED: { status: 422, message: 'Choose a different password. The password field says why and how.' },
  TOKEN_INVALID: { status: 400, message: 'This link is not valid, has expired or was already used. Ask for a new one.' },
  EMAIL_TAKEN: { status: 409, message: 'An account with this email address already exists.' },
  // Accounts, web layer (issue 3).
  REAUTHENTICATION_REQUIRED: { status: 403, message: 'Confirm your password again to do this.' },
  EMAIL_NOT_VERIFIED: { status: 403, message: 'Confirm your email address first. Open the link we emailed you.' },
  // Multi-factor authentication (issue 4). One answer for a wrong, replayed or throttled code.
  MFA_CODE_INVALID: { status: 401, message: 'That code is not correct or was already used. Enter the newest code.' },
  SECOND_FACTOR_REQUIRED: { status: 403, message: 'Confirm with your second factor again to do this.' },
  MFA_ENROLMENT_REQUIRED: { status: 403, message: 'Set up two-step verification to continue.' },
  MFA_ALREADY_ENABLED: { status: 409, message: 'An authenticator app is already set up. Remove it first to set up another.' },
  MFA_LAST_METHOD: { status: 409, message: 'Your account must keep two-step verification. Add another method before removing this one.' },
  PASSKEY_REJECTED: { status: 401, message: 'The passkey could not be verified. Try again.' },
  PASSKEY_REGISTRATION_FAILED: { status: 400, message: 'The passkey could not be added. Try again, or use another authenticator.' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalogue;
