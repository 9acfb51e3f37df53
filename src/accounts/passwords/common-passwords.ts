// src/accounts/passwords/common-passwords.ts
// The shipped blocklist of common and breached passwords (resources/common-passwords.txt.gz, its
// sources in common-passwords.SOURCES.md), read once into a Set the first time it is needed.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** The file beside the package: dist/src/accounts/passwords/ is four levels below the root. */
export const defaultCommonPasswordsFile = fileURLToPath(new URL('../../../../resources/common-passwords.txt.gz', import.meta.url));

export interface CommonPasswords {
  /** True when the password, NFKC-normalised and lower-cased, is on the list. */
  has(password: string): Promise<boolean>;
  /** Loads the list now (at start) rather than on the first sign-up; resolves to its size. */
  load(): Promise<number>;
}

export function createCommonPasswords(file: string = defaultCommonPasswordsFile): CommonPasswords {
  let loading: Promise<Set<string>> | undefined;
  const load = (): Promise<Set<string>> => {
    loading ??= (async () => {
      // gunzip runs on the thread pool; only the split and the Set building use the main thread.
      // The path is the constant above or one the operator (or a test) passes in, never input.
      // eslint-disable-next-line security/detect-non-literal-fs-filename
      const text = (await gunzipAsync(await readFile(file))).toString('utf8');
      return new Set(text.split('\n').filter((entry) => entry !== ''));
    })();
    // A failed read is retried next time instead of being remembered.
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  };
  return {
    async has(password) {
      return (await load()).has(password.normalize('NFKC').toLowerCase());
    },
    async load() {
      return (await load()).size;
    },
  };
}
