/**
 * bench/e2e's HTTP floor: the least an HTTP intake can do — an express app whose one handler reads the body and
 * INSERTs it (one statement, its own transaction) on the same kind of database, then answers 201. Run as its own
 * process, like the gateway: node --import tsx bench/e2e/floor-http.ts (DATABASE_URL, else an embedded database in
 * DATA_DIR). Prints `listening on http://…`.
 */
import express from 'express';
import { openDatabase } from '../../src/store/index.ts';

const db = await openDatabase(
  process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: process.env.DATA_DIR! },
);
await db.pool.query(
  'CREATE TABLE IF NOT EXISTS bench_http_floor (id bigserial PRIMARY KEY, body bytea NOT NULL, at timestamptz NOT NULL)',
);
const app = express();
app.post('/orders', express.raw({ type: () => true, limit: '5mb' }), async (req, res) => {
  await db.pool.query('INSERT INTO bench_http_floor (body, at) VALUES ($1, now())', [req.body]);
  res.status(201).json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  db.close().then(() => process.exit(0));
});
