// Lint rules for every TypeScript and JavaScript file in the repository (`npm run lint`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/build/**', '**/labext/**', '**/lib/**', 'native/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Experiments and benchmarks use the library as users do (docs/ARCHITECTURE.md): through the package.
    files: ['experiments/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/src', '**/src/**'], message: "import from 'milkit', the public API, not from src/" },
          ],
        },
      ],
    },
  },
  {
    // The browser bundle runs only the pure part of the library.
    files: ['jupyterlab-plugin/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'milkit', message: "the JupyterLab extension may import only 'milkit/core'" }] },
      ],
    },
  },
  {
    // Plain JavaScript: Node scripts and the browser-test harness (code that also runs inside the page).
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.mocha } },
  },
  {
    files: ['**/*.cjs', 'bin/**/*.js', 'test/helpers/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
