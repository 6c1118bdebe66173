// The admin routes of fault injection and breaker inspection: the real HTTP app and access
// control, the real Redis (under a key prefix of its own), a real gRPC server answering
// OpsService for the breakers, and a dead address for a service that does not answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DomainError,
  createFaultStore,
  createGrpcServer,
  createLogger,
  createRedis,
  createRedisFaultInjector,
  type BreakerSnapshot,
  type GrpcServer,
  type RedisClient,
  type RedisFaultInjector,
} from '@koban/platform';
import { ADMIN_TOKEN, startGateway } from '../../test/harness.js';
import { buildHttpApp, type HttpApp } from '../http/app.js';
import { createAccessControl } from '../http/authentication.js';
import type { StoredParty } from '../parties/party.js';
import { registerAdminRoutes } from './admin-routes.js';
import { createBreakerCollector, type BreakerCollector } from './breaker-collector.js';

const logger = createLogger({ service: 'gateway-admin-test', level: 'silent' });
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const USER_TOKEN = 'a-user-token';
const user: StoredParty = {
  kind: 'user',
  user: {
    userId: 'u-1',
    displayName: 'u',
    walletAccountId: 'w-1',
    pointsAccountId: 'p-1',
    createdAt: new Date(),
  },
};

/** The loose shape of every answer these tests read. */
interface Body {
  error: { code: string; details: { fields: Record<string, string> } };
  method: string;
  code: string;
  faults: { service: string; expiresAt: string }[];
  unreachable: string[];
  [breaker: string]: unknown;
}
const bodyOf = (response: { json(): unknown }): Body => response.json() as Body;
const breakerIn = (body: Body, name: string) =>
  body[name] as { state: string; rejections: number; lastTransitionAt: string | null };

const gatewayBreaker: BreakerSnapshot = {
  name: 'gateway→payment',
  caller: 'gateway',
  callee: 'payment',
  state: 'closed',
  successes: 3,
  failures: 0,
  rejections: 0,
  trips: 0,
  lastTransitionAt: null,
};

