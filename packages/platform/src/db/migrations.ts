import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Db } from './db.js';

/** Settings for {@link runMigrations}. */
export interface RunMigrationsSettings {
  /** The service's pool; migrations apply to its schema. */
  db: Db;
  /** Directory of `NNNN_name.sql` files, applied in lexical order of file name. */
  dir: string;
  logger: Logger;
  /** How long to wait for another replica's runner to finish, in seconds (default 60). */
  lockTimeoutSeconds?: number;
}

/** What a run did. */
export interface MigrationRunResult {
  /** File names applied by this run, in order; empty when the schema was already current. */
  applied: string[];
}

/**
 * A migration that cannot be applied: an applied file whose content changed, or a statement that
 * failed. `file` names the migration; a failed statement's driver error is the `cause`.
 */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly file: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

interface MigrationFile {
  file: string;
  sql: string;
  checksum: string;
}

const defaultLockTimeoutSeconds = 60;
/** MySQL, MariaDB and TiDB all refuse user-lock names longer than this. */
const maxLockNameLength = 64;

/**
 * Splits a migration file into statements. The rule is deliberately simple: a statement ends at
 * a `;` that is the last non-blank character of a line, and lines starting with `--` or `#` are
 * comments and dropped. So a migration must not end a line with `;` inside a string literal or a
 * block comment. There is no `DELIMITER`: migrations hold no procedures or triggers (TiDB has
 * none). Text after the last `;` is a final statement.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    const statement = current.join('\n').trim().replace(/;$/, '').trim();
    if (statement.length > 0) statements.push(statement);
    current = [];
  };
  for (const line of sql.split(/\r\n|\n|\r/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('--') || trimmed.startsWith('#')) continue;
    current.push(line);
    if (trimmed.endsWith(';')) flush();
  }
  flush();
  return statements;
}

/**
 * SHA-256 of a migration's text with line endings normalised, so that a checkout with CRLF line
 * endings does not look like an edited migration.
 */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n?/g, '\n'), 'utf8').digest('hex');
}

/**
 * Brings the service's schema up to date with the `.sql` files in `dir`, each applied once and
 * recorded in `schema_migrations`. Several replicas may start at once: runners serialise on the
 * user lock `<schema>.migrations` (`GET_LOCK`) and re-read what is applied once they hold it, so
 * a migration is never applied twice. An applied file whose content changed is a MigrationError
 * naming the file, raised before anything new is applied.
 *
 * DDL commits implicitly in MySQL and TiDB, so a migration cannot be applied and recorded
 * atomically: its statements run first, then its row is written. A statement that fails leaves
 * the earlier statements of that file applied and the file unrecorded; the MigrationError says
 * which statement failed and how many went before, and the schema must be repaired (or the file
 * made idempotent) before the next start. Prefer one DDL statement per migration file.
 */
export async function runMigrations(settings: RunMigrationsSettings): Promise<MigrationRunResult> {
  const logger = settings.logger.child({ component: 'migrations' });
  const migrations = await readMigrations(settings.dir);
  const lockTimeoutSeconds = settings.lockTimeoutSeconds ?? defaultLockTimeoutSeconds;

  // User locks belong to the session, so the lock and every statement stay on one connection.
  const conn = await settings.db.pool.getConnection();
  let reusable = true;
  try {
    const schema = await currentSchema(conn);
    const lockName = migrationLockName(schema);
    const [lockRows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS acquired', [
      lockName,
      lockTimeoutSeconds,
    ]);
    // GET_LOCK answers a BIGINT, which the pool returns as a string.
    if (Number(lockRows[0]?.['acquired']) !== 1) {
      throw new Error(
        `could not take the migration lock ${lockName} within ${lockTimeoutSeconds}s: another runner holds it`,
      );
    }
    try {
      return { applied: await applyPending(conn, migrations, logger) };
    } finally {
      try {
        await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
      } catch (err) {
        // Destroying the session releases its locks on the server too.
        reusable = false;
        logger.warn({ err, lockName }, 'could not release the migration lock; closing the connection');
      }
    }
  } finally {
    if (reusable) conn.release();
    else conn.destroy();
  }
}

