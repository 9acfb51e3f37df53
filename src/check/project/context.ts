// src/check/project/context.ts
// What every project check gets: the folder, its package.json, the file list (walked once), the
// options, and a cached reader.

import type { Finding, Practice } from '../finding.js';
import { readText } from './files.js';

export interface ProjectCheckOptions {
  /** --online: allows checks that need the network (npm audit). */
  readonly online: boolean;
  /** --eslint: runs the project's own ESLint (which executes its configuration). */
  readonly runEslint: boolean;
  /** Deadline for npm audit and ESLint, in milliseconds. */
  readonly toolTimeoutMs: number;
  /** The clock, for the end-of-life schedule (tests pin it). */
  readonly now?: Date;
}

export interface PackageJson {
  readonly name?: unknown;
  readonly engines?: { readonly node?: unknown };
  readonly dependencies?: Readonly<Record<string, unknown>>;
  readonly devDependencies?: Readonly<Record<string, unknown>>;
  readonly eslintConfig?: unknown;
}

export interface ProjectContext {
  /** Absolute path of the folder. */
  readonly root: string;
  readonly packageJson: PackageJson;
  readonly packageJsonText: string;
  /** Relative paths, forward slashes. */
  readonly files: readonly string[];
  readonly filesTruncated: boolean;
  readonly options: ProjectCheckOptions;
  read(relative: string): Promise<string | undefined>;
}

export interface ProjectCheckGroup {
  readonly name: string;
  /** The practice its findings mostly belong to (for a report of an internal error). */
  readonly practice: Practice;
  run(context: ProjectContext): Promise<Finding[]>;
}

export function createReader(root: string): (relative: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  return (relative) => {
    let text = cache.get(relative);
    if (text === undefined) {
      text = readText(root, relative);
      cache.set(relative, text);
    }
    return text;
  };
}

export function dependsOn(packageJson: PackageJson, name: string): boolean {
  const inMap = (map: Readonly<Record<string, unknown>> | undefined) => map !== undefined && Object.hasOwn(map, name);
  return inMap(packageJson.dependencies) || inMap(packageJson.devDependencies);
}

/** The basename of a relative path. */
export function baseName(relative: string): string {
  return relative.slice(relative.lastIndexOf('/') + 1);
}
