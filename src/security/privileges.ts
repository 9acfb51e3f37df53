// src/security/privileges.ts
// Practice 1 (run without root): after binding its ports, a process started as root hands the
// data directory to an unprivileged user, takes that user's uid, gid and groups, and proves it
// cannot become root again. The drop is synchronous on purpose: between the main listener's bind
// and setuid() the event loop never turns, so that listener accepts no connection while the process
// is root. (The redirect listener binds earlier, before the certificate is loaded; closing that
// window needs startServer to bind everything first and load certificates after.)

import { execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface UnprivilegedUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export class PrivilegeError extends Error {
  override name = 'PrivilegeError';
}

/** Looks a user up in /etc/passwd, then through NSS with `id` (LDAP and other directories). */
export function resolveUser(nameOrUid: string): UnprivilegedUser {
  const numeric = /^\d+$/.test(nameOrUid);
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === undefined || uid === undefined || gid === undefined) continue;
      if ((numeric && uid === nameOrUid) || (!numeric && name === nameOrUid)) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No readable /etc/passwd: fall through to NSS.
  }
  try {
    const uid = Number(execFileSync('id', ['-u', nameOrUid], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', nameOrUid], { encoding: 'utf8' }).trim());
    const name = execFileSync('id', ['-un', nameOrUid], { encoding: 'utf8' }).trim();
    return { name, uid, gid };
  } catch {
    throw new PrivilegeError(`the user "${nameOrUid}" does not exist on this machine`);
  }
}

/** Like resolveUser, but refuses root and the root group: the user to drop to. */
export function resolveUnprivilegedUser(nameOrUid: string): UnprivilegedUser {
  const user = resolveUser(nameOrUid);
  if (user.uid === 0 || user.gid === 0) throw new PrivilegeError(`"${nameOrUid}" is root or in the root group; choose an unprivileged user`);
  return user;
}

export interface UnreadablePath {
  /** The path the process needs and cannot read. */
  readonly path: string;
  /** What to make readable: the highest folder above it the process cannot pass through, or the path. */
  readonly blockedAt: string;
}

function permitted(target: string, mode: number): boolean {
  try {
    accessSync(target, mode);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Only a refusal counts: a path that is not there is not this check's business.
    return code !== 'EACCES' && code !== 'EPERM';
  }
}

/**
 * The first of the paths this process cannot read (folders: read and pass through), as it is now.
 * Run after dropping root: the server reads its assets and lazily loads code on requests, so a
 * tree only root can read must stop the start rather than fail every request.
 */
export function findUnreadable(paths: readonly string[]): UnreadablePath | undefined {
  for (const target of paths) {
    let mode = constants.R_OK;
    try {
      if (statSync(target).isDirectory()) mode |= constants.X_OK;
    } catch {
      // Not reachable: accessSync below fails the same way and says whether that is a refusal.
    }
    if (permitted(target, mode)) continue;
    const above: string[] = [];
    for (let folder = path.dirname(target); !above.includes(folder); folder = path.dirname(folder)) above.unshift(folder);
    return { path: target, blockedAt: above.find((folder) => !permitted(folder, constants.X_OK)) ?? target };
  }
  return undefined;
}

/** Gives a folder and everything in it to the user (not following symbolic links). */
export function chownTree(folder: string, uid: number, gid: number): void {
  const stats = lstatSync(folder);
  if (stats.isSymbolicLink()) return;
  chownSync(folder, uid, gid);
  if (!stats.isDirectory()) return;
  for (const entry of readdirSync(folder)) chownTree(path.join(folder, entry), uid, gid);
}

export interface ProcessIds {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
}

/** Real, effective, saved and filesystem ids as the kernel reports them (Linux). */
export function readProcessIds(pid: number | 'self' = 'self'): ProcessIds | undefined {
  try {
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    const ids = (line: RegExp) => (line.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
    return { uids: ids(/^Uid:\s+(.*)$/m), gids: ids(/^Gid:\s+(.*)$/m) };
  } catch {
    return undefined;
  }
}

/** process.initgroups exists on POSIX but is missing from some @types/node versions. */
type ProcessWithGroups = NodeJS.Process & { initgroups?: (user: string, extraGroup: number) => void };

export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * Drops from root to the user (a name, a uid, or one already resolved). Synchronous: see the top
 * of this file. Throws (and the caller must exit) if anything is left privileged.
 */
export function dropPrivileges(userOrName: string | UnprivilegedUser, ownedFolders: readonly string[]): UnprivilegedUser {
  const user = typeof userOrName === 'string' ? resolveUnprivilegedUser(userOrName) : userOrName;
  if (user.uid === 0 || user.gid === 0) throw new PrivilegeError(`"${user.name}" is root or in the root group; choose an unprivileged user`);
  for (const folder of ownedFolders) chownTree(folder, user.uid, user.gid);
  // Supplementary groups first (root's groups must go), then gid, then uid: the reverse would fail.
  (process as ProcessWithGroups).initgroups?.(user.name, user.gid);
  process.setgid?.(user.gid);
  process.setuid?.(user.uid);
  assertUnprivileged();
  return user;
}

export function assertUnprivileged(): void {
  const ids = readProcessIds();
  if (ids !== undefined && [...ids.uids, ...ids.gids].some((id) => id === 0)) {
    throw new PrivilegeError('a root id is still held after dropping privileges');
  }
  if (process.getgroups?.().includes(0) === true) throw new PrivilegeError('the root group is still a supplementary group');
  let regained = false;
  try {
    process.setuid?.(0);
    regained = true;
  } catch {
    // Expected: an unprivileged process cannot become root again.
  }
  if (regained) throw new PrivilegeError('the process could become root again after dropping privileges');
}
