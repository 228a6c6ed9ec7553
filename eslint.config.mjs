import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'test/fixtures/**', 'deploy/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Packages are imported by name (their index), never by a path into their sources or build: the
    // full layering check (upward imports, cycles) is test/src/architecture/layering.test.ts.
    files: ['{libs,apps}/*/src/**/*.{ts,tsx}', '{test,bench,chaos}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@plugin-server/[^/]+/.+',
              message: "import the package's index (@plugin-server/<name>); what it does not export is internal (CONTRIBUTING.md, Layers)",
            },
          ],
        },
      ],
    },
  },
  {
    // The admin UI runs in the browser on Preact: React and Node modules would only fail at build or run time.
    files: ['libs/admin-ui/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['react', 'react-dom', 'react/*', 'react-dom/*'], message: 'import from preact (preact/hooks, preact/compat) instead' },
            { group: ['node:*'], message: 'browser code cannot use Node modules' },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', __dirname: 'readonly', __filename: 'readonly' } },
  },
)
