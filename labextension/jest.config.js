/** Jest: unit tests of the frontend model and request layer (ts-jest, no browser). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  moduleNameMapper: {
    '^@jupyterlab/translation$': '<rootDir>/src/__tests__/stubs/translation.ts'
  },
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
