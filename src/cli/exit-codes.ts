// src/cli/exit-codes.ts
// What `portcullis` exits with, so scripts and supervisors can tell failures apart.

export const ExitCode = {
  ok: 0,
  /** The command ran and failed (or, for `check`, found something at or above --fail-on). */
  failure: 1,
  /** The command line was wrong: unknown command or option, missing argument. */
  usage: 2,
  /** A setting is invalid or unsafe; the message names it and the fix (sysexits EX_CONFIG). */
  config: 78,
} as const;
