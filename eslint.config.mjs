// Flat config. The rule that shapes the architecture: only the thin VS Code layer
// (extension/ minus extension/core/) may import `vscode`; everything else runs in plain Node
// (or, for webview/, in the browser) so it can be tested against real peers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const noVscode = {
  'no-restricted-imports': ['error', {
    paths: [{ name: 'vscode', message: 'This folder must run without VS Code: move the VS Code part into extension/ (outside extension/core/).' }],
  }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'artifacts/**', '**/*.js', '**/*.cjs', 'cluster/samples/**', 'agent/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['common/**', 'extension/core/**', 'dataplane/**', 'debug-adapter/**', 'cluster/**', 'webview/**', 'bench/**', 'test/unit/**', 'test/integration/**', 'scripts/**', 'tunnel-agent/**'],
    rules: noVscode,
  },
  {
    files: ['webview/**/*.ts'],
    ignores: ['webview/protocol/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
