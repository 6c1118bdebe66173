import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createLogger, type Logger } from '../src/logging/index.js';
import {
  DomainError,
  GrpcCallError,
  GrpcStatusError,
  createGrpcClient,
  createGrpcServer,
  createInMemoryFaultInjector,
  loadProtos,
  remainingBudgetMs,
  runWithRequestContext,
  toTimestamp,
  type CallPolicy,
  type GrpcServer,
  type ServiceHandlers,
} from '../src/grpc/index.js';
import { createInMemoryMetrics } from '../src/telemetry/in-memory-metrics.js';
import type { LedgerServiceDefinition } from '../src/generated/koban/ledger/v1/LedgerService.js';
import type { HealthCheckResponse__Output } from '../src/generated/grpc/health/v1/HealthCheckResponse.js';

// The real ledger and ops protos exercise the platform: the behaviours under test (status
// mapping, metadata, deadlines, faults) do not depend on what the messages mean.

type LogLine = { level: string; msg: string; [field: string]: unknown };

function capturedLogger(service: string): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  return { logger: createLogger({ service, destination, level: 'debug' }), lines };
}

/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(10);
    }
  }
}

function ledgerHandlers(
  overrides: Partial<ServiceHandlers<LedgerServiceDefinition>>,
): ServiceHandlers<LedgerServiceDefinition> {
  const notInThisTest = () => {
    throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by this test');
  };
  return {
    OpenAccount: notInThisTest,
    GetAccount: notInThisTest,
    LookupAccount: notInThisTest,
    Transfer: notInThisTest,
    GetTransfer: notInThisTest,
    GetBalance: notInThisTest,
    GetBalances: notInThisTest,
    ListEntries: notInThisTest,
    ...overrides,
  };
}

