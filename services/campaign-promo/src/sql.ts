import type { Db } from '@koban/platform';

/**
 * The two shapes of SQL this service runs, on the pool or on a transaction's connection: reads
 * answer rows of unknown values (each store converts its columns), writes answer the number of
 * affected rows. It keeps the driver's result types (mysql2, a platform dependency) out of the
 * stores.
 */

/** The connection `db.transaction` lends its function. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export type SqlValue = string | number | bigint | boolean | Date | Buffer | null;
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

/** A unique-key violation (MySQL/MariaDB/TiDB 1062). */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  return code === 'ER_DUP_ENTRY' || errno === 1062;
}

/** A BIGINT or INT column (the pool answers BIGINT as a decimal string) as a number. */
export const num = (value: unknown): number => Number(value);
/** A text column ('' for NULL); numbers and binary text read as their text. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}
/** A nullable text column. */
export const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value);
/** A nullable DATETIME column (the pool answers Date objects in UTC). */
export const dateOrNull = (value: unknown): Date | null => (value instanceof Date ? value : null);
export const date = (value: unknown): Date => (value instanceof Date ? value : new Date(text(value)));
/** A BLOB column. */
export const bufferOrNull = (value: unknown): Buffer | null => (Buffer.isBuffer(value) ? value : null);

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
