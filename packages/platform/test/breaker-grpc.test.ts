// A client breaker against a real gRPC server: opens after failures, fails fast while open
// (the server sees no call), half-opens after its delay and closes after a successful trial.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { BrokenCircuitError } from 'cockatiel';
import { createLogger } from '../src/logging/index.js';
import {
  GrpcCallError,
  GrpcStatusError,
  createGrpcClient,
  createGrpcServer,
  createInMemoryFaultInjector,
  loadProtos,
  type FaultInjector,
  type GrpcServer,
} from '../src/grpc/index.js';
import { createDependencyPolicy, resetBreakerRegistry } from '../src/resilience/index.js';

const logger = createLogger({ service: 'breaker-test', level: 'silent' });

describe('a circuit breaker in front of a real gRPC server', { timeout: 30_000 }, () => {
  const faults = createInMemoryFaultInjector();
  let callsReachingServer = 0;
  const countingInjector: FaultInjector = {
    faultFor(service, method) {
      callsReachingServer += 1;
      return faults.faultFor(service, method);
    },
  };
  let server: GrpcServer;
  let port: number;

  before(async () => {
    const protos = loadProtos();
    server = createGrpcServer({
      serviceName: 'ledger',
      logger,
      domainErrorStatus: {},
      faultInjector: countingInjector,
    });
    const unused = () => {
      throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by this test');
    };
    server.addService(protos.koban.ledger.v1.LedgerService.service, {
      OpenAccount: unused,
      GetAccount: unused,
      LookupAccount: unused,
      Transfer: unused,
      GetTransfer: unused,
      GetBalances: unused,
      ListEntries: unused,
      GetBalance: (request) => ({
        balance: { accountId: request.accountId, currency: 'JPY', available: '1500', asOf: null },
      }),
    });
    port = await server.listen(0);
  });

  after(async () => {
    await server.shutdown(1_000);
    resetBreakerRegistry();
  });

  it('opens after repeated failures, fails fast while open, half-opens and closes', async () => {
    const policy = createDependencyPolicy(
      {
        caller: 'test',
        callee: 'ledger',
        timeoutMs: 1_000,
        retry: false,
        breaker: { halfOpenAfterMs: 300 },
      },
      { logger },
    );
    const ledger = createGrpcClient(loadProtos().koban.ledger.v1.LedgerService, `127.0.0.1:${port}`, {
      timeoutMs: 1_000,
      policy,
    });
    try {
      const ok = await ledger.getBalance({ accountId: 'acc-1' });
      assert.equal(ok.balance?.available, '1500');
      assert.equal(policy.snapshot().state, 'closed');

      faults.set({ service: 'ledger', method: 'GetBalance', errorRate: 1, code: grpc.status.UNAVAILABLE });
      // After one success, the 4th failure already opens it by rate (4 of 5 calls in the
      // window failed); the 5th consecutive failure would open it by count in any case.
      let failures = 0;
      while (policy.snapshot().state === 'closed') {
        assert.ok(failures < 5, 'breaker still closed after 5 consecutive failures');
        await assert.rejects(ledger.getBalance({ accountId: 'acc-1' }), (error: unknown) => {
          assert.ok(error instanceof GrpcCallError, `unexpected ${String(error)}`);
          assert.equal(error.code, grpc.status.UNAVAILABLE);
          return true;
        });
        failures += 1;
      }
      assert.equal(failures, 4);
      assert.equal(policy.snapshot().state, 'open');

      const reachedBefore = callsReachingServer;
      const started = performance.now();
      await assert.rejects(ledger.getBalance({ accountId: 'acc-1' }), BrokenCircuitError);
      const rejectedInMs = performance.now() - started;
      assert.equal(callsReachingServer, reachedBefore, 'an open breaker must not call the server');
      console.log(`open breaker rejected in ${rejectedInMs.toFixed(3)} ms`);

      faults.clear('ledger');
      const deadline = Date.now() + 5_000;
      while (policy.snapshot().state !== 'half-open') {
        assert.ok(Date.now() < deadline, 'breaker did not half-open');
        await delay(20);
      }
      const trial = await ledger.getBalance({ accountId: 'acc-1' });
      assert.equal(trial.balance?.available, '1500');
      assert.equal(policy.snapshot().state, 'closed');
      assert.equal(policy.snapshot().trips, 1);
    } finally {
      ledger.close();
      policy.dispose();
    }
  });
});
