/** Says once, at the top of the run, which real services the suites will use. */
export default function setup(): void {
  const database = process.env.DATABASE_URL
    ? `PostgreSQL (${process.env.DATABASE_URL.replace(/:[^:@/]*@/, ':***@')})`
    : 'embedded PGlite';
  console.log(
    `[pagw tests] database: ${database}; CI=${process.env.CI ?? 'unset'} (in CI a missing service fails its suite)`,
  );
}
