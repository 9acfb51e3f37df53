// src/accounts/import-schema.ts
// The shape of `portcullis user import FILE.json`: a JSON array of users whose passwords are
// bcrypt hashes from another system. Validated whole before anything is written.

import { z } from 'zod';
import { normaliseEmail } from './email-address.js';
import { isImportableBcrypt } from './passwords/hash-format.js';

export const importedUserSchema = z.strictObject({
  email: z.string().max(1024).refine((email) => normaliseEmail(email) !== undefined, { error: 'Enter a valid email address, like name@example.com.' }),
  passwordHash: z.string().max(100).refine(isImportableBcrypt, { error: 'expected a bcrypt hash starting with $2a$, $2b$ or $2y$' }),
  displayName: z.string().max(400).nullable().optional(),
  role: z.enum(['user', 'admin']).optional(),
  emailVerified: z.boolean().optional(),
});

/** At most this many users in one file: one transaction, held in memory. */
export const maximumImportRows = 100_000;

export const importFileSchema = z.array(importedUserSchema).max(maximumImportRows);
