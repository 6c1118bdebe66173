import { randomBytes } from 'node:crypto';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/logging/index.js';
import { connectRedis, createRedis, redisReady, type RedisClient } from '../src/redis/index.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const logger = createLogger({ service: 'redis-test', level: 'silent' });

/** Well under a second: the caller must be back on its TiDB path almost at once. */
const failFastBoundMs = 300;

function client(t: TestContext, url: string, name = 'redis-test'): RedisClient {
  const redis = createRedis({ url, logger, name });
  t.after(() => redis.close());
  return redis;
}

async function elapsed<T>(
  operation: () => Promise<T>,
): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([operation()]);
  return { ms: performance.now() - started, result: result };
}

/**
 * A server that completes the connection handshake like Redis and then never answers GET: a
 * Redis that is up but stuck, the case only the command timeout can bound.
 */
async function stuckRedis(t: TestContext): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let command = takeCommand(); command; command = takeCommand()) {
        const name = command[0]?.toLowerCase();
        if (name === 'get') continue;
        if (name === 'hello') socket.write('%1\r\n+proto\r\n:3\r\n');
        else if (name === 'info') socket.write('$11\r\nloading:0\r\n\r\n');
        else socket.write('+OK\r\n');
      }
    });

    // Reads one RESP array of bulk strings off the buffer, or undefined until it has arrived.
    function takeCommand(): string[] | undefined {
      const header = /^\*(\d+)\r\n/.exec(buffer);
      if (!header) return undefined;
      let position = header[0].length;
      const args: string[] = [];
      for (let i = 0; i < Number(header[1]); i += 1) {
        const length = /^\$(\d+)\r\n/.exec(buffer.slice(position));
        if (!length) return undefined;
        const start = position + length[0].length;
        const end = start + Number(length[1]);
        if (buffer.length < end + 2) return undefined;
        args.push(buffer.slice(start, end));
        position = end + 2;
      }
      buffer = buffer.slice(position);
      return args;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return `redis://127.0.0.1:${address.port}`;
}

void describe('createRedis', () => {
  void it('connects on connect() and round-trips a value through the real server', async (t) => {
    const redis = client(t, redisUrl);
    assert.equal(redisReady(redis), false);
    await redis.connect();
    assert.equal(redisReady(redis), true);

    const key = `koban_test:${randomBytes(6).toString('hex')}`;
    assert.equal(await redis.set(key, '12345', 'EX', 60), 'OK');
    assert.equal(await redis.get(key), '12345');
    assert.equal(await redis.del(key), 1);
  });

  void it('quits gracefully on close() and then reports not ready', async (t) => {
    const redis = client(t, redisUrl);
    await redis.connect();
    await redis.close();
    assert.equal(redisReady(redis), false);
    await assert.rejects(redis.get('anything'));
  });

  void it('rejects commands at once when Redis is unreachable, instead of queueing them', async (t) => {
    const redis = client(t, 'redis://127.0.0.1:1');

    const connecting = await elapsed(() => redis.connect());
    assert.equal(connecting.result.status, 'rejected');
    assert.ok(connecting.ms < failFastBoundMs, `connect() took ${connecting.ms} ms`);

    const command = await elapsed(() => redis.get('anything'));
    assert.equal(command.result.status, 'rejected');
    assert.ok(command.ms < failFastBoundMs, `GET took ${command.ms} ms`);
    assert.equal(redisReady(redis), false);
  });

  void it('logs an outage once, not once per reconnect attempt', async (t) => {
    const lines: { level: string; msg: string }[] = [];
    const redis = createRedis({
      url: 'redis://127.0.0.1:1',
      name: 'redis-test',
      logger: createLogger({
        service: 'redis-test',
        level: 'info',
        destination: {
          write: (line: string) => lines.push(JSON.parse(line) as { level: string; msg: string }),
        },
      }),
    });
    t.after(() => redis.close());
    let reconnects = 0;
    redis.on('reconnecting', () => (reconnects += 1));

    await redis.connect().catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (reconnects < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

    assert.ok(reconnects >= 3, `only ${reconnects} reconnect attempts`);
    assert.deepEqual(
      lines.filter((line) => line.level === 'warn').map((line) => line.msg),
      ['redis unavailable'],
    );
  });

  void it('times a command out within its budget when Redis is connected but does not answer', async (t) => {
    const redis = client(t, await stuckRedis(t));
    await redis.connect();

    const command = await elapsed(() => redis.get('anything'));
    assert.equal(command.result.status, 'rejected');
    assert.match(String(command.result.reason), /Command timed out/);
    assert.ok(command.ms >= 90 && command.ms < failFastBoundMs, `GET took ${command.ms} ms`);
  });
});

/** A free local port, nothing listening on it yet. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

/** Starts forwarding `port` to the real Redis: a Redis that comes up late. */
async function forwardToRedis(t: TestContext, port: number): Promise<void> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const upstream = connectTcp(Number(target.port || 6379), target.hostname);
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
}

void describe('connectRedis', () => {
  void it('answers once the client is ready, so the first command succeeds', async (t) => {
    const redis = client(t, redisUrl);
    assert.equal(await connectRedis(redis, 3_000), true);
    assert.equal(redisReady(redis), true);
    assert.equal(await redis.ping(), 'PONG');
  });

  void it('waits through reconnect attempts for a Redis that comes up during the wait', async (t) => {
    const port = await freePort();
    const redis = client(t, `redis://127.0.0.1:${port}`);
    let attempts = 0;
    redis.on('reconnecting', () => {
      attempts += 1;
      // The first connect was refused; Redis appears before the next attempt.
      if (attempts === 1) void forwardToRedis(t, port);
    });
    assert.equal(await connectRedis(redis, 3_000), true);
    assert.ok(attempts >= 1, 'the first attempt was refused');
    assert.equal(await redis.ping(), 'PONG');
  });

  void it('gives up after its bound when Redis is unreachable, and the client keeps reconnecting', async (t) => {
    const redis = client(t, 'redis://127.0.0.1:1');
    let reconnects = 0;
    redis.on('reconnecting', () => (reconnects += 1));
    const waiting = await elapsed(() => connectRedis(redis, 400));
    assert.deepEqual(waiting.result, { status: 'fulfilled', value: false });
    assert.ok(waiting.ms >= 390 && waiting.ms < 400 + failFastBoundMs, `waited ${waiting.ms} ms`);

    const before = reconnects;
    const deadline = Date.now() + 5_000;
    while (reconnects === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(reconnects > before, 'still reconnecting after the wait');
  });
});
