import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import {
  DatabaseUnavailableError,
  createDatabasePolicy,
  createDb,
  ensureDatabase,
  isDatabaseUnavailableError,
  isDuplicateKeyError,
  type Db,
  type DbMetrics,
  type RetryInfo,
} from '../src/db/index.js';
import { createLogger } from '../src/logging/index.js';
import type { DependencyOverrides, DependencyPolicy } from '../src/resilience/index.js';
import { testMysqlServer as server } from '../src/testing/local-infrastructure.js';

const logger = createLogger({ service: 'db-policy-test', level: 'silent' });

/** A `→tidb` policy of its own, disposed after the test. */
function tidbPolicy(
  t: TestContext,
  overrides: Omit<DependencyOverrides, 'isFailure'> = {},
): DependencyPolicy {
  const policy = createDatabasePolicy(
    `db-policy-test-${randomBytes(4).toString('hex')}`,
    { logger },
    overrides,
  );
  t.after(() => policy.dispose());
  return policy;
}

/** A pool through `policy` on a fresh schema, dropped after the test. */
async function freshDb(
  t: TestContext,
  policy: DependencyPolicy,
  options: { poolSize?: number; metrics?: DbMetrics } = {},
): Promise<Db> {
  const database = `koban_test_${randomBytes(6).toString('hex')}`;
  await ensureDatabase({ ...server, database });
  const db = createDb({ ...server, database, poolSize: options.poolSize ?? 4, logger, policy, ...options });
  t.after(async () => {
    await db.close();
    const admin = await createConnection(server);
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`);
    } finally {
      await admin.end();
    }
  });
  return db;
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

/** The error `call` rejected with (fails the test when it resolved). */
async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to reject');
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

async function pollUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

void describe('Db through its →tidb policy', () => {
  void it('fails as unavailable while the database is down, then refuses at once with the breaker open', async (t) => {
    const policy = tidbPolicy(t);
    const db = createDb({
      ...server,
      port: await closedPort(),
      database: 'koban_down',
      poolSize: 2,
      logger,
      policy,
    });
    t.after(() => db.close());

    // Tried and refused by the network: unavailable errors, each counted by the breaker.
    for (let i = 0; i < 5; i += 1) {
      const error = await rejectionOf(db.query('SELECT 1'));
      assert.ok(isDatabaseUnavailableError(error), String(error));
      assert.ok(!(error instanceof DatabaseUnavailableError), 'the database was tried');
    }
    assert.equal(policy.snapshot().state, 'open');

    // Open: not tried at all; still an unavailable error, so services answer UNAVAILABLE.
    const refusals: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      const started = performance.now();
      const error = await rejectionOf(
        i % 2 === 0 ? db.query('SELECT 1') : db.transaction(() => Promise.resolve(1)),
      );
      refusals.push(performance.now() - started);
      assert.ok(error instanceof DatabaseUnavailableError && error.code === 'DB_BREAKER_OPEN', String(error));
      assert.ok(isDatabaseUnavailableError(error));
    }
    const median = [...refusals].sort((a, b) => a - b)[refusals.length >> 1] ?? Infinity;
    assert.ok(median < 0.5, `an open breaker refused in ${median.toFixed(3)} ms (median)`);
    assert.equal(policy.snapshot().rejections, 50);
  });

  void it('never counts a duplicate key, and passes it through unchanged', async (t) => {
    const policy = tidbPolicy(t, { breaker: { consecutiveFailures: 1, minimumCalls: 1 } });
    const db = await freshDb(t, policy);
    await db.query('CREATE TABLE items (id VARCHAR(32) PRIMARY KEY)');
    await db.query("INSERT INTO items VALUES ('a')");

    for (let i = 0; i < 3; i += 1) {
      assert.ok(isDuplicateKeyError(await rejectionOf(db.query("INSERT INTO items VALUES ('a')"))));
      const inTransaction = await rejectionOf(
        db.transaction(async (conn) => {
          await conn.query("INSERT INTO items VALUES ('a')");
        }),
      );
      assert.ok(isDuplicateKeyError(inTransaction));
      assert.ok(!isDatabaseUnavailableError(inTransaction));
    }
    const { state, failures } = policy.snapshot();
    assert.deepEqual({ state, failures }, { state: 'closed', failures: 0 });
  });

  void it('retries the victim of a real deadlock as before, without the breaker counting it', async (t) => {
    const policy = tidbPolicy(t, { breaker: { consecutiveFailures: 1, minimumCalls: 1 } });
    const retries: RetryInfo[] = [];
    const db = await freshDb(t, policy, { metrics: { onRetry: (info) => retries.push(info) } });
    await db.query('CREATE TABLE accounts (id VARCHAR(8) PRIMARY KEY, balance BIGINT NOT NULL)');
    await db.query("INSERT INTO accounts VALUES ('a', 100), ('b', 100)");

    // Each side locks its first row, waits for the other to hold its own, then asks for it.
    const locked = { a: deferred(), b: deferred() };
    const attempts = { a: 0, b: 0 };
    const move = (from: 'a' | 'b', to: 'a' | 'b') =>
      db.transaction(async (conn) => {
        attempts[from] += 1;
        await conn.query('SELECT balance FROM accounts WHERE id = ? FOR UPDATE', [from]);
        if (attempts[from] === 1) {
          locked[from].resolve();
          await locked[to].promise;
        }
        await conn.query('UPDATE accounts SET balance = balance - 1 WHERE id = ?', [from]);
        await conn.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [to]);
        return from;
      });

    assert.deepEqual(await Promise.all([move('a', 'b'), move('b', 'a')]), ['a', 'b']);
    assert.deepEqual(
      retries.map((retry) => retry.errno),
      [1213],
    );
    assert.deepEqual([attempts.a, attempts.b].sort(), [1, 2]);
    const { state, failures } = policy.snapshot();
    assert.deepEqual({ state, failures }, { state: 'closed', failures: 0 });
  });

  void it('destroys the connection of a transaction cut short by the timeout, which the server rolls back', async (t) => {
    const policy = tidbPolicy(t, { timeoutMs: 300 });
    const db = await freshDb(t, policy, { poolSize: 1 });
    await db.query('CREATE TABLE items (id VARCHAR(32) PRIMARY KEY)');

    let abandonedConnection = '';
    const started = Date.now();
    const error = await rejectionOf(
      db.transaction(async (conn) => {
        const [[row]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
        abandonedConnection = String(row?.['id']);
        await conn.query("INSERT INTO items VALUES ('x')");
        await conn.query('SELECT SLEEP(3)');
      }),
    );
    assert.ok(error instanceof DatabaseUnavailableError && error.code === 'DB_TIMEOUT', String(error));
    assert.ok(Date.now() - started < 2_000, 'given up at the timeout, not when the statement ended');
    assert.equal(policy.snapshot().failures, 1);

    // The pool's only connection was not reused: the next transaction gets a new one, and the
    // server ends the abandoned session, rolling its insert back.
    const next = await db.transaction(async (conn) => {
      const [[row]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      return String(row?.['id']);
    });
    assert.notEqual(next, abandonedConnection);
    await pollUntil('the abandoned session to end', async () => {
      const sessions = await db.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?',
        [abandonedConnection],
      );
      return Number(sessions[0]?.['n']) === 0;
    });
    await db.query("INSERT INTO items VALUES ('x')");
    const rows = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM items');
    assert.equal(Number(rows[0]?.['n']), 1);
  });
});
