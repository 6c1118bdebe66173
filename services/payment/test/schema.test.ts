import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTBOX_DDL, PROCESSED_EVENTS_DDL, splitSqlStatements } from '@koban/platform';
import { poolSql } from '../src/sql.js';
import { freshDatabase, migrationsDir } from './support/test-database.js';

void describe('payment schema', { timeout: 30_000 }, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    database = await freshDatabase();
  });
  after(() => database.drop());

  void it('creates the outbox with exactly the platform DDL', async () => {
    const files = (await readdir(migrationsDir)).filter((file) => file.endsWith('.sql'));
    const outbox = files.find((file) => file.endsWith('_create_outbox.sql'));
    assert.ok(outbox);
    const statements = splitSqlStatements(await readFile(join(migrationsDir, outbox), 'utf8'));
    assert.deepEqual(statements, [OUTBOX_DDL]);
  });

  void it('creates processed_events with exactly the platform DDL', async () => {
    const files = (await readdir(migrationsDir)).filter((file) => file.endsWith('.sql'));
    const processed = files.find((file) => file.endsWith('_create_processed_events.sql'));
    assert.ok(processed);
    const statements = splitSqlStatements(await readFile(join(migrationsDir, processed), 'utf8'));
    assert.deepEqual(statements, [PROCESSED_EVENTS_DDL]);
  });

  void it('migrates a fresh schema to every table the service owns, one statement per file', async () => {
    const rows = await poolSql(database.db).rows(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
      [database.name],
    );
    assert.deepEqual(
      rows.map((row) => row['name']),
      [
        'idempotency_keys',
        'outbox',
        'payments',
        'processed_events',
        'qr_codes',
        'refunds',
        'schema_migrations',
        'topups',
        'transfers',
      ],
    );
    for (const file of (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql'))) {
      assert.equal(splitSqlStatements(await readFile(join(migrationsDir, file), 'utf8')).length, 1, file);
    }
  });
});
