/**
 * Several writes as one statement, one round trip (issue #17): each becomes a CTE of
 * `WITH w1 AS (…), w2 AS (…) SELECT 1`. On its own (outside a transaction) the whole is atomic, like a transaction.
 *
 * The writes run against one snapshot and do not see each other's rows, so this is only for writes nobody reads
 * back in the same statement, to different rows: a step's own timer deleted, its next one inserted, its audit rows
 * appended. Rows one INSERT writes keep their order; the order between two CTEs is not defined, so never put two
 * writes to one table whose relative order matters in different CTEs.
 */
import { maxParameters } from './bulk-insert.ts';
import { queryMaybeLast, type Sql } from './sql.ts';

/** A statement and its parameters, numbered from $1. */
export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** `text` with its parameters $1, $2 … moved up by `offset` ($1 becomes $<offset + 1>), to follow another's. */
export function renumberParameters(text: string, offset: number): string {
  // Our statements are built in code: a `$` followed by digits is always a parameter, never inside a literal.
  return text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/** The statements as one (or none, for an empty list). Their parameters are renumbered to follow one another. */
export function together(statements: readonly Statement[]): Statement | undefined {
  if (statements.length <= 1) return statements[0];
  const values: unknown[] = [];
  const parts = statements.map((statement, i) => {
    const offset = values.length;
    values.push(...statement.values);
    return `w${i + 1} AS (${renumberParameters(statement.text, offset)})`;
  });
  return { text: `WITH ${parts.join(', ')} SELECT 1`, values };
}

/**
 * Runs the statements as one; nothing is sent for an empty list. `thenCommit`: they are the last writes of the
 * transaction `sql` is in, and its COMMIT goes with them (queryThenCommit); nothing may run in it after them.
 */
export async function runTogether(
  sql: Sql,
  statements: readonly Statement[],
  options: { thenCommit?: boolean } = {},
): Promise<void> {
  const statement = together(statements);
  if (statement) await queryMaybeLast(sql, statement.text, [...statement.values], options);
}

/**
 * A transaction's last writes, with its COMMIT behind them: as one statement when their parameters fit one
 * (runTogether), else one after another in the order given, the COMMIT with the last. Nothing may run in the
 * transaction after them.
 */
export async function runLastWrites(sql: Sql, statements: readonly Statement[]): Promise<void> {
  const parameters = statements.reduce((n, statement) => n + statement.values.length, 0);
  if (parameters <= maxParameters) {
    await runTogether(sql, statements, { thenCommit: true });
    return;
  }
  for (const [i, statement] of statements.entries())
    await queryMaybeLast(sql, statement.text, [...statement.values], {
      thenCommit: i === statements.length - 1,
    });
}
