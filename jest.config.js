/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // jose (JWT verification) ships only ES modules; jest on Node 20 loads CommonJS, so it is transpiled.
    '^.+/node_modules/jose/.+\\.js$': [
      'ts-jest',
      { diagnostics: false, tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testTimeout: 120_000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // Real servers start in each file; a hung handle must not hold CI hostage.
  forceExit: true,
};
