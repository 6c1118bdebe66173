// What the stores need of mysql2, named through the platform's Db (the ledger reaches mysql2 only
// through @koban/platform).
import type { Db } from '@koban/platform';

/**
 * The pool ({@link poolStatements}) or a transaction's connection: either runs a statement and
 * answers mysql2's `[result, fields]`.
 */
export interface Sql {
  query(statement: string, values: unknown[]): Promise<[unknown, unknown]>;
}

/**
 * Statements on the pool, each on its own (autocommit), through the platform's `Db`: its
 * `ledger→tidb` policy and its write counters see them, which `db.pool` itself would bypass.
 */
export function poolStatements(db: Pick<Db, 'query'>): Sql {
  return { query: async (statement, values) => [await db.query(statement, values), undefined] };
}

/** Runs a SELECT and returns its rows typed as `Row` (the caller names the columns it selected). */
export async function selectRows<Row>(sql: Sql, statement: string, values: unknown[]): Promise<Row[]> {
  const [rows] = await sql.query(statement, values);
  return rows as Row[];
}

/** Runs a write and returns how many rows it changed. */
export async function execute(sql: Sql, statement: string, values: unknown[]): Promise<number> {
  const [result] = await sql.query(statement, values);
  const { affectedRows } = result as { affectedRows?: unknown };
  return typeof affectedRows === 'number' ? affectedRows : 0;
}

export { isDuplicateKeyError, isDatabaseUnavailableError } from '@koban/platform';
