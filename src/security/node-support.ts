// src/security/node-support.ts
// Practice 2 (keep dependencies current) applied to the runtime itself: a Node.js major past its
// end of life gets no security fixes. The server warns at start; `portcullis check` reports it.
// Dates from the Node.js release schedule (github.com/nodejs/Release); update with each release.

export const nodeEndOfLife: ReadonlyMap<number, string> = new Map([
  [14, '2023-04-30'],
  [16, '2023-09-11'],
  [17, '2022-06-01'],
  [18, '2025-04-30'],
  [19, '2023-06-01'],
  [20, '2026-04-30'],
  [21, '2024-06-01'],
  [22, '2027-04-30'],
  [23, '2025-06-01'],
  [24, '2028-04-30'],
  [25, '2026-06-01'],
  [26, '2029-04-30'],
]);

export interface NodeSupportStatus {
  readonly major: number;
  readonly endOfLife: string | undefined;
  readonly pastEndOfLife: boolean;
}

export function nodeSupportStatus(major: number, today: Date = new Date()): NodeSupportStatus {
  const endOfLife = nodeEndOfLife.get(major);
  // Majors older than the table are long dead; newer ones are not yet scheduled, so still supported.
  const oldest = Math.min(...nodeEndOfLife.keys());
  const pastEndOfLife = endOfLife === undefined ? major < oldest : today.getTime() > Date.parse(`${endOfLife}T23:59:59Z`);
  return { major, endOfLife, pastEndOfLife };
}

export function currentNodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/** LTS codenames, as used in .nvmrc (`lts/iron`) and image tags (`node:iron`). */
export const nodeLtsCodenames: ReadonlyMap<string, number> = new Map([
  ['argon', 4],
  ['boron', 6],
  ['carbon', 8],
  ['dubnium', 10],
  ['erbium', 12],
  ['fermium', 14],
  ['gallium', 16],
  ['hydrogen', 18],
  ['iron', 20],
  ['jod', 22],
  ['krypton', 24],
]);
