// src/check/csp.ts
// Content-Security-Policy parsing exactly as the MDN HTTP Observatory does it, so the header check
// and the Observatory score read a policy the same way. A port of mdn/mdn-http-observatory
// src/analyzer/cspParser.js (v1.4.8, algorithm version 4): directive names lower-cased, sources
// lower-cased, an empty *-src list means 'none', a repeated directive makes the policy invalid
// (except report-uri/report-to), and several policies combine into what all of them allow.

const compareString = new Intl.Collator('en').compare;

/** "img-src".length - 1: anything shorter cannot be a policy (cspParser.js SHORTEST_DIRECTIVE_LENGTH). */
const shortestPolicyLength = 'img-src'.length - 1;
const directivesDisallowedInMeta = ['frame-ancestors', 'report-uri', 'sandbox'];
const allowedDuplicateKeys = new Set(['report-uri', 'report-to']);
/** The key the Observatory stores duplicate report-uri/report-to warnings under. */
export const duplicateWarningsKey = '_observatory_duplicate_key_warnings';

export type ParsedCsp = Map<string, Set<string>>;

export class CspParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CspParseError';
  }
}

interface Source {
  readonly source: string;
  readonly index: number;
  keep: boolean;
}

function pathPartMatch(pathA: string, pathB: string): boolean {
  if (pathA.length === 0) return true;
  if (pathA === '/' && pathB.length === 0) return true;
  const exactMatch = !pathA.endsWith('/');
  const pathListA = pathA.split('/');
  const pathListB = pathB.split('/');
  if (pathListA.length > pathListB.length) return false;
  if (exactMatch && pathListA.length !== pathListB.length) return false;
  if (!exactMatch) pathListA.pop();
  for (const [index, pieceA] of pathListA.entries()) {
    // A malformed escape makes the Observatory's parser throw, and the policy count as invalid.
    let same: boolean;
    try {
      same = decodeURIComponent(pieceA) === decodeURIComponent(pathListB.at(index) ?? '');
    } catch {
      throw new CspParseError(`Malformed source ${pieceA}`);
    }
    if (!same) return false;
  }
  return true;
}

/** Parses one or more policies (each a header value). Throws CspParseError where the Observatory does. */
export function parseCsp(cspList: readonly string[]): ParsedCsp {
  const cleanCspList = cspList.map((cspString) => cspString.replaceAll(/[\r\n]/g, '').trim());
  if (cleanCspList.length === 0) return new Map();
  for (const cspString of cleanCspList) {
    if (cspString.length < shortestPolicyLength) throw new CspParseError(`Invalid policy: ${cspString}`);
  }

  const csp = new Map<string, Source[]>();
  const duplicateWarnings = new Set<string>();

  for (const [policyIndex, policy] of cleanCspList.entries()) {
    const directiveSeenBeforeThisPolicy = new Set<string>();
    for (const [directiveEntry, ...valueEntries] of policy.split(';').map((entry) => entry.trim().split(/\s+/))) {
      if (directiveEntry === undefined || directiveEntry === '') continue;
      const directive = directiveEntry.toLowerCase();
      if (directiveSeenBeforeThisPolicy.has(directive)) {
        if (allowedDuplicateKeys.has(directive)) duplicateWarnings.add(directive);
        else throw new CspParseError(`Duplicate directive ${directive} in policy ${policyIndex}`);
      } else {
        directiveSeenBeforeThisPolicy.add(directive);
      }

      const values: Source[] = [];
      const keep = policyIndex === 0;
      if (valueEntries.length > 0) {
        values.push(...valueEntries.map((rawSource) => ({ source: rawSource.trim().toLocaleLowerCase(), index: policyIndex, keep })));
      } else if (directive.endsWith('-src')) {
        values.push({ source: "'none'", index: policyIndex, keep });
      }
      const combinedSources = policyIndex === 0 ? [...values] : [...(csp.get(directive) ?? []), ...values];
      combinedSources.sort((a, b) => compareString(a.source, b.source));

      for (let index = 1; index < combinedSources.length; index++) {
        const source = combinedSources.at(index);
        const previous = combinedSources.at(index - 1);
        if (source === undefined || previous === undefined) continue;
        // Same policy, and one source is a prefix of the other: the longer one adds nothing.
        if (source.index === previous.index && source.source.startsWith(previous.source)) source.keep = false;
        // A source has to be allowed by both policies to count.
        if (source.index !== previous.index && pathPartMatch(previous.source, source.source)) source.keep = true;
      }
      csp.set(
        directive,
        combinedSources.filter((source) => source.keep),
      );
      if (policyIndex === 0 && cspList.length > 1) {
        for (const source of csp.get(directive) ?? []) source.keep = false;
      }
    }
  }

  const finalCsp: ParsedCsp = new Map(
    [...csp.entries()].map(([directive, sources]) => [directive, sources.length > 0 ? new Set(sources.map((source) => source.source)) : new Set(["'none'"])]),
  );
  if (duplicateWarnings.size > 0) finalCsp.set(duplicateWarningsKey, duplicateWarnings);
  return finalCsp;
}

/** A policy from <meta http-equiv>, without the directives browsers ignore there. */
export function parseCspMeta(cspList: readonly string[]): ParsedCsp {
  const parsed = parseCsp(cspList);
  for (const directive of directivesDisallowedInMeta) parsed.delete(directive);
  return parsed;
}
