// src/config/config-error.ts
// A configuration problem found at start: one line per problem, naming the setting and the fix.

export interface ConfigProblem {
  readonly setting: string;
  readonly problem: string;
  readonly fix: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem({ setting, problem, fix }: ConfigProblem): string {
  return `${setting}: ${problem}. Fix: ${fix}.`;
}