/** A policy that records what it saw, standing in for the resilience module's. */
function recordingPolicy(options: { abortAfterMs?: number } = {}) {
  const seen: Array<{ idempotent: boolean; settled: 'resolved' | 'rejected' }> = [];
  const policy: CallPolicy = {
    async execute(fn, { idempotent }) {
      const controller = new AbortController();
      const timer =
        options.abortAfterMs === undefined
          ? undefined
          : setTimeout(() => controller.abort(), options.abortAfterMs);
      try {
        const value = await fn({ signal: controller.signal });
        seen.push({ idempotent, settled: 'resolved' });
        return value;
      } catch (error) {
        seen.push({ idempotent, settled: 'rejected' });
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return { policy, seen };
}

const ledgerErrorStatus = {
  insufficient_funds: grpc.status.FAILED_PRECONDITION,
  account_not_found: grpc.status.NOT_FOUND,
} as const;

// A stuck call must fail the run quickly rather than wait for a connection to age out.
describe('gRPC server and client', { timeout: 30_000 }, () => {
  const protos = loadProtos();
  const LedgerService = protos.koban.ledger.v1.LedgerService;
  const faults = createInMemoryFaultInjector();
  const ledgerMetrics = createInMemoryMetrics();
  const ledgerLogs = capturedLogger('ledger');
  const paymentLogs = capturedLogger('payment');
  const seenByLedger: { deadline: number | undefined; receivedAt: number; calls: number } = {
    deadline: undefined,
    receivedAt: 0,
    calls: 0,
  };
  let seenByPaymentBudgetMs = Infinity;
  let ledgerServer: GrpcServer;
  let paymentServer: GrpcServer;
  let ledgerAddress = '';
  let paymentAddress = '';
  const clients: Array<{ close(): void }> = [];
  const client = <T extends { close(): void }>(created: T): T => {
    clients.push(created);
    return created;
  };

  before(async () => {
    // "ledger": the downstream, with domain errors, a bug, faults and breakers to report.
    ledgerServer = createGrpcServer({
      serviceName: 'ledger',
      logger: ledgerLogs.logger,
      domainErrorStatus: ledgerErrorStatus,
      faultInjector: faults,
      random: () => 0.5,
      host: '127.0.0.1',
      meter: ledgerMetrics.meter,
      listBreakers: () => ({
        'ledger→redis': {
          state: 'half-open',
          successes: 3,
          failures: 5,
          rejections: 2,
          trips: 1,
          lastTransitionAt: '2030-01-02T03:04:05.678Z',
        },
      }),
    });
    ledgerServer.addService(
      LedgerService.service,
      ledgerHandlers({
        GetBalance: (request, call) => {
          const deadline = call.getDeadline();
          const ms = deadline instanceof Date ? deadline.getTime() : deadline;
          seenByLedger.deadline = Number.isFinite(ms) ? ms : undefined;
          seenByLedger.receivedAt = Date.now();
          seenByLedger.calls += 1;
          return {
            balance: {
              accountId: request.accountId,
              currency: 'JPY',
              available: 1500,
              asOf: toTimestamp(Date.now()),
            },
          };
        },
        Transfer: () => {
          throw new DomainError('insufficient_funds', 'the payer cannot cover 2000', {
            accountId: 'acc-1',
            available: 100,
          });
        },
        GetAccount: async () => {
          await Promise.resolve();
          throw new Error('connection to db-7.internal refused for user koban_ledger');
        },
        LookupAccount: () => {
          throw new DomainError('not_in_the_map', 'a code the service forgot to map');
        },
      }),
    );
    const ledgerPort = await ledgerServer.listen(0);
    ledgerAddress = `127.0.0.1:${ledgerPort}`;

    // "payment": an upstream whose handler calls the ledger, to observe deadline propagation.
    const ledgerFromPayment = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 10_000 }));
    paymentServer = createGrpcServer({
      serviceName: 'payment',
      logger: paymentLogs.logger,
      domainErrorStatus: ledgerErrorStatus,
      host: '127.0.0.1',
    });
    paymentServer.addService(
      LedgerService.service,
      ledgerHandlers({
        GetBalance: async (request) => {
          seenByPaymentBudgetMs = remainingBudgetMs();
          return ledgerFromPayment.getBalance({ accountId: request.accountId });
        },
      }),
    );
    paymentAddress = `127.0.0.1:${await paymentServer.listen(0)}`;
  });

  after(async () => {
    for (const created of clients) created.close();
    await Promise.all([ledgerServer.shutdown(1_000), paymentServer.shutdown(1_000)]);
    await ledgerMetrics.shutdown();
  });

  describe('health and ops', () => {
    it('answers SERVING for the server and each of its services once listening', async () => {
      const health = client(
        createGrpcClient(protos.grpc.health.v1.Health, ledgerAddress, { timeoutMs: 2_000 }),
      );
      for (const service of ['', 'koban.ledger.v1.LedgerService', 'koban.ops.v1.OpsService']) {
        const answer = await health.check({ service });
        assert.equal(answer.status, 'SERVING', `health of "${service}"`);
      }
    });

    it('lets a service be marked NOT_SERVING and back', async () => {
      const health = client(
        createGrpcClient(protos.grpc.health.v1.Health, ledgerAddress, { timeoutMs: 2_000 }),
      );
      ledgerServer.setServingStatus('koban.ledger.v1.LedgerService', 'NOT_SERVING');
      try {
        assert.equal(
          (await health.check({ service: 'koban.ledger.v1.LedgerService' })).status,
          'NOT_SERVING',
        );
      } finally {
        ledgerServer.setServingStatus('koban.ledger.v1.LedgerService', 'SERVING');
      }
      assert.equal((await health.check({ service: 'koban.ledger.v1.LedgerService' })).status, 'SERVING');
    });

    it('lists the breakers given by the resilience module', async () => {
      const ops = client(
        createGrpcClient(protos.koban.ops.v1.OpsService, ledgerAddress, { timeoutMs: 2_000 }),
      );
      const answer = await ops.listBreakers({});
      assert.equal(answer.service, 'ledger');
      assert.match(answer.instance, /:\d+$/);
      assert.deepEqual(answer.breakers, [
        {
          name: 'ledger→redis',
          caller: 'ledger',
          callee: 'redis',
          state: 'BREAKER_STATE_HALF_OPEN',
          successes: '3',
          failures: '5',
          rejections: '2',
          trips: '1',
          lastTransitionAt: toTimestamp(Date.parse('2030-01-02T03:04:05.678Z')),
        },
      ]);
    });

    it('answers an empty list when the service has no breakers', async () => {
      const ops = client(
        createGrpcClient(protos.koban.ops.v1.OpsService, paymentAddress, { timeoutMs: 2_000 }),
      );
      assert.deepEqual((await ops.listBreakers({})).breakers, []);
    });
  });

  describe('metrics', () => {
    it('records each served call in rpc.server.call.duration by method and status, health checks aside', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const health = client(
        createGrpcClient(protos.grpc.health.v1.Health, ledgerAddress, { timeoutMs: 2_000 }),
      );
      const transfers = async () =>
        (await ledgerMetrics.points('rpc.server.call.duration')).find(
          (p) =>
            p.attributes['rpc.method'] === 'koban.ledger.v1.LedgerService/Transfer' &&
            p.attributes['rpc.status_code'] === 'FAILED_PRECONDITION',
        )?.count ?? 0;
      const before = await transfers();
      await ledger.transfer({ transferId: 't-metrics' }).catch(() => undefined);
      await ledger.transfer({ transferId: 't-metrics' }).catch(() => undefined);
      await health.check({ service: '' });
      assert.equal(await transfers(), before + 2);
      const methods = (await ledgerMetrics.points('rpc.server.call.duration')).map(
        (p) => p.attributes['rpc.method'],
      );
      assert.ok(!methods.some((m) => String(m).startsWith('grpc.health')), `methods: ${methods.join(', ')}`);
    });
  });

  describe('errors', () => {
    it('delivers a DomainError to the client with its code, mapped status and details', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const before = ledgerLogs.lines.length;
      const error = await ledger.transfer({ transferId: 't-1' }).then(
        () => assert.fail('expected a DomainError'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof DomainError, `got ${String(error)}`);
      assert.equal(error.code, 'insufficient_funds');
      assert.equal(error.status, grpc.status.FAILED_PRECONDITION);
      assert.equal(error.message, 'the payer cannot cover 2000');
      assert.deepEqual(error.details, { accountId: 'acc-1', available: 100 });
      assert.deepEqual(
        ledgerLogs.lines.slice(before).filter((line) => line.level === 'error'),
        [],
        'a business outcome is not an error to log',
      );
    });

    it('answers an unexpected throw with INTERNAL, hides its message and logs it once', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const before = ledgerLogs.lines.length;
      const error = await ledger.getAccount({ accountId: 'acc-1' }).then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof GrpcCallError, `got ${String(error)}`);
      assert.equal(error.code, grpc.status.INTERNAL);
      assert.equal(error.details, 'internal error');
      assert.doesNotMatch(error.message, /db-7|koban_ledger/);
      await eventually(() => {
        const logged = ledgerLogs.lines.slice(before).filter((line) => line.level === 'error');
        assert.equal(logged.length, 1);
        const [line] = logged;
        assert.equal(line?.['rpc'], '/koban.ledger.v1.LedgerService/GetAccount');
        assert.match(JSON.stringify(line?.['err']), /db-7\.internal refused/);
      });
    });

    it('treats a domain code missing from the service map as a bug', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const before = ledgerLogs.lines.length;
      const error = await ledger.lookupAccount({ ownerId: 'u-1' }).then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof GrpcCallError, `got ${String(error)}`);
      assert.equal(error.code, grpc.status.INTERNAL);
      await eventually(() =>
        assert.equal(ledgerLogs.lines.slice(before).filter((line) => line.level === 'error').length, 1),
      );
    });
  });

  describe('deadlines', () => {
    it('propagates the caller’s remaining budget to the calls a handler makes', async () => {
      const payment = client(createGrpcClient(LedgerService, paymentAddress, { timeoutMs: 800 }));
      const answer = await payment.getBalance({ accountId: 'acc-9' });
      assert.equal(answer.balance?.available, '1500');
      assert.ok(
        seenByPaymentBudgetMs <= 800 && seenByPaymentBudgetMs > 0,
        `payment saw ${seenByPaymentBudgetMs} ms`,
      );
      assert.ok(seenByLedger.deadline !== undefined, 'the ledger call had a deadline');
      const ledgerBudget = seenByLedger.deadline - seenByLedger.receivedAt;
      // The ledger client's own timeout is 10 s: only propagation explains a budget under 800 ms,
      // and the ledger never gets more time than payment had left (the wire rounds up to 1 ms).
      assert.ok(ledgerBudget > 0 && ledgerBudget <= 800, `ledger saw ${ledgerBudget} ms`);
      assert.ok(
        ledgerBudget <= seenByPaymentBudgetMs + 1,
        `ledger saw ${ledgerBudget} ms after payment's ${seenByPaymentBudgetMs}`,
      );
    });

    it('fails a call at once when the request has no budget left, without reaching the server', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const callsBefore = seenByLedger.calls;
      const error = await runWithRequestContext({ deadline: Date.now() - 1 }, () =>
        ledger.getBalance({ accountId: 'acc-1' }).then(
          () => assert.fail('expected DEADLINE_EXCEEDED'),
          (caught: unknown) => caught,
        ),
      );
      assert.ok(error instanceof GrpcCallError, `got ${String(error)}`);
      assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED);
      assert.equal(seenByLedger.calls, callsBefore);
    });

    it('uses the shorter of the call timeout and the remaining budget', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 60_000 }));
      const start = Date.now();
      await runWithRequestContext({ deadline: start + 700 }, () => ledger.getBalance({ accountId: 'acc-1' }));
      const propagated = (seenByLedger.deadline ?? Infinity) - seenByLedger.receivedAt;
      assert.ok(propagated <= 700, `ledger saw ${propagated} ms`);
      await ledger.getBalance({ accountId: 'acc-1' }, { timeoutMs: 300 });
      const budget = (seenByLedger.deadline ?? Infinity) - seenByLedger.receivedAt;
      assert.ok(budget <= 300, `ledger saw ${budget} ms`);
    });
  });

  describe('fault injection', () => {
    it('fails calls of the faulted method with the configured code, and only those', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      faults.set({ service: 'ledger', method: 'GetBalance', errorRate: 1, code: grpc.status.UNAVAILABLE });
      try {
        const error = await ledger.getBalance({ accountId: 'acc-1' }).catch((caught: unknown) => caught);
        assert.ok(error instanceof GrpcCallError, `got ${String(error)}`);
        assert.equal(error.code, grpc.status.UNAVAILABLE);
        const other = await ledger.transfer({ transferId: 't-2' }).catch((caught: unknown) => caught);
        assert.ok(other instanceof DomainError, 'Transfer is not faulted');
      } finally {
        faults.clear('ledger');
      }
      assert.equal((await ledger.getBalance({ accountId: 'acc-1' })).balance?.available, '1500');
    });

    it('fails a share of calls set by the error rate', async () => {
      // The server's random source is pinned at 0.5.
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      try {
        faults.set({ service: 'ledger', method: 'GetBalance', errorRate: 0.4, code: grpc.status.INTERNAL });
        await ledger.getBalance({ accountId: 'acc-1' });
        faults.set({ service: 'ledger', method: 'GetBalance', errorRate: 0.6, code: grpc.status.INTERNAL });
        const error = await ledger.getBalance({ accountId: 'acc-1' }).catch((caught: unknown) => caught);
        assert.ok(
          error instanceof GrpcCallError && error.code === grpc.status.INTERNAL,
          `got ${String(error)}`,
        );
      } finally {
        faults.clear('ledger');
      }
    });

    it('fails every RPC under "*" but never health or ops', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      const health = client(
        createGrpcClient(protos.grpc.health.v1.Health, ledgerAddress, { timeoutMs: 2_000 }),
      );
      const ops = client(
        createGrpcClient(protos.koban.ops.v1.OpsService, ledgerAddress, { timeoutMs: 2_000 }),
      );
      faults.set({ service: 'ledger', method: '*', errorRate: 1, code: grpc.status.DEADLINE_EXCEEDED });
      try {
        for (const call of [() => ledger.transfer({}), () => ledger.getBalance({})]) {
          const error = await call().catch((caught: unknown) => caught);
          assert.ok(
            error instanceof GrpcCallError && error.code === grpc.status.DEADLINE_EXCEEDED,
            String(error),
          );
        }
        const answer: HealthCheckResponse__Output = await health.check({ service: '' });
        assert.equal(answer.status, 'SERVING');
        assert.equal((await ops.listBreakers({})).breakers.length, 1);
      } finally {
        faults.clear('ledger');
      }
    });

    it('delays calls by the configured latency, past the deadline if it is longer', async () => {
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000 }));
      faults.set({ service: 'ledger', method: 'GetBalance', latencyMs: 250 });
      try {
        const start = Date.now();
        await ledger.getBalance({ accountId: 'acc-1' });
        assert.ok(Date.now() - start >= 240, `answered after ${Date.now() - start} ms`);
        const error = await ledger
          .getBalance({ accountId: 'acc-1' }, { timeoutMs: 100 })
          .catch((e: unknown) => e);
        assert.ok(
          error instanceof GrpcCallError && error.code === grpc.status.DEADLINE_EXCEEDED,
          String(error),
        );
      } finally {
        faults.clear('ledger');
      }
    });
  });

  describe('client policy', () => {
    it('resolves business outcomes through the policy, so a breaker does not count them', async () => {
      const { policy, seen } = recordingPolicy();
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000, policy }));
      await assert.rejects(ledger.transfer({ transferId: 't-3' }), DomainError);
      await assert.rejects(ledger.getAccount({ accountId: 'acc-1' }), GrpcCallError);
      assert.deepEqual(seen, [
        { idempotent: true, settled: 'resolved' },
        { idempotent: true, settled: 'rejected' },
      ]);
    });

    it('does not count running out of the caller’s budget against the dependency', async () => {
      const { policy, seen } = recordingPolicy();
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000, policy }));
      faults.set({ service: 'ledger', method: 'GetBalance', latencyMs: 500 });
      try {
        const error = await runWithRequestContext({ deadline: Date.now() + 100 }, () =>
          ledger.getBalance({ accountId: 'acc-1' }).catch((caught: unknown) => caught),
        );
        assert.ok(
          error instanceof GrpcCallError && error.code === grpc.status.DEADLINE_EXCEEDED,
          String(error),
        );
        assert.deepEqual(seen, [{ idempotent: true, settled: 'resolved' }]);
      } finally {
        faults.clear('ledger');
      }
    });

    it('tells the policy whether the method is idempotent, from the proto or the call', async () => {
      const { policy, seen } = recordingPolicy();
      const health = client(
        createGrpcClient(protos.grpc.health.v1.Health, ledgerAddress, { timeoutMs: 2_000, policy }),
      );
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 2_000, policy }));
      await health.check({ service: '' });
      await ledger.getBalance({ accountId: 'acc-1' }, { idempotent: false });
      assert.deepEqual(
        seen.map((entry) => entry.idempotent),
        [false, false],
      );
    });

    it('cancels the gRPC call when the policy aborts its signal', async () => {
      const { policy, seen } = recordingPolicy({ abortAfterMs: 50 });
      const ledger = client(createGrpcClient(LedgerService, ledgerAddress, { timeoutMs: 5_000, policy }));
      faults.set({ service: 'ledger', method: 'GetBalance', latencyMs: 3_000 });
      try {
        const start = Date.now();
        const error = await ledger.getBalance({ accountId: 'acc-1' }).catch((caught: unknown) => caught);
        assert.ok(error instanceof GrpcCallError && error.code === grpc.status.CANCELLED, String(error));
        assert.ok(Date.now() - start < 2_000, 'the call ended with the abort, not with the fault');
        assert.deepEqual(seen, [{ idempotent: true, settled: 'rejected' }]);
      } finally {
        faults.clear('ledger');
      }
    });
  });
});

describe('gRPC server shutdown', { timeout: 30_000 }, () => {
  it('reports NOT_SERVING to health watchers, then cancels calls left after the grace period', async () => {
    const { logger } = capturedLogger('shutdown');
    const server = createGrpcServer({
      serviceName: 'ledger',
      logger,
      domainErrorStatus: {},
      host: '127.0.0.1',
    });
    const port = await server.listen(0);
    const { Health } = loadProtos().grpc.health.v1;
    const raw = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const statuses: string[] = [];
    // A Watch stream stays open: it is the call still in flight when the server shuts down.
    const watch = raw.watch({ service: '' });
    watch.on('data', (answer: HealthCheckResponse__Output) => statuses.push(answer.status));
    watch.on('error', () => {
      // Ended by the forced shutdown, as expected.
    });
    await eventually(() => assert.deepEqual(statuses, ['SERVING']));
    const start = Date.now();
    await server.shutdown(200);
    assert.ok(Date.now() - start >= 190, 'waited for the grace period');
    await eventually(() => assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']));
    raw.close();
  });
});
