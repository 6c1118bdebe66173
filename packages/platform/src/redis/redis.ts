import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Settings for {@link createRedis}. */
export interface RedisSettings {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  logger: Logger;
  /** Names the client in logs and in `CLIENT LIST`, e.g. `idempotency`. No spaces. */
  name?: string;
  /** A command without a reply by then rejects (default 100 ms, the platform's Redis budget). */
  commandTimeoutMs?: number;
  /** Bound on opening the TCP connection (default 2000 ms). */
  connectTimeoutMs?: number;
  /**
   * A connection that receives nothing for this long while commands wait is dropped and
   * reconnected (default 1000 ms), so that a hung server turns into fast "not connected"
   * failures instead of every command waiting out its timeout.
   */
  socketTimeoutMs?: number;
  /** Cap on the delay between reconnect attempts (default 2000 ms); attempts never stop. */
  maxReconnectDelayMs?: number;
}

/** An ioredis client with a graceful `close()`. */
export type RedisClient = Redis & {
  /** Sends QUIT when connected (replies in flight still arrive), else drops the socket; stops reconnecting. */
  close(): Promise<void>;
};

const defaultCommandTimeoutMs = 100;
const defaultConnectTimeoutMs = 2000;
const defaultSocketTimeoutMs = 1000;
const defaultMaxReconnectDelayMs = 2000;
const closeWaitMs = 1000;

/**
 * Delay before reconnect attempt `times` (1-based): exponential from 50 ms up to `maxDelayMs`,
 * plus up to 100 ms of jitter so that every replica does not hit a recovering Redis at once.
 */
export function redisReconnectDelayMs(
  times: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  return Math.min(maxDelayMs, 50 * 2 ** Math.max(0, times - 1)) + Math.floor(random() * 100);
}

/**
 * Creates a Redis client for the fast path in front of a durable TiDB path: when Redis is down
 * or slow, a command must fail within its budget so the caller falls through, never queue.
 *
 * - `lazyConnect`: nothing happens until the composition root calls `connect()` (which rejects if
 *   the first attempt fails; reconnection carries on in the background either way).
 * - No offline queue: while disconnected a command rejects at once. A queued write would otherwise
 *   run after its caller had already given up and taken the TiDB path.
 * - `commandTimeout` bounds a command on a live but slow connection; a command whose reply never
 *   came is not resent after a reconnect, for the same reason.
 * - Reconnects forever with capped, jittered backoff.
 *
 * Connection changes are logged once per transition (connected, unavailable, reconnected), not
 * once per failed attempt.
 */
export function createRedis(settings: RedisSettings): RedisClient {
  const logger = settings.logger.child({
    component: 'redis',
    ...(settings.name ? { name: settings.name } : {}),
  });
  const maxReconnectDelayMs = settings.maxReconnectDelayMs ?? defaultMaxReconnectDelayMs;

  const client = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.commandTimeoutMs ?? defaultCommandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs ?? defaultConnectTimeoutMs,
    socketTimeout: settings.socketTimeoutMs ?? defaultSocketTimeoutMs,
    retryStrategy: (times) => redisReconnectDelayMs(times, maxReconnectDelayMs),
    // After close() gives up on QUIT, how long the socket may take to close before it is
    // destroyed; the 2 s default would hold a stopping process for nothing.
    disconnectTimeout: 500,
    ...(settings.name ? { connectionName: settings.name } : {}),
  });

  let state: 'initial' | 'up' | 'down' | 'closed' = 'initial';
  let downSince = 0;

  function markDown(message: string, err?: unknown): void {
    if (state === 'closed' || state === 'down') return;
    state = 'down';
    downSince = Date.now();
    logger.warn(err === undefined ? {} : { err }, message);
  }

  client.on('ready', () => {
    if (state === 'up' || state === 'closed') return;
    if (state === 'down') logger.info({ downMs: Date.now() - downSince }, 'redis reconnected');
    else logger.info('redis connected');
    state = 'up';
  });
  // Without an 'error' listener ioredis prints every failed reconnect attempt itself.
  client.on('error', (err: Error) => {
    if (state === 'down') logger.debug({ err }, 'redis still unavailable');
    else markDown('redis unavailable', err);
  });
  client.on('close', () => markDown('redis connection lost'));

  async function close(): Promise<void> {
    if (state === 'closed') return;
    state = 'closed';
    if (client.status === 'ready') {
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      try {
        await client.quit();
        // The reply to QUIT comes before the server closes the socket; wait for that too, briefly.
        await Promise.race([ended, sleep(closeWaitMs, undefined, { ref: false })]);
      } catch (err) {
        logger.warn({ err }, 'redis QUIT failed; dropping the connection');
      }
    }
    // Also stops a pending reconnect. Not after a clean end: ioredis would arm a timer on the
    // closed socket that keeps the process alive for its disconnect timeout.
    if (client.status !== 'end') client.disconnect();
    logger.info('redis closed');
  }

  return Object.assign(client, { close });
}

/**
 * Starts connecting a client made by {@link createRedis} and waits until it is ready for commands,
 * for at most `waitMs` (reconnect attempts included); resolves whether it is. Never rejects: when
 * Redis is not there by then, the client goes on reconnecting in the background and the caller
 * starts without it. Services call it before their first command: the client has no offline
 * queue, so a command issued while the first connect is still in flight fails at once, and a
 * start-up burst of those would trip the caller's Redis breaker against a healthy Redis.
 */
export async function connectRedis(client: Redis, waitMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  let settle: (ready: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (settle = resolve));
  const onReady = (): void => settle(true);
  const onEnd = (): void => settle(false);
  client.on('ready', onReady);
  client.on('end', onEnd);
  const timer = setTimeout(() => settle(false), waitMs);
  // The first attempt's failure is not the answer: reconnect attempts may still succeed in time.
  if (client.status === 'wait') client.connect().catch(() => undefined);
  try {
    return await ready;
  } finally {
    clearTimeout(timer);
    client.off('ready', onReady);
    client.off('end', onEnd);
  }
}

/**
 * Whether the client is connected and ready for commands, for health reporting. Redis is a fast
 * path with a durable fallback, so a service should report this rather than refuse traffic on it:
 * failing readiness on Redis alone would take every replica out of service at once.
 */
export function redisReady(client: Redis): boolean {
  return client.status === 'ready';
}
