import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Meter } from '@opentelemetry/api';
import { createConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import {
  MigrationError,
  awaitMigrations,
  createDb,
  ensureDatabase,
  openDatabase,
  pendingMigrations,
  runMigrations,
  type CommitInfo,
  type Db,
  type DbMetrics,
  type RetryInfo,
} from '../src/db/index.js';
import { createLogger } from '../src/logging/index.js';
import { createInMemoryMetrics } from '../src/telemetry/in-memory-metrics.js';
import { testMysqlServer as server } from '../src/testing/local-infrastructure.js';

const logger = createLogger({ service: 'db-test', level: 'silent' });

/**
 * A fresh schema for one test, dropped after it with every pool opened on it. `open` makes a new
 * pool each call, which is how the tests stand in for several replicas of a service.
 */
async function freshDatabase(
  t: TestContext,
): Promise<{ database: string; open: (metrics?: DbMetrics, meter?: Meter) => Db }> {
  const database = `koban_test_${randomBytes(6).toString('hex')}`;
  await ensureDatabase({ ...server, database });
  const pools: Db[] = [];
  t.after(async () => {
    await Promise.all(pools.map((db) => db.close()));
    const admin = await createConnection(server);
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`);
    } finally {
      await admin.end();
    }
  });
  return {
    database,
    open: (metrics, meter) => {
      const db = createDb({
        ...server,
        database,
        poolSize: 4,
        logger,
        ...(metrics ? { metrics } : {}),
        ...(meter ? { meter } : {}),
      });
      pools.push(db);
      return db;
    },
  };
}

async function migrationsDir(t: TestContext, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'koban-migrations-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await Promise.all(Object.entries(files).map(([name, sql]) => writeFile(join(dir, name), sql)));
  return dir;
}

async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await db.query<RowDataPacket[]>(sql, params);
  return Number(rows[0]?.['n']);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const accountsMigrations = {
  '0001_create_accounts.sql': [
    '-- Money is BIGINT minor units.',
    'CREATE TABLE accounts (',
    '  id VARCHAR(32) NOT NULL PRIMARY KEY,',
    '  balance BIGINT NOT NULL',
    ');',
    'CREATE TABLE seed_log (note VARCHAR(64) NOT NULL);',
    '',
  ].join('\n'),
  // Not idempotent on purpose: applied twice, it would leave two rows.
  '0002_seed.sql': "INSERT INTO seed_log (note) VALUES ('seeded');\n",
};

void describe('runMigrations', () => {
  void it('applies each migration once when several runners start at the same time and again later', async (t) => {
    const { open } = await freshDatabase(t);
    const dir = await migrationsDir(t, accountsMigrations);

    const replicas = [open(), open(), open()];
    const results = await Promise.all(replicas.map((db) => runMigrations({ db, dir, logger })));
    const again = await runMigrations({ db: replicas[0], dir, logger });

    const db = replicas[0];
    assert.deepEqual(results.flatMap((result) => result.applied).sort(), Object.keys(accountsMigrations));
    assert.deepEqual(again.applied, []);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM schema_migrations'), 2);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM seed_log'), 1);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM accounts'), 0);
    const recorded = await db.query<RowDataPacket[]>(
      'SELECT version, checksum, applied_at FROM schema_migrations',
    );
    for (const row of recorded) {
      assert.match(String(row['checksum']), /^[0-9a-f]{64}$/);
      assert.ok(row['applied_at'] instanceof Date);
    }
  });

  void it('rejects an applied migration whose file was changed, naming the file', async (t) => {
    const { open } = await freshDatabase(t);
    const db = open();
    const dir = await migrationsDir(t, accountsMigrations);
    await runMigrations({ db, dir, logger });

    await writeFile(join(dir, '0002_seed.sql'), "INSERT INTO seed_log (note) VALUES ('edited');\n");
    await writeFile(join(dir, '0003_more.sql'), 'CREATE TABLE more_things (id BIGINT PRIMARY KEY);\n');

    await assert.rejects(runMigrations({ db, dir, logger }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.equal(err.file, '0002_seed.sql');
      assert.match(err.message, /0002_seed\.sql was changed/);
      return true;
    });
    // Nothing new is applied while an old migration does not match.
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM schema_migrations'), 2);
  });

  void it('reports a half-applied migration with the failing statement and does not record it', async (t) => {
    const { open } = await freshDatabase(t);
    const db = open();
    const dir = await migrationsDir(t, {
      '0001_broken.sql':
        'CREATE TABLE first_half (id BIGINT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n',
    });

    await assert.rejects(runMigrations({ db, dir, logger }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.equal(err.file, '0001_broken.sql');
      assert.match(err.message, /statement 2 of 2/);
      assert.equal((err.cause as { errno?: number }).errno, 1146);
      return true;
    });
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM schema_migrations'), 0);
    assert.equal(
      await count(
        db,
        'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        ['first_half'],
      ),
      1,
    );
  });
});

/** Polls `check` until it holds, failing after `timeoutMs`. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A logger whose lines the test reads back, to see what a waiting runner reported. */
function recordingLogger(): { logger: typeof logger; messages: string[] } {
  const messages: string[] = [];
  const destination = {
    write: (line: string) => void messages.push(String((JSON.parse(line) as { msg: unknown }).msg)),
  };
  return { logger: createLogger({ service: 'db-test', level: 'info', destination }), messages };
}

void describe('pendingMigrations', () => {
  void it('lists the files not applied yet, in order, and rejects an edited applied file', async (t) => {
    const { open } = await freshDatabase(t);
    const db = open();
    const dir = await migrationsDir(t, accountsMigrations);

    assert.deepEqual(await pendingMigrations({ db, dir }), ['0001_create_accounts.sql', '0002_seed.sql']);
    await runMigrations({ db, dir, logger });
    assert.deepEqual(await pendingMigrations({ db, dir }), []);

    await writeFile(join(dir, '0003_more.sql'), 'CREATE TABLE more_things (id BIGINT PRIMARY KEY);\n');
    assert.deepEqual(await pendingMigrations({ db, dir }), ['0003_more.sql']);
    // Listing applies nothing.
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM schema_migrations'), 2);

    await writeFile(join(dir, '0002_seed.sql'), "INSERT INTO seed_log (note) VALUES ('edited');\n");
    await assert.rejects(pendingMigrations({ db, dir }), MigrationError);
  });
});

void describe('awaitMigrations', () => {
  void it('waits while another runner has not applied the files, then resolves', async (t) => {
    const { open } = await freshDatabase(t);
    const dir = await migrationsDir(t, accountsMigrations);
    const recorded = recordingLogger();

    let resolved = false;
    const waiting = awaitMigrations({ db: open(), dir, logger: recorded.logger, pollMs: 20 }).then(() => {
      resolved = true;
    });
    await eventually(() => recorded.messages.some((m) => m.startsWith('waiting for the migration runner')));
    assert.equal(resolved, false, 'it does not resolve while migrations are pending');

    await runMigrations({ db: open(), dir, logger });
    await waiting;
    assert.ok(recorded.messages.includes('schema is current: the migration runner finished'));
  });

  void it('waits for a schema that does not exist yet to be created and migrated', async (t) => {
    const database = `koban_test_${randomBytes(6).toString('hex')}`;
    const waiter = createDb({ ...server, database, poolSize: 1, logger });
    t.after(async () => {
      await waiter.close();
      const admin = await createConnection(server);
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`).finally(() => admin.end());
    });
    const dir = await migrationsDir(t, accountsMigrations);
    const recorded = recordingLogger();

    const waiting = awaitMigrations({ db: waiter, dir, logger: recorded.logger, pollMs: 20 });
    await eventually(() => recorded.messages.some((m) => m.startsWith('waiting for the migration runner')));

    await ensureDatabase({ ...server, database });
    const runner = createDb({ ...server, database, poolSize: 1, logger });
    t.after(() => runner.close());
    await runMigrations({ db: runner, dir, logger });
    await waiting;
  });

  void it('gives up after its time-out naming the pending files', async (t) => {
    const { open } = await freshDatabase(t);
    const dir = await migrationsDir(t, accountsMigrations);
    await assert.rejects(
      awaitMigrations({ db: open(), dir, logger, timeoutMs: 100, pollMs: 20 }),
      /lacks 2 migration\(s\) after 100 ms \(0001_create_accounts\.sql, 0002_seed\.sql\)/,
    );
  });
});

