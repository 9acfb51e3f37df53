// src/accounts/code-points.ts
// Length in Unicode code points: the unit NIST counts passwords in (not UTF-16 code units, so an
// emoji is one character, not two).

export function codePointCount(value: string): number {
  let count = 0;
  // Iterating a string yields code points.
  for (const _ of value) count += 1;
  return count;
}
