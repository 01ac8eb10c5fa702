/**
 * Multi-row INSERTs in chunks. One statement per row costs a round trip each (on the embedded database, about
 * a millisecond apiece while the only connection is held); one statement for everything can pass PostgreSQL's
 * limit of 65,535 bind parameters per statement. Chunks of at most `maxParameters` parameters do neither.
 */
import type { Tx } from './sql.ts';

/** Well under PostgreSQL's 65,535 bind parameters per statement. */
export const maxParameters = 30_000;

/**
 * `INSERT INTO <table> (<columns>) VALUES (…), (…) <suffix>` for `rows` (each with one value per column), in
 * as few statements as the parameter limit allows, in order. Returns the rows of each statement's RETURNING.
 */
export async function insertRows<R extends Record<string, unknown> = Record<string, unknown>>(
  tx: Pick<Tx, 'query'>,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  suffix = '',
): Promise<R[]> {
  const returned: R[] = [];
  const perStatement = rowsPerStatement(columns);
  for (let start = 0; start < rows.length; start += perStatement) {
    const { text, values } = insertStatement(table, columns, rows.slice(start, start + perStatement));
    const result = await tx.query<R>(`${text} ${suffix}`, values);
    returned.push(...result.rows);
  }
  return returned;
}

/** How many rows of `columns` one statement may insert. */
export function rowsPerStatement(columns: readonly string[]): number {
  return Math.max(1, Math.floor(maxParameters / columns.length));
}

/**
 * One `INSERT INTO <table> (<columns>) VALUES (…), (…)` for `rows`, its parameters numbered from $1: for a caller
 * that folds it into a larger statement (a CTE) to save a round trip. At most rowsPerStatement(columns) rows.
 */
export function insertStatement(
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    if (row.length !== columns.length)
      throw new Error(`insertRows(${table}): a row has ${row.length} values`);
    const first = values.length;
    values.push(...row);
    return `(${row.map((_, i) => `$${first + i + 1}`).join(', ')})`;
  });
  return { text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values };
}