void describe('openDatabase', () => {
  void it('creates and migrates the schema by default, and only checks it with migrate false', async (t) => {
    const database = `koban_test_${randomBytes(6).toString('hex')}`;
    t.after(async () => {
      const admin = await createConnection(server);
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`).finally(() => admin.end());
    });
    const dir = await migrationsDir(t, accountsMigrations);
    const settings = { ...server, database, poolSize: 2, logger, migrationsDir: dir };

    const migrating = await openDatabase(settings);
    t.after(() => migrating.close());
    assert.equal(await count(migrating, 'SELECT COUNT(*) AS n FROM schema_migrations'), 2);

    await writeFile(join(dir, '0003_more.sql'), 'CREATE TABLE more_things (id BIGINT PRIMARY KEY);\n');
    // With migrate false the new file is not applied: the start waits for it and gives up here.
    const checking = openDatabase({ ...settings, migrate: false, migrationsTimeoutMs: 100 });
    await assert.rejects(checking, /lacks 1 migration\(s\).*0003_more\.sql/);
    assert.equal(await count(migrating, 'SELECT COUNT(*) AS n FROM schema_migrations'), 2);

    await runMigrations({ db: migrating, dir, logger });
    const current = await openDatabase({ ...settings, migrate: false });
    t.after(() => current.close());
    assert.equal(await count(current, 'SELECT COUNT(*) AS n FROM more_things'), 0);
  });
});

void describe('Db', () => {
  void it('returns BIGINT money as an exact decimal string', async (t) => {
    const { open } = await freshDatabase(t);
    const db = open();
    await db.query('CREATE TABLE wallets (id VARCHAR(32) PRIMARY KEY, balance BIGINT NOT NULL)');
    await db.query('INSERT INTO wallets VALUES (?, ?)', ['w', 9007199254740993n]);

    const rows = await db.query<RowDataPacket[]>('SELECT balance FROM wallets WHERE id = ?', ['w']);
    assert.equal(rows[0]?.['balance'], '9007199254740993');
  });

  void it(
    'retries the victim of a real deadlock and commits each transaction exactly once',
    { timeout: 30_000 },
    async (t) => {
      const commits: CommitInfo[] = [];
      const retries: RetryInfo[] = [];
      const { open } = await freshDatabase(t);
      const db = open({ onCommit: (info) => commits.push(info), onRetry: (info) => retries.push(info) });
      await db.query('CREATE TABLE accounts (id VARCHAR(32) PRIMARY KEY, balance BIGINT NOT NULL)');
      await db.query('CREATE TABLE transfers (id VARCHAR(32) PRIMARY KEY, amount BIGINT NOT NULL)');
      await db.query("INSERT INTO accounts VALUES ('a', 100), ('b', 100)");

      // Each side locks its first row, waits until the other holds its own, then asks for the
      // other's: a lock cycle the server must break by rolling one back with 1213.
      const aLocked = deferred();
      const bLocked = deferred();
      const attempts = { ab: 0, ba: 0 };
      const transfer = (
        id: 'ab' | 'ba',
        from: string,
        to: string,
        amount: number,
        mine: ReturnType<typeof deferred>,
        theirs: ReturnType<typeof deferred>,
      ) =>
        db.transaction(
          async (conn) => {
            attempts[id] += 1;
            await conn.query('SELECT balance FROM accounts WHERE id = ? FOR UPDATE', [from]);
            if (attempts[id] === 1) {
              mine.resolve();
              await theirs.promise;
            }
            await conn.query('SELECT balance FROM accounts WHERE id = ? FOR UPDATE', [to]);
            await conn.query('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from]);
            await conn.query('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
            await conn.query('INSERT INTO transfers (id, amount) VALUES (?, ?)', [id, amount]);
            return id;
          },
          { label: `transfer-${id}` },
        );

      const results = await Promise.all([
        transfer('ab', 'a', 'b', 10, aLocked, bLocked),
        transfer('ba', 'b', 'a', 5, bLocked, aLocked),
      ]);

      assert.deepEqual(results, ['ab', 'ba']);
      assert.deepEqual(
        retries.map((retry) => [retry.errno, retry.code, retry.attempt]),
        [[1213, 'ER_LOCK_DEADLOCK', 1]],
      );
      assert.deepEqual([attempts.ab, attempts.ba].sort(), [1, 2]);
      assert.deepEqual(commits.map((commit) => commit.attempts).sort(), [1, 2]);
      assert.ok(commits.every((commit) => commit.rowsAffected === 3));

      const balances = await db.query<RowDataPacket[]>('SELECT id, balance FROM accounts ORDER BY id');
      assert.deepEqual(
        balances.map((row): unknown[] => [row['id'], row['balance']]),
        [
          ['a', '95'],
          ['b', '105'],
        ],
      );
      assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM transfers'), 2);
    },
  );

  void it('rolls back and rethrows any other error unchanged, without retrying', async (t) => {
    const retries: RetryInfo[] = [];
    const { open } = await freshDatabase(t);
    const db = open({ onRetry: (info) => retries.push(info) });
    await db.query('CREATE TABLE payments (id VARCHAR(32) PRIMARY KEY, amount BIGINT NOT NULL)');
    await db.query("INSERT INTO payments VALUES ('p1', 100)");

    let attempts = 0;
    let thrown: unknown;
    await assert.rejects(
      db.transaction(async (conn) => {
        attempts += 1;
        await conn.query("INSERT INTO payments VALUES ('p2', 200)");
        try {
          await conn.query("INSERT INTO payments VALUES ('p1', 300)");
        } catch (err) {
          thrown = err;
          throw err;
        }
      }),
      (err: unknown) => {
        assert.equal(err, thrown);
        assert.equal((err as { errno?: number }).errno, 1062);
        return true;
      },
    );
    assert.equal(attempts, 1);
    assert.deepEqual(retries, []);
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM payments'), 1);

    const appError = new Error('insufficient funds is a value, but a bug is thrown');
    await assert.rejects(
      db.transaction(async (conn) => {
        await conn.query<ResultSetHeader>("UPDATE payments SET amount = 0 WHERE id = 'p1'");
        throw appError;
      }),
      (err: unknown) => err === appError,
    );
    assert.equal(await count(db, "SELECT COUNT(*) AS n FROM payments WHERE id = 'p1' AND amount = 100"), 1);
  });

  void it('counts committed transactions and their rows once, never a rolled-back attempt', async (t) => {
    const recorded = createInMemoryMetrics();
    t.after(() => recorded.shutdown());
    const { open, database } = await freshDatabase(t);
    const db = open(undefined, recorded.meter);
    const ns = { 'db.namespace': database };
    const read = async () => ({
      committed: (await recorded.value('koban.db.transactions.committed', ns)) ?? 0,
      rows: (await recorded.value('koban.db.rows.written', ns)) ?? 0,
      retries: (await recorded.value('koban.db.transaction.retries', ns)) ?? 0,
    });
    // DDL changes no rows: no write throughput.
    await db.query('CREATE TABLE payments (id VARCHAR(32) PRIMARY KEY, amount BIGINT NOT NULL)');
    assert.deepEqual(await read(), { committed: 0, rows: 0, retries: 0 });

    await db.transaction(async (conn) => {
      await conn.query("INSERT INTO payments VALUES ('p1', 100), ('p2', 200), ('p3', 300)");
      await conn.query("UPDATE payments SET amount = 150 WHERE id = 'p1'");
      await conn.query('SELECT * FROM payments FOR UPDATE');
    });
    assert.deepEqual(await read(), { committed: 1, rows: 4, retries: 0 });

    // Rolled back by the application: neither the transaction nor its rows count.
    await assert.rejects(
      db.transaction(async (conn) => {
        await conn.query("INSERT INTO payments VALUES ('p4', 400), ('p5', 500)");
        throw new Error('a bug after the writes');
      }),
    );
    assert.deepEqual(await read(), { committed: 1, rows: 4, retries: 0 });

    // The first attempt's row is rolled back by the conflict; only the retry's rows count.
    let attempts = 0;
    await db.transaction(
      async (conn) => {
        attempts += 1;
        await conn.query("INSERT INTO payments VALUES ('p6', 600)");
        if (attempts === 1) {
          throw Object.assign(new Error('Deadlock found'), { errno: 1213, code: 'ER_LOCK_DEADLOCK' });
        }
        await conn.query("INSERT INTO payments VALUES ('p7', 700)");
      },
      { baseDelayMs: 1, maxDelayMs: 2 },
    );
    assert.equal(attempts, 2);
    assert.deepEqual(await read(), { committed: 2, rows: 6, retries: 1 });
    assert.equal(
      await recorded.value('koban.db.transaction.retries', { ...ns, 'db.response.status_code': '1213' }),
      1,
    );

    // Outside a transaction, a statement that changed rows is a committed transaction of its own;
    // one that changed none, or a read, is not.
    await db.query("INSERT INTO payments VALUES ('p8', 800), ('p9', 900)");
    await db.query("UPDATE payments SET amount = 0 WHERE id = 'nobody'");
    await db.query('SELECT COUNT(*) FROM payments');
    assert.deepEqual(await read(), { committed: 3, rows: 8, retries: 1 });
    assert.equal(await count(db, 'SELECT COUNT(*) AS n FROM payments'), 7);
  });

  void it('gives up after maxAttempts and rethrows the last conflict', async (t) => {
    const { open } = await freshDatabase(t);
    const db = open();
    let attempts = 0;
    const conflict = Object.assign(new Error('Deadlock found'), {
      errno: 1213,
      code: 'ER_LOCK_DEADLOCK',
      fatal: false,
    });
    await assert.rejects(
      db.transaction(
        () => {
          attempts += 1;
          return Promise.reject(conflict);
        },
        { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      ),
      (err: unknown) => err === conflict,
    );
    assert.equal(attempts, 3);
  });
});
