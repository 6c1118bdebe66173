import type { Db } from './db.js';

/**
 * The two shapes of SQL a store runs, on the pool or on a transaction's connection: reads answer
 * rows of unknown values (each store converts its columns with {@link sqlColumn}), writes answer
 * the number of affected rows. It keeps the driver's result types out of the services' stores.
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

/** A unique-key violation (MySQL/MariaDB/TiDB 1062): someone else inserted it first. */
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

/**
 * Thrown by a `Db` instead of trying the database: its `<service>→tidb` breaker is open
 * (`DB_BREAKER_OPEN`), or the call outlasted the policy's timeout (`DB_TIMEOUT`). It is an
 * unreachable database like any other ({@link isDatabaseUnavailableError}), so services answer it
 * as they answer a refused connection: unavailable, retry later.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';

  constructor(
    readonly code: 'DB_BREAKER_OPEN' | 'DB_TIMEOUT',
    options: { cause: unknown },
  ) {
    super(
      code === 'DB_BREAKER_OPEN'
        ? 'the database breaker is open: not tried'
        : 'the database did not answer within the policy timeout',
      options,
    );
  }
}

/** Whether `error` says the database is unreachable (rather than that a statement is wrong). */
export function isDatabaseUnavailableError(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { code, fatal } = error as { code?: unknown; fatal?: unknown };
  return fatal === true || (typeof code === 'string' && unreachableCodes.has(code));
}

/** A text column ('' for NULL); numbers and binary text read as their text. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

/** Readers of column values as the pool answers them (BIGINT as decimal strings, DATETIME as Date). */
export const sqlColumn = {
  /** A BIGINT or INT column as a number (amounts stay far below 2^53). */
  num: (value: unknown): number => Number(value),
  text,
  /** A nullable text column. */
  textOrNull: (value: unknown): string | null => (value === null || value === undefined ? null : text(value)),
  /** A DATETIME column (a Date in UTC). */
  date: (value: unknown): Date => (value instanceof Date ? value : new Date(text(value))),
  /** A nullable DATETIME column. */
  dateOrNull: (value: unknown): Date | null => (value instanceof Date ? value : null),
  /** A binary column (empty for NULL). */
  bytes: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.alloc(0)),
  /** A nullable binary column. */
  bufferOrNull: (value: unknown): Buffer | null => (Buffer.isBuffer(value) ? value : null),
} as const;
