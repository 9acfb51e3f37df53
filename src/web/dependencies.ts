// src/web/dependencies.ts
// What every route module receives from createApp(): one object, built once.

import type { Config } from '../config/config.js';
import type { Request } from 'express';
import type { MfaService } from '../accounts/mfa/service.js';
import type { SignInProtection } from '../security/brute-force.js';
import type { RequireAccess } from './access.js';
import type { AccountOperations, UserSessions } from './accounts-port.js';
import type { PasskeyScripts } from './scripts.js';

export interface WebDependencies {
  readonly config: Config;
  readonly accounts: AccountOperations;
  readonly sessions: UserSessions;
  /** Second factors (issue 4): TOTP, recovery codes, passkeys. */
  readonly mfa: MfaService;
  /** The passkey scripts with their integrity hashes; undefined when passkeys are off here. */
  readonly passkeyScripts: PasskeyScripts | undefined;
  /**
   * Wraps every second-factor code check (the brute-force guard's per-account throttle plugs in
   * here); the domain's own limit of 5 wrong codes per 5 minutes applies either way.
   */
  readonly secondFactorGate?: SecondFactorGate | undefined;
  readonly requireAccess: RequireAccess;
  /** Unverified accounts see only the verification page. */
  readonly requireVerifiedEmail: boolean;
  /** The password rules in one sentence, shown under every new-password field. */
  readonly passwordHint: string;
  /** Sign-in through the brute-force throttle (and its hook for second-factor checks). */
  readonly signInProtection: SignInProtection;
}

/** Runs `verify` (a second-factor code check) if the throttle admits the attempt; false otherwise. */
export type SecondFactorGate = (req: Request, userId: string, verify: () => Promise<boolean>) => Promise<boolean>;