void describe('admin routes: faults and breakers', () => {
  let redis: RedisClient;
  let app: HttpApp;
  let paymentOps: GrpcServer;
  let breakers: BreakerCollector;
  let injector: RedisFaultInjector;
  const keyPrefix = `koban:test:faults:${randomBytes(6).toString('hex')}:`;

  before(async () => {
    redis = createRedis({ url: redisUrl, logger, name: 'admin-test' });
    await redis.connect();
    paymentOps = createGrpcServer({
      serviceName: 'payment',
      logger,
      domainErrorStatus: {},
      listBreakers: () => ({
        'payment→bank-integration': {
          state: 'open',
          successes: 10,
          failures: 5,
          rejections: 7,
          trips: 1,
          lastTransitionAt: '2030-01-01T00:00:00.000Z',
        },
      }),
    });
    const port = await paymentOps.listen(0);
    breakers = createBreakerCollector({
      logger,
      local: () => ({ 'gateway→payment': gatewayBreaker }),
      // Port 1 on loopback: nothing listens there, as for a service that is down.
      services: { payment: `127.0.0.1:${port}`, fraud: '127.0.0.1:1' },
      timeoutMs: 500,
    });
    app = buildHttpApp({ logger, readinessChecks: {} });
    const access = createAccessControl({
      adminToken: ADMIN_TOKEN,
      authenticate: (credential) =>
        credential === USER_TOKEN
          ? Promise.resolve(user)
          : Promise.reject(new DomainError('unauthenticated', 'unknown credential')),
      rateLimiter: { take: () => Promise.resolve({ allowed: true }) },
    });
    registerAdminRoutes(app, { access, faults: createFaultStore(redis, { keyPrefix }), breakers });
    await app.ready();
    injector = createRedisFaultInjector({ redis, logger, services: ['bank-integration'], keyPrefix });
    injector.start();
  });

  after(async () => {
    injector.stop();
    await app.close();
    breakers.close();
    await paymentOps.shutdown(100);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.close();
  });

  const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, token?: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });

  void it('requires the admin token: none is 401, a user token is 404', async () => {
    const anonymous = await call('PUT', '/v1/admin/faults/ledger', undefined, { errorRate: 1 });
    assert.equal(anonymous.statusCode, 401);
    const asUser = await call('GET', '/v1/admin/breakers', USER_TOKEN);
    assert.equal(asUser.statusCode, 404);
    assert.equal(bodyOf(asUser).error.code, 'not_found');
  });

  void it('rejects a bad fault with 400 naming the fields', async () => {
    const bad = await call('PUT', '/v1/admin/faults/ledger', ADMIN_TOKEN, {
      errorRate: 1.5,
      code: 'NOT_FOUND',
      latencyMs: -1,
      method: 'drop table',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(Object.keys(bodyOf(bad).error.details.fields).sort(), [
      'code',
      'errorRate',
      'latencyMs',
      'method',
    ]);
    const unknownService = await call('PUT', '/v1/admin/faults/billing', ADMIN_TOKEN, { errorRate: 1 });
    assert.equal(unknownService.statusCode, 400);
    assert.ok(bodyOf(unknownService).error.details.fields.service);
    const unknownField = await call('PUT', '/v1/admin/faults/ledger', ADMIN_TOKEN, { errorRatio: 1 });
    assert.equal(unknownField.statusCode, 400);
  });

  void it('sets a fault that reaches the service within 1 s, lists it, and clears it within 1 s', async () => {
    const put = await call('PUT', '/v1/admin/faults/bank-integration', ADMIN_TOKEN, {
      errorRate: 1,
      code: 'UNAVAILABLE',
      ttlSeconds: 60,
    });
    assert.equal(put.statusCode, 200);
    assert.equal(bodyOf(put).method, '*');
    assert.equal(bodyOf(put).code, 'UNAVAILABLE');
    const answeredAt = Date.now();
    while (injector.faultFor('bank-integration', 'CreateCharge') === undefined) {
      assert.ok(Date.now() - answeredAt < 1_000, 'the fault reached the service within 1 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(injector.faultFor('bank-integration', 'CreateCharge')?.errorRate, 1);

    const listed = await call('GET', '/v1/admin/faults', ADMIN_TOKEN);
    assert.equal(listed.statusCode, 200);
    const [fault] = bodyOf(listed).faults;
    assert.equal(fault?.service, 'bank-integration');
    assert.ok(Date.parse(fault?.expiresAt ?? '') > Date.now() + 50_000);

    const cleared = await call('DELETE', '/v1/admin/faults/bank-integration', ADMIN_TOKEN);
    assert.equal(cleared.statusCode, 204);
    const clearedAt = Date.now();
    while (injector.faultFor('bank-integration', 'CreateCharge') !== undefined) {
      assert.ok(Date.now() - clearedAt < 1_000, 'the fault ended within 1 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(bodyOf(await call('GET', '/v1/admin/faults', ADMIN_TOKEN)).faults, []);
  });

  void it('lists every breaker of every service and reports a silent service as unreachable', async () => {
    const started = Date.now();
    const response = await call('GET', '/v1/admin/breakers', ADMIN_TOKEN);
    assert.equal(response.statusCode, 200);
    assert.ok(Date.now() - started < 2_000, 'a dead service does not hold the answer up');
    const body = bodyOf(response);
    assert.equal(breakerIn(body, 'gateway→payment').state, 'closed');
    assert.equal(breakerIn(body, 'payment→bank-integration').state, 'open');
    assert.equal(breakerIn(body, 'payment→bank-integration').rejections, 7);
    assert.equal(breakerIn(body, 'payment→bank-integration').lastTransitionAt, '2030-01-01T00:00:00.000Z');
    assert.deepEqual(body.unreachable, ['fraud']);
  });
});

void describe('admin routes when FAULTS_ENABLED is off', () => {
  void it('answers 404 on every admin fault and breaker path, even to the admin', async () => {
    const gateway = await startGateway();
    try {
      for (const [method, url] of [
        ['PUT', '/v1/admin/faults/ledger'],
        ['DELETE', '/v1/admin/faults/ledger'],
        ['GET', '/v1/admin/faults'],
        ['GET', '/v1/admin/breakers'],
      ] as const) {
        const response = await gateway.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(method === 'PUT' ? { payload: { errorRate: 1 } } : {}),
        });
        assert.equal(response.statusCode, 404, `${method} ${url}`);
      }
    } finally {
      await gateway.close();
    }
  });
});
