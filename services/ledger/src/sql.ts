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

/** A unique-key violation (MySQL/MariaDB/TiDB 1062). */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  return code === 'ER_DUP_ENTRY' || errno === 1062;
}

// Driver codes of a database that cannot be reached or dropped the connection: the caller may
// retry later, unlike a bug in a statement.
const unreachableCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
]);

/** Whether `error` says the database is unreachable (rather than that a statement is wrong). */
export function isDatabaseUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, fatal } = error as { code?: unknown; fatal?: unknown };
  return fatal === true || (typeof code === 'string' && unreachableCodes.has(code));
}
