// src/web/dependencies.ts
// What every route module receives from createApp(): one object, built once.

import type { Config } from '../config/config.js';
import type { SignInProtection } from '../security/brute-force.js';
import type { RequireAccess } from './access.js';
import type { AccountOperations, UserSessions } from './accounts-port.js';

export interface WebDependencies {
  readonly config: Config;
  readonly accounts: AccountOperations;
  readonly sessions: UserSessions;
  readonly requireAccess: RequireAccess;
  /** Unverified accounts see only the verification page. */
  readonly requireVerifiedEmail: boolean;
  /** The password rules in one sentence, shown under every new-password field. */
  readonly passwordHint: string;
  /** Sign-in through the brute-force throttle (and its hook for second-factor checks). */
  readonly signInProtection: SignInProtection;
}