async function applyPending(
  conn: PoolConnection,
  migrations: MigrationFile[],
  logger: Logger,
): Promise<string[]> {
  await conn.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version VARCHAR(255) NOT NULL PRIMARY KEY,
       checksum CHAR(64) NOT NULL,
       applied_at DATETIME(3) NOT NULL
     )`,
  );
  const [rows] = await conn.query<RowDataPacket[]>('SELECT version, checksum FROM schema_migrations');
  const applied = appliedChecksums(rows);
  assertUnchanged(migrations, applied);
  const known = new Set(migrations.map((migration) => migration.file));
  for (const version of applied.keys()) {
    if (!known.has(version)) logger.warn({ migration: version }, 'applied migration has no file');
  }

  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.file)) continue;
    const started = Date.now();
    const statements = splitSqlStatements(migration.sql);
    for (const [index, statement] of statements.entries()) {
      try {
        await conn.query(statement);
      } catch (err) {
        throw new MigrationError(
          `migration ${migration.file} failed at statement ${index + 1} of ${statements.length}; ` +
            `${index} earlier statement(s) of it stay applied (DDL commits implicitly) and it is not ` +
            'recorded in schema_migrations: repair the schema or make the file idempotent, then rerun',
          migration.file,
          { cause: err },
        );
      }
    }
    await conn.query(
      'INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))',
      [migration.file, migration.checksum],
    );
    newlyApplied.push(migration.file);
    logger.info(
      { migration: migration.file, statements: statements.length, durationMs: Date.now() - started },
      'migration applied',
    );
  }
  return newlyApplied;
}

/**
 * The migration files in `dir` that the service's schema has not applied yet, in order, without
 * applying anything or taking the lock: what a service started with migrations turned off waits
 * on while a separate runner (a Kubernetes Job, the compose one-shot) brings the schema up to
 * date. A schema without `schema_migrations` has every file pending. An applied file whose
 * content changed is a MigrationError, as in {@link runMigrations}.
 */
export async function pendingMigrations(settings: { db: Db; dir: string }): Promise<string[]> {
  const migrations = await readMigrations(settings.dir);
  let rows: RowDataPacket[];
  try {
    // The raw pool, as runMigrations: the driver's errno tells a schema not migrated yet, and a
    // start-up check must not count against the service's database breaker.
    [rows] = await settings.db.pool.query<RowDataPacket[]>('SELECT version, checksum FROM schema_migrations');
  } catch (err) {
    if (isNoSuchTableError(err)) return migrations.map((migration) => migration.file);
    throw err;
  }
  const applied = appliedChecksums(rows);
  assertUnchanged(migrations, applied);
  return migrations.filter((migration) => !applied.has(migration.file)).map((migration) => migration.file);
}

function appliedChecksums(rows: RowDataPacket[]): Map<string, string> {
  return new Map(rows.map((row) => [String(row['version']), String(row['checksum'])]));
}

function assertUnchanged(migrations: MigrationFile[], applied: ReadonlyMap<string, string>): void {
  for (const migration of migrations) {
    const recorded = applied.get(migration.file);
    if (recorded !== undefined && recorded !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.file} was changed after it was applied (checksum ${recorded} in ` +
          `schema_migrations, ${migration.checksum} on disk): add a new migration instead of editing it`,
        migration.file,
      );
    }
  }
}

/** ER_NO_SUCH_TABLE: the schema has never been migrated. */
function isNoSuchTableError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === 1146;
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir))
    .filter((file) => file.endsWith('.sql'))
    // Plain code-unit order: the same on every machine, whatever its locale.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(dir, file), 'utf8');
      return { file, sql, checksum: migrationChecksum(sql) };
    }),
  );
}

async function currentSchema(conn: PoolConnection): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS name');
  const name: unknown = rows[0]?.['name'];
  if (typeof name !== 'string' || name.length === 0) {
    throw new Error('migrations need a pool with a database selected');
  }
  return name;
}

/** `<schema>.migrations`, or a digest of it when that would be too long for a lock name. */
function migrationLockName(schema: string): string {
  const name = `${schema}.migrations`;
  if (name.length <= maxLockNameLength) return name;
  return `migrations.${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}
