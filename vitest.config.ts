import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/s3.ts', 'test/setup/softhsm.ts', 'test/setup/chromium.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
