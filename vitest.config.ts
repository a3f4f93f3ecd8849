import { defineConfig } from 'vitest/config';

/**
 * Three layers, all run by `npm test`: unit tests next to the code (*.test.ts), integration
 * tests against the real Docker engine (*.int.test.ts) and browser tests in Chromium
 * (*.e2e.ts). The last two share one set of images and one mirror (tests/global-setup.ts)
 * and run one file at a time: two cores, and sandboxes are not free.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['server/**/*.test.ts', 'protocol/**/*.test.ts', 'lessons/**/*.test.ts', 'site/**/*.test.ts', 'tests/unit/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['server/**/*.int.test.ts', 'tests/**/*.int.test.ts', 'tests/**/*.e2e.ts'],
          globalSetup: ['tests/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
