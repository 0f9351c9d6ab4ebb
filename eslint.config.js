// The habits the code keeps (issue #13): promises are never left floating or passed where a
// callback's result is ignored, type-only imports say so, only transport/ speaks uWebSockets.js,
// and only the entry point and the CLIs touch the process.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'client/demo/**/*.js', 'test-artifacts/**', 'loadtest/results/**'] },
  {
    files: ['gateway/**/*.ts', 'client/src/**/*.ts', 'loadtest/src/**/*.ts', 'charts/test/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // The SDK's tests are type-checked by their own tsconfig.
    files: ['client/src/**/*.test.ts', 'client/src/testing/**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: ['client/tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['gateway/src/**/*.ts'],
    ignores: ['gateway/src/transport/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'uWebSockets.js', message: 'only gateway/src/transport/ may import uWebSockets.js' }] }],
    },
  },
  {
    files: ['gateway/src/**/*.ts'],
    ignores: ['gateway/src/main.ts', 'gateway/src/tools/**', 'gateway/src/**/*.test.ts', 'gateway/src/**/*.case.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'only gateway/src/main.ts and the CLIs (tools/) touch the process' }],
    },
  },
);
