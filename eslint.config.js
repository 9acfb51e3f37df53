// eslint.config.js: practice 11 (security linters). typescript-eslint's strict type-checked rules,
// eslint-plugin-security's recommended rules, and promises that must be awaited or handled.
// `npm run lint` allows zero warnings.

import js from '@eslint/js';
import security from 'eslint-plugin-security';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', '.tools/', 'test-artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  security.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "TaggedTemplateExpression[tag.name='sql'] TemplateLiteral > TemplateElement[value.raw=/'/]",
          message: 'Pass values to sql`` as ${placeholders}; never quote them into the SQL text.',
        },
        {
          selector: "CallExpression[callee.property.name='raw'][callee.object.name='sql']",
          message: 'sql.raw() builds SQL from strings; use sql`` with placeholders or the query builder.',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // These modules touch files whose paths come from the operator's configuration (DATA_DIR,
    // certificate paths) or from the test's own temporary folders, never from a request.
    files: ['src/config/**', 'src/server/**', 'src/security/privileges.ts', 'src/cli/**', 'scripts/**', 'test/**'],
    rules: { 'security/detect-non-literal-fs-filename': 'off' },
  },
);
