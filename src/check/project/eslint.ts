// src/check/project/eslint.ts
// Practice 11 (security linters): an ESLint configuration that enables eslint-plugin-security, and,
// on request (--eslint), what that plugin finds. Running ESLint runs the project's configuration
// file, which is code, so it never happens unless asked; it is bounded in time.

import path from 'node:path';
import type { Finding } from '../finding.js';
import { fail, notChecked, pass, type CheckDefinition } from '../finding.js';
import { dependsOn, type ProjectCheckGroup, type ProjectContext } from './context.js';
import { exists, runProcess } from './files.js';

export const eslintChecks = {
  configured: { practice: 11, id: 'eslint-security-plugin', title: 'ESLint runs eslint-plugin-security', severity: 'medium' },
  findings: { practice: 11, id: 'eslint-security-findings', title: 'eslint-plugin-security reports nothing', severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

export const eslintConfigFiles = [
  'eslint.config.js',
  'eslint.config.mjs',
  'eslint.config.cjs',
  'eslint.config.ts',
  'eslint.config.mts',
  'eslint.config.cts',
  '.eslintrc',
  '.eslintrc.js',
  '.eslintrc.cjs',
  '.eslintrc.json',
  '.eslintrc.yaml',
  '.eslintrc.yml',
];

/** How a configuration turns the plugin on: the flat config object, the legacy preset, or the plugin name. */
const pluginMention = /eslint-plugin-security|plugin:security\/|\bsecurity\.configs\b|plugins['"]?\s*:\s*\[[^\]]*['"]security['"]/;

async function configFinding(context: ProjectContext): Promise<{ finding: Finding; configured: boolean }> {
  const configs = eslintConfigFiles.filter((file) => context.files.includes(file));
  const inPackage = context.packageJson.eslintConfig !== undefined;
  const declared = dependsOn(context.packageJson, 'eslint-plugin-security');
  const fix = 'npm install --save-dev eslint eslint-plugin-security, add security.configs.recommended to eslint.config.js, and run eslint in CI with --max-warnings=0';
  if (configs.length === 0 && !inPackage) {
    return { finding: fail(eslintChecks.configured, 'no ESLint configuration (eslint.config.* or .eslintrc*, or eslintConfig in package.json)', fix, { locations: [{ file: 'package.json' }] }), configured: false };
  }
  const texts = await Promise.all(configs.map(async (file) => ({ file, text: (await context.read(file)) ?? '' })));
  if (inPackage) texts.push({ file: 'package.json', text: JSON.stringify(context.packageJson.eslintConfig) });
  const enabling = texts.filter(({ text }) => pluginMention.test(text));
  const names = texts.map(({ file }) => file).join(', ');
  if (enabling.length === 0) {
    return { finding: fail(eslintChecks.configured, `${names} does not enable eslint-plugin-security`, fix, { locations: texts.map(({ file }) => ({ file })) }), configured: false };
  }
  if (!declared) {
    return {
      finding: fail(eslintChecks.configured, `${enabling.map(({ file }) => file).join(', ')} names the security plugin, but package.json does not depend on eslint-plugin-security`, 'npm install --save-dev eslint-plugin-security', {
        locations: [{ file: 'package.json' }],
      }),
      configured: false,
    };
  }
  return { finding: pass(eslintChecks.configured, `${enabling.map(({ file }) => file).join(', ')} enables eslint-plugin-security (declared in package.json)`), configured: true };
}

interface EslintMessage {
  readonly ruleId?: unknown;
  readonly line?: unknown;
  readonly message?: unknown;
}

interface EslintFileResult {
  readonly filePath?: unknown;
  readonly messages?: readonly EslintMessage[];
}

/** The security/* messages in `eslint --format json` output. */
export function securityMessages(stdout: string, root: string): { file: string; line: number | undefined; rule: string; message: string }[] | undefined {
  let results: EslintFileResult[];
  try {
    results = JSON.parse(stdout) as EslintFileResult[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(results)) return undefined;
  return results.flatMap((result) =>
    (result.messages ?? [])
      .filter((message) => typeof message.ruleId === 'string' && message.ruleId.startsWith('security/'))
      .map((message) => ({
        file: typeof result.filePath === 'string' ? path.relative(root, result.filePath).split(path.sep).join('/') : '?',
        line: typeof message.line === 'number' ? message.line : undefined,
        rule: String(message.ruleId),
        message: typeof message.message === 'string' ? message.message : '',
      })),
  );
}

async function runFinding(context: ProjectContext, configured: boolean): Promise<Finding> {
  const bin = path.join('node_modules', 'eslint', 'bin', 'eslint.js');
  const installed = await exists(context.root, bin);
  if (!context.options.runEslint) {
    return notChecked(
      eslintChecks.findings,
      installed ? 'ESLint is installed but was not run: running it executes the project\'s own configuration' : 'ESLint is not installed in this folder (node_modules/eslint)',
      installed ? 'add --eslint to run it (bounded in time) and report what eslint-plugin-security finds' : 'npm ci, then add --eslint',
    );
  }
  if (!installed) return notChecked(eslintChecks.findings, 'ESLint is not installed in this folder (node_modules/eslint); run npm ci first');
  if (!configured) return notChecked(eslintChecks.findings, 'the security plugin is not enabled, so ESLint would report nothing from it');
  const result = await runProcess(process.execPath, [bin, '--format', 'json', '.'], { cwd: context.root, timeoutMs: context.options.toolTimeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.timedOut) return notChecked(eslintChecks.findings, `ESLint did not finish within ${context.options.toolTimeoutMs} ms`);
  const messages = securityMessages(result.stdout, context.root);
  if (messages === undefined || (result.exitCode !== 0 && result.exitCode !== 1)) {
    return notChecked(eslintChecks.findings, `ESLint failed (exit ${result.exitCode ?? 'none'}): ${(result.stderr.trim().split('\n')[0] ?? result.startError ?? '').slice(0, 200)}`);
  }
  if (messages.length === 0) return pass(eslintChecks.findings, 'eslint .: no security/* rule reported anything');
  const shown = messages.slice(0, 10);
  return fail(
    eslintChecks.findings,
    `${messages.length} report${messages.length === 1 ? '' : 's'}: ${shown.map((message) => `${message.file}:${message.line ?? '?'} ${message.rule}`).join(', ')}${messages.length > shown.length ? ', ...' : ''}`,
    'fix each report, or where the code is safe say why in an eslint-disable-next-line comment with a -- reason',
    { locations: shown.map((message) => ({ file: message.file, ...(message.line === undefined ? {} : { line: message.line }) })) },
  );
}

export const eslintGroup: ProjectCheckGroup = {
  name: 'eslint',
  practice: 11,
  async run(context) {
    const { finding, configured } = await configFinding(context);
    return [finding, await runFinding(context, configured)];
  },
};
