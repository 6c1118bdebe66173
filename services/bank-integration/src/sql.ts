import type { Db } from '@koban/platform';

/**
 * The two shapes of SQL this service runs, on the pool or on a transaction's connection: reads
 * answer rows of unknown values (each store converts its columns), writes answer the number of
 * affected rows. It keeps the driver's result types out of the stores.
 */

/** The connection `db.transaction` lends its function. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export type SqlValue = string | number | boolean | Date | Buffer | null;
export type Row = Readonly<Record<string, unknown>>;

export interface Sql {
  rows(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a write and answers its affected rows. */
  write(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

function affectedRows(result: unknown): number {
  const header = result as { affectedRows?: unknown } | null;
  return typeof header?.affectedRows === 'number' ? header.affectedRows : 0;
}

/** SQL on the pool: each statement on its own (autocommit). */
export function poolSql(db: Pick<Db, 'query'>): Sql {
  return {
    async rows(sql, params = []) {
      const rows = await db.query(sql, [...params]);
      return rows;
    },
    write: async (sql, params = []) => affectedRows(await db.query(sql, [...params])),
  };
}

/** SQL on a transaction's connection. */
export function txSql(conn: Tx): Sql {
  return {
    rows: async (sql, params = []) => (await conn.query(sql, [...params]))[0] as unknown as Row[],
    write: async (sql, params = []) => affectedRows((await conn.query(sql, [...params]))[0]),
  };
}

/** Whether an insert failed on a unique key (MySQL/TiDB 1062): someone else inserted it first. */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { errno?: unknown } | null)?.errno === 1062;
}

/** A BIGINT or INT column (BIGINT reads as a decimal string) as a number; money stays ≤ 10^7. */
export const num = (value: unknown): number => Number(value);
/** A text column ('' for NULL). */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}
/** A nullable text column. */
export const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value);
/** A binary column. */
export const bytes = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.alloc(0));
/** A DATETIME column (read as a Date in UTC). */
export const date = (value: unknown): Date => (value instanceof Date ? value : new Date(text(value)));
export const dateOrNull = (value: unknown): Date | null => (value instanceof Date ? value : null);

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
