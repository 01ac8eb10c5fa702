import { defineConfig } from 'vitest/config';

/**
 * Files named *.pg.test.ts need a real PostgreSQL server (several processes sharing one database), so they are
 * collected only when DATABASE_URL is set. CI runs the suite twice, on PGlite and on PostgreSQL, so they run there.
 */
const postgresOnly = 'test/**/*.pg.test.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: process.env.DATABASE_URL ? [] : [postgresOnly],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/fast-check-seed.ts'],
    pool: 'forks',
    // Two cores: two test files at a time. Each file gets its own database (a PGlite instance or a schema).
    maxWorkers: 2,
    // Generous last-resort deadlines: tests wait for events, not wall time, and must pass on a busy machine
    // (CI checks with a busy loop holding one core). A hang still fails, just later.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
