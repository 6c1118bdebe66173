// The Redis-backed fault injection against the real local Redis, under a key prefix of its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../logging/index.js';
import { createRedis, type RedisClient } from '../redis/redis.js';
import { createFaultStore, type FaultStore } from './fault-store.js';
import {
  createRedisFaultInjector,
  startFaultInjection,
  type RedisFaultInjector,
} from './redis-fault-injector.js';

const logger = createLogger({ service: 'fault-injection-test', level: 'silent' });
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function within<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<number> {
  const started = Date.now();
  while (probe() === undefined || probe() === false) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

void describe('Redis-backed fault injection', () => {
  let redis: RedisClient;
  let store: FaultStore;
  const keyPrefix = `koban:test:faults:${randomBytes(6).toString('hex')}:`;
  const injectors: RedisFaultInjector[] = [];

  function injector(services: string[]): RedisFaultInjector {
    const created = createRedisFaultInjector({ redis, logger, services, keyPrefix });
    created.start();
    injectors.push(created);
    return created;
  }

  before(async () => {
    redis = createRedis({ url: redisUrl, logger, name: 'fault-test' });
    await redis.connect();
    store = createFaultStore(redis, { keyPrefix });
  });

  after(async () => {
    for (const created of injectors) created.stop();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.close();
  });

  void it('makes a stored fault visible to every instance within 1 s and clears it within 1 s', async () => {
    const first = injector(['ledger']);
    const second = injector(['ledger']);
    await store.put({ service: 'ledger', method: 'Transfer', latencyMs: 0, errorRate: 1, code: 'INTERNAL' });
    const seenIn = await within('the fault reaching the second instance', 1_000, () =>
      second.faultFor('ledger', 'Transfer'),
    );
    assert.ok(seenIn < 1_000);
    assert.equal(second.faultFor('ledger', 'Transfer')?.code, grpc.status.INTERNAL);
    assert.equal(first.faultFor('ledger', 'Transfer')?.errorRate, 1);
    assert.equal(second.faultFor('ledger', 'GetBalance'), undefined, 'only the named method is faulted');

    await store.clear('ledger');
    await within('the fault clearing everywhere', 1_000, () =>
      first.faultFor('ledger', 'Transfer') === undefined &&
      second.faultFor('ledger', 'Transfer') === undefined
        ? true
        : undefined,
    );
  });

  void it('applies a wildcard fault to every method and lets an exact method override it', async () => {
    const instance = injector(['fraud']);
    await store.put({ service: 'fraud', method: '*', latencyMs: 300, errorRate: 0, code: 'UNAVAILABLE' });
    await store.put({
      service: 'fraud',
      method: 'Score',
      latencyMs: 0,
      errorRate: 0.5,
      code: 'DEADLINE_EXCEEDED',
    });
    await within('both faults arriving', 1_000, () =>
      instance.faultFor('fraud', 'Score')?.errorRate === 0.5 ? true : undefined,
    );
    assert.equal(instance.faultFor('fraud', 'RecordCardCheck')?.latencyMs, 300);
    assert.equal(instance.faultFor('fraud', 'Score')?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual(
      (await store.load(['fraud'])).map((fault) => fault.method),
      ['*', 'Score'],
    );
    await store.clear('fraud');
  });

  void it('only applies the faults of the services it watches', async () => {
    const instance = injector(['payment']);
    await store.put({
      service: 'campaign-promo',
      method: '*',
      latencyMs: 100,
      errorRate: 0,
      code: 'UNAVAILABLE',
    });
    await instance.refresh();
    assert.equal(instance.faultFor('campaign-promo', 'GrantCashback'), undefined);
    await store.clear('campaign-promo');
  });

  void it('ends a fault at its TTL, in memory and in Redis', async () => {
    const instance = injector(['bank-integration']);
    await store.put({
      service: 'bank-integration',
      method: '*',
      latencyMs: 0,
      errorRate: 1,
      code: 'UNAVAILABLE',
      ttlSeconds: 1,
    });
    const ttl = await redis.pttl(`${keyPrefix}bank-integration`);
    assert.ok(ttl > 0 && ttl <= 1_000, `the hash expires with the fault (pttl ${ttl})`);
    await within('the fault arriving', 1_000, () => instance.faultFor('bank-integration', 'CreateCharge'));
    const endedAfter = await within('the fault expiring', 2_000, () =>
      instance.faultFor('bank-integration', 'CreateCharge') === undefined ? true : undefined,
    );
    assert.ok(endedAfter <= 1_500, `ended ${endedAfter} ms after being seen`);
    assert.equal(await redis.exists(`${keyPrefix}bank-integration`), 0);
  });

  void it('keeps no expiry on a service hash while one of its faults has none', async () => {
    await store.put({
      service: 'gateway',
      method: 'A',
      latencyMs: 1,
      errorRate: 0,
      code: 'UNAVAILABLE',
      ttlSeconds: 5,
    });
    assert.ok((await redis.pttl(`${keyPrefix}gateway`)) > 0);
    await store.put({ service: 'gateway', method: 'B', latencyMs: 1, errorRate: 0, code: 'UNAVAILABLE' });
    assert.equal(await redis.pttl(`${keyPrefix}gateway`), -1);
    await store.clear('gateway');
  });

  void it('answers from memory: a fault keeps applying while Redis is unreachable, then is dropped', async () => {
    let now = Date.now();
    let broken = false;
    const flaky: FaultStore = {
      put: (request) => store.put(request),
      clear: (service) => store.clear(service),
      load: (services) => (broken ? Promise.reject(new Error('redis down')) : store.load(services)),
    };
    const instance = createRedisFaultInjector({
      redis,
      logger,
      services: ['ledger'],
      store: flaky,
      staleMs: 5_000,
      now: () => now,
    });
    await store.put({ service: 'ledger', method: '*', latencyMs: 50, errorRate: 0, code: 'UNAVAILABLE' });
    await instance.refresh();
    broken = true;
    await instance.refresh();
    assert.equal(instance.faultFor('ledger', 'Transfer')?.latencyMs, 50);
    now += 6_000;
    await instance.refresh();
    assert.equal(instance.faultFor('ledger', 'Transfer'), undefined);
    await store.clear('ledger');
  });

  void it('is off unless FAULTS_ENABLED: no injector, no Redis reads', () => {
    const steps: string[] = [];
    const disabled = startFaultInjection({
      service: 'ledger',
      enabled: false,
      redis,
      logger,
      shutdown: { onShutdown: (name) => steps.push(name) },
    });
    assert.equal(disabled, undefined);
    assert.equal(steps.length, 0, 'nothing registered for shutdown');
    const enabled = startFaultInjection({
      service: 'ledger',
      enabled: true,
      redis,
      logger,
      shutdown: { onShutdown: (name) => steps.push(name) },
    });
    assert.ok(enabled);
    assert.deepEqual(steps, ['fault-injection']);
    (enabled as RedisFaultInjector).stop();
  });
});
