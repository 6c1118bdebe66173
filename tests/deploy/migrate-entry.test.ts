// The migrate-only entry the migrations Job and the compose one-shot run (services/<name>/src/
// migrate.ts), run for real as a process against MariaDB on fresh schemas, from each service's
// directory as the image's WORKDIR is.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { repoRoot, services } from './deploy-support.js';

const server = {
  host: process.env['MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['MYSQL_PORT'] ?? 3306),
  user: process.env['MYSQL_USER'] ?? 'root',
  password: process.env['MYSQL_PASSWORD'] ?? '',
};

interface Run {
  code: number;
  lines: { msg?: string; applied?: string[]; database?: string }[];
  stderr: string;
}

/** `node --import tsx src/migrate.ts` in the service's directory with `env` over the test's own. */
function runEntry(service: string, env: Record<string, string>): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  // The test runner marks its own children; this one is a program, not a test file.
  delete childEnv['NODE_TEST_CONTEXT'];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/migrate.ts'],
      { cwd: path.join(repoRoot, 'services', service), env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        // A number is the exit code; anything else (no node, a time-out) is the test's failure.
        if (error && typeof error.code !== 'number') {
          return reject(
            new Error(`the migrate entry of ${service} did not run to an exit`, { cause: error }),
          );
        }
        const code = error ? Number(error.code) : 0;
        const lines = stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Run['lines'][number]);
        resolve({ code, lines, stderr });
      },
    );
  });
}

/** A schema name no one uses, dropped after the test. */
function freshSchema(t: TestContext): string {
  const database = `koban_migrate_${randomBytes(5).toString('hex')}`;
  t.after(async () => {
    const admin = await createConnection(server);
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`).finally(() => admin.end());
  });
  return database;
}

async function schemaState(database: string): Promise<{ tables: string[]; applied: string[] }> {
  const conn = await createConnection({ ...server, database, dateStrings: true });
  try {
    const [tables] = await conn.query<RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?',
      [database],
    );
    const [applied] = await conn.query<RowDataPacket[]>(
      'SELECT version, applied_at FROM schema_migrations ORDER BY version',
    );
    return {
      tables: tables.map((row) => String(row['name'])).sort(),
      applied: applied.map((row) => `${String(row['version'])}@${String(row['applied_at'])}`),
    };
  } finally {
    await conn.end();
  }
}

/** The service's migration files, and the tables they create. */
function migrationsOf(service: string): { files: string[]; tables: string[] } {
  const dir = path.join(repoRoot, 'services', service, 'migrations');
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort();
  const tables = files.flatMap((file) =>
    [
      ...readFileSync(path.join(dir, file), 'utf8').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?`?(\w+)`?/gi),
    ].map((match) => match[1]),
  );
  return { files, tables };
}

describe('services/<name>/src/migrate.ts', () => {
  for (const { name } of services) {
    test(`${name}: creates a fresh schema, applies every migration and exits 0`, async (t) => {
      const database = freshSchema(t);
      const expected = migrationsOf(name);
      assert.ok(expected.tables.length > 0, `${name} has tables to create`);

      const run = await runEntry(name, { MYSQL_DATABASE: database, NODE_ENV: 'production' });
      assert.equal(run.code, 0, run.stderr);
      const summary = run.lines.at(-1);
      assert.equal(summary?.msg, 'migrations applied');
      assert.equal(summary?.database, database);
      assert.deepEqual(summary?.applied, expected.files);

      const state = await schemaState(database);
      for (const table of [...expected.tables, 'schema_migrations']) {
        assert.ok(state.tables.includes(table), `${database}.${table} exists`);
      }
      assert.equal(state.applied.length, expected.files.length);
    });
  }

  test('a second run is a no-op: nothing applied, nothing re-recorded', async (t) => {
    const database = freshSchema(t);
    const first = await runEntry('ledger', { MYSQL_DATABASE: database });
    assert.equal(first.code, 0, first.stderr);
    const before = await schemaState(database);

    const second = await runEntry('ledger', { MYSQL_DATABASE: database });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.lines.at(-1)?.msg, 'schema already current');
    assert.deepEqual(second.lines.at(-1)?.applied, []);
    assert.deepEqual(await schemaState(database), before);
  });

  test('exits 1 when the database cannot be reached, and 78 on a bad variable', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const unreachable = await runEntry('ledger', { MYSQL_PORT: '1', MYSQL_DATABASE: 'koban_unused' });
    assert.equal(unreachable.code, 1);
    assert.equal(unreachable.lines.at(-1)?.msg, 'migrations failed');

    const badConfig = await runEntry('ledger', { MYSQL_PORT: 'not-a-port' });
    assert.equal(badConfig.code, 78);
    assert.match(badConfig.stderr, /MYSQL_PORT/);
  });
});
