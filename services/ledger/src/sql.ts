// What the stores need of mysql2, named through the platform's Db (the ledger reaches mysql2 only
// through @koban/platform).
import type { Db } from '@koban/platform';

/** A connection inside `Db.transaction`. */
export type TxConnection = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Rows of a SELECT, as mysql2 returns them: BIGINT as decimal strings, DATETIME as Date. */
export type Rows = Awaited<ReturnType<Db['query']>>;

/** The pool or a transaction's connection: either runs a statement. */
export type Sql = Pick<TxConnection, 'query'>;

/** Runs a SELECT and returns its rows typed as `Row` (the caller names the columns it selected). */
export async function selectRows<Row>(sql: Sql, statement: string, values: unknown[]): Promise<Row[]> {
  const [rows] = await sql.query<Rows>(statement, values);
  return rows as unknown as Row[];
}

/** Runs a write and returns how many rows it changed. */
export async function execute(sql: Sql, statement: string, values: unknown[]): Promise<number> {
  const [result] = await sql.query(statement, values);
  const { affectedRows } = result as { affectedRows?: unknown };
  return typeof affectedRows === 'number' ? affectedRows : 0;
}

export { isDuplicateKeyError, isDatabaseUnavailableError } from '@koban/platform';
