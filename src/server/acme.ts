// src/server/acme.ts
// Automatic certificates over ACME (Let's Encrypt). Placeholder: implemented in its own change.

import type { Logger } from '../observability/logger.js';
import type { Credentials } from './certificates.js';

export type AcmeTlsConfig = {
  readonly mode: 'acme';
  readonly certFile: string;
  readonly keyFile: string;
  readonly directoryUrl: string;
  readonly email: string | undefined;
  readonly caFile: string | undefined;
};

/** Answers HTTP-01 challenges on the plain-HTTP listener: token in, key authorisation out. */
export type ChallengeResponder = (token: string) => string | undefined;

export interface AcmeClient {
  readonly respondToChallenge: ChallengeResponder;
  /** Returns a valid certificate, ordering a new one when none is kept or it expires soon. */
  ensureCertificate(): Promise<Credentials>;
}

export function createAcmeClient(_tls: AcmeTlsConfig, _domain: string, _logger: Logger): AcmeClient {
  throw new Error('ACME certificates are not available in this build');
}
