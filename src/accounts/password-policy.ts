// src/accounts/password-policy.ts
// Which passwords are accepted, per NIST 800-63B rev 4 and ASVS 6.2: long enough (15 code points
// by default), not absurdly long, no composition rules, not common or breached, not made of the
// user's own email, name or the site's name, and not easy to guess by zxcvbn's estimate. Every
// refusal says why and what to do instead, in plain words.

import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { codePointCount as codePoints } from './code-points.js';
import { createCommonPasswords, type CommonPasswords } from './passwords/common-passwords.js';
import { normalisePassword } from './passwords/hasher.js';
import { createPwnedChecker, type PwnedChecker } from './passwords/pwned.js';
import { createStrengthEstimator, type StrengthEstimator } from './passwords/strength.js';

export interface PolicyContext {
  readonly email?: string | undefined;
  readonly displayName?: string | null | undefined;
}

export type PolicyRule =
  | 'not_text'
  | 'too_short'
  | 'too_long'
  | 'control_characters'
  | 'contains_email'
  | 'contains_name'
  | 'contains_site_name'
  | 'common'
  | 'too_guessable'
  | 'breached';

export type PolicyVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly rule: PolicyRule;
      /** What is wrong, in plain words. */
      readonly reason: string;
      /** How to fix it, in plain words. */
      readonly fix: string;
    };

export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  check(password: unknown, context: PolicyContext): Promise<PolicyVerdict>;
  /**
   * Loads the blocklist and starts the strength worker now (about a second at start) rather
   * than during the first sign-up.
   */
  preload(): Promise<void>;
  close(): Promise<void>;
}

export interface PasswordPolicyDeps {
  readonly config: Pick<Config, 'passwords' | 'siteName'>;
  readonly logger: Logger;
  readonly commonPasswords?: CommonPasswords;
  readonly strength?: StrengthEstimator;
  readonly pwned?: PwnedChecker;
}

/** zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline slow-hash attacks". */
export const minimumStrengthScore = 3;

/** The reason and the fix as one message, for a form field or an API `fields.password`. */
export function describeRefusal(verdict: PolicyVerdict): string {
  return verdict.ok ? '' : `${verdict.reason} ${verdict.fix}`;
}

function refuse(rule: PolicyRule, reason: string, fix: string): PolicyVerdict {
  return { ok: false, rule, reason, fix };
}

/** Context words worth refusing: short ones ("al", "jo") would refuse far too much. */
function contextWords(context: PolicyContext): { email: string[]; name: string[] } {
  const email: string[] = [];
  const name: string[] = [];
  const address = context.email?.normalize('NFKC').toLowerCase().trim();
  if (address !== undefined && address !== '') {
    email.push(address);
    const local = address.split('@')[0] ?? '';
    if (codePoints(local) >= 3) email.push(local);
  }
  const displayName = context.displayName?.normalize('NFKC').toLowerCase().trim();
  if (displayName !== undefined && codePoints(displayName) >= 3) {
    name.push(displayName);
    // Each part of a longer name too ("ada" in "ada lovelace"), when it is long enough to matter.
    for (const part of displayName.split(/[\s.,_-]+/u)) if (codePoints(part) >= 4 && part !== displayName) name.push(part);
  }
  return { email, name };
}

export function createPasswordPolicy(deps: PasswordPolicyDeps): PasswordPolicy {
  const { passwords, siteName } = deps.config;
  const minLength = passwords.minLength;
  const maxLength = passwords.maxLength;
  const commonPasswords = deps.commonPasswords ?? createCommonPasswords();
  const strength = deps.strength ?? createStrengthEstimator();
  const pwned = passwords.hibp.enabled ? (deps.pwned ?? createPwnedChecker(passwords.hibp)) : undefined;
  const site = siteName.normalize('NFKC').toLowerCase();

  async function check(password: unknown, context: PolicyContext): Promise<PolicyVerdict> {
    if (typeof password !== 'string') return refuse('not_text', 'The password is missing.', 'Enter a password.');
    const normalised = normalisePassword(password);
    const length = codePoints(normalised);
    if (length < minLength) {
      return refuse(
        'too_short',
        `This password has ${length} ${length === 1 ? 'character' : 'characters'}; it needs at least ${minLength}.`,
        'Make it longer: a few unrelated words with spaces between them are easy to remember and hard to guess.',
      );
    }
    if (length > maxLength) {
      return refuse('too_long', `This password has more than ${maxLength} characters.`, `Use at most ${maxLength} characters.`);
    }
    if (/\p{Cc}/u.test(normalised)) {
      return refuse('control_characters', 'This password contains a control character such as a tab or a line break.', 'Use only characters you can type: letters, digits, spaces, punctuation and symbols.');
    }
    const lower = normalised.toLowerCase();
    const words = contextWords(context);
    if (words.email.some((word) => lower.includes(word))) {
      return refuse('contains_email', 'This password contains your email address or the part before the @.', 'Choose a password that does not include your email address.');
    }
    if (words.name.some((word) => lower.includes(word))) {
      return refuse('contains_name', 'This password contains your name.', 'Choose a password that does not include your name.');
    }
    if (codePoints(site) >= 3 && lower.includes(site)) {
      return refuse('contains_site_name', `This password contains the name of this site, ${siteName}.`, `Choose a password that does not include "${siteName}".`);
    }
    if (await commonPasswords.has(normalised)) {
      return refuse(
        'common',
        'This password is on a list of common and leaked passwords, which attackers try first.',
        'Choose one that is not: for example four or more unrelated words.',
      );
    }
    const userInputs = [...words.email, ...words.name, site];
    const estimate = await strength.estimate(normalised, userInputs);
    if (estimate.score < minimumStrengthScore) {
      const warning = estimate.warning === null || estimate.warning === '' ? 'This password would be easy to guess.' : `This password would be easy to guess: ${estimate.warning}`;
      const suggestion = estimate.suggestions[0];
      return refuse('too_guessable', warning, suggestion === undefined ? 'Add more unrelated words, or make it longer and less predictable.' : `${suggestion} Longer and less predictable is better.`);
    }
    if (pwned !== undefined) {
      const answer = await pwned.check(normalised);
      if (answer.status === 'found') {
        return refuse(
          'breached',
          'This password has appeared in a data breach, so attackers will try it.',
          'Choose a password you have never used anywhere else.',
        );
      }
      if (answer.status === 'unknown') deps.logger.warn({ reason: answer.reason }, 'breached-password check skipped: Have I Been Pwned could not be reached');
    }
    return { ok: true };
  }

  return {
    minLength,
    maxLength,
    check,
    async preload() {
      await Promise.all([commonPasswords.load(), strength.estimate('warm up the strength estimator', [])]);
    },
    close: () => strength.close(),
  };
}
