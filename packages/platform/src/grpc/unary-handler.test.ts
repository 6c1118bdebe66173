import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DatabaseUnavailableError } from '../db/sql-access.js';
import { createLogger } from '../logging/index.js';
import { createInMemoryMetrics } from '../telemetry/in-memory-metrics.js';
import { DomainError } from './domain-error.js';
import { GrpcCallError, GrpcStatusError } from './grpc-errors.js';
import { currentRequestContext } from './request-context.js';
import { rpcServerMetrics } from './server-metrics.js';
import {
  toServerError,
  wrapUnaryHandler,
  type UnaryHandler,
  type UnaryHandlerSettings,
} from './unary-handler.js';

type LogLine = { level: string; msg: string; trace_id?: string; span_id?: string; [field: string]: unknown };

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';

function settingsWithLogs(overrides: Partial<UnaryHandlerSettings> = {}) {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const settings: UnaryHandlerSettings = {
    serviceName: 'ledger',
    rpcName: 'Transfer',
    path: '/koban.ledger.v1.LedgerService/Transfer',
    logger,
    domainErrorStatus: { insufficient_funds: grpc.status.FAILED_PRECONDITION },
    random: () => 0,
    ...overrides,
  };
  return { settings, lines };
}

/** A stand-in for grpc-js's call object with what the wrapper reads. */
function fakeCall(deadline: grpc.Deadline, requestId?: string) {
  const metadata = new grpc.Metadata();
  if (requestId !== undefined) metadata.set('x-request-id', requestId);
  return Object.assign(new EventEmitter(), {
    request: {},
    metadata,
    cancelled: false,
    getDeadline: () => deadline,
  }) as unknown as grpc.ServerUnaryCall<object, object>;
}

function invoke(
  handler: UnaryHandler<object, object>,
  settings: UnaryHandlerSettings,
  call = fakeCall(Infinity),
): Promise<{ error: grpc.ServerErrorResponse | null; value: object | undefined }> {
  return new Promise((resolve) => {
    wrapUnaryHandler(handler, settings)(call, (error, value) =>
      resolve({ error: error as grpc.ServerErrorResponse | null, value: value ?? undefined }),
    );
  });
}

function inSpan<T>(fn: () => T): T {
  const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
  return context.with(trace.setSpan(context.active(), span), fn);
}

describe('unary handler wrapper', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => {
    context.disable();
    contextManager.disable();
  });

  it('logs an unexpected error once, with the trace id of the call, and hides it', async () => {
    const { settings, lines } = settingsWithLogs();
    const { error } = await inSpan(() =>
      invoke(async () => {
        await Promise.resolve();
        throw new Error('pool exhausted on db-3');
      }, settings),
    );
    assert.equal(error?.code, grpc.status.INTERNAL);
    assert.equal(error?.details, 'internal error');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.equal(lines[0]?.trace_id, traceId);
    assert.equal(lines[0]?.span_id, spanId);
    assert.match(JSON.stringify(lines[0]?.['err']), /pool exhausted on db-3/);
  });

  it('maps a DomainError to its status and metadata without logging', async () => {
    const { settings, lines } = settingsWithLogs();
    const { error } = await invoke(() => {
      throw new DomainError('insufficient_funds', 'not enough', { available: 3 });
    }, settings);
    assert.equal(error?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(error?.details, 'not enough');
    assert.deepEqual(error?.metadata?.get('koban-error-code'), ['insufficient_funds']);
    assert.deepEqual(lines, []);
  });

  it('answers a deliberate GrpcStatusError with its status and message', async () => {
    const { settings } = settingsWithLogs();
    const { error } = await invoke(() => {
      throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'ledger is down');
    }, settings);
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.equal(error?.details, 'ledger is down');
  });

  it('passes a downstream UNAVAILABLE on with a generic message, logged as a warning', async () => {
    const { settings, lines } = settingsWithLogs();
    const { error } = await invoke(() => {
      throw new GrpcCallError(
        grpc.status.UNAVAILABLE,
        '/koban.fraud.v1.FraudService/Score',
        'connect ECONNREFUSED',
      );
    }, settings);
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.doesNotMatch(error?.details ?? '', /ECONNREFUSED/);
    assert.deepEqual(
      lines.map((line) => line.level),
      ['warn'],
    );
  });

  it('answers an unreachable database or its open breaker with UNAVAILABLE, logged as a warning', async () => {
    const { settings, lines } = settingsWithLogs();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), {
      code: 'ECONNREFUSED',
      fatal: true,
    });
    const open = new DatabaseUnavailableError('DB_BREAKER_OPEN', { cause: new Error('open') });
    for (const thrown of [refused, open]) {
      const { error } = await invoke(() => {
        throw thrown;
      }, settings);
      assert.equal(error?.code, grpc.status.UNAVAILABLE);
      assert.doesNotMatch(error?.details ?? '', /ECONNREFUSED|breaker/);
    }
    assert.deepEqual(
      lines.map((line) => line.level),
      ['warn', 'warn'],
    );
  });

  it('hides any other downstream failure behind INTERNAL', async () => {
    const { settings } = settingsWithLogs();
    const { error } = await invoke(() => {
      throw new GrpcCallError(grpc.status.NOT_FOUND, '/koban.ledger.v1.LedgerService/GetAccount', 'no row');
    }, settings);
    assert.equal(error?.code, grpc.status.INTERNAL);
  });

  it('runs the handler with the call’s deadline and request id in the request context', async () => {
    const { settings } = settingsWithLogs();
    const deadline = new Date(Date.now() + 5_000);
    const { value } = await invoke(
      async () => {
        await Promise.resolve();
        return { ...currentRequestContext() };
      },
      settings,
      fakeCall(deadline, 'req-42'),
    );
    assert.deepEqual(value, { deadline: deadline.getTime(), requestId: 'req-42' });
  });

  it('answers with an injected fault without running the handler', async () => {
    let ran = false;
    const { settings } = settingsWithLogs({
      faultInjector: { faultFor: () => ({ errorRate: 0.5, code: grpc.status.INTERNAL }) },
      random: () => 0.1,
    });
    const { error } = await invoke(() => {
      ran = true;
      return {};
    }, settings);
    assert.equal(error?.code, grpc.status.INTERNAL);
    assert.equal(ran, false);
  });

  it('records each call in rpc.server.call.duration with its method and status', async () => {
    const recorded = createInMemoryMetrics();
    const { settings } = settingsWithLogs({ callMetrics: rpcServerMetrics(recorded.meter) });
    await invoke(async () => {
      await delay(20);
      return {};
    }, settings);
    await invoke(() => {
      throw new DomainError('insufficient_funds', 'not enough');
    }, settings);
    await invoke(() => {
      throw new Error('bug');
    }, settings);

    const points = await recorded.points('rpc.server.call.duration');
    const byStatus = new Map(points.map((p) => [p.attributes['rpc.status_code'], p]));
    assert.deepEqual([...byStatus.keys()].sort(), ['FAILED_PRECONDITION', 'INTERNAL', 'OK']);
    for (const p of points) {
      assert.equal(p.attributes['rpc.system.name'], 'grpc');
      assert.equal(p.attributes['rpc.method'], 'koban.ledger.v1.LedgerService/Transfer');
      assert.equal(p.count, 1);
    }
    // Seconds, not milliseconds: the OK call slept 20 ms.
    const ok = byStatus.get('OK')?.value ?? 0;
    assert.ok(ok >= 0.015 && ok < 5, `OK call took ${ok} s`);
    // Only a failure to serve is an error.type; a business answer is not.
    assert.equal(byStatus.get('INTERNAL')?.attributes['error.type'], 'INTERNAL');
    assert.equal(byStatus.get('FAILED_PRECONDITION')?.attributes['error.type'], undefined);
    await recorded.shutdown();
  });

  it('records a call whose caller left during an injected latency as CANCELLED, without answering', async () => {
    const recorded = createInMemoryMetrics();
    const { settings } = settingsWithLogs({
      callMetrics: rpcServerMetrics(recorded.meter),
      faultInjector: { faultFor: () => ({ latencyMs: 60_000 }) },
    });
    const call = Object.assign(fakeCall(Infinity), { cancelled: true });
    let answered = false;
    wrapUnaryHandler(() => ({}), settings)(call, () => {
      answered = true;
    });
    const deadline = Date.now() + 2_000;
    while ((await recorded.points('rpc.server.call.duration')).length === 0) {
      assert.ok(Date.now() < deadline, 'no call recorded');
      await delay(5);
    }
    const [point, ...others] = await recorded.points('rpc.server.call.duration');
    assert.equal(point?.attributes['rpc.status_code'], 'CANCELLED');
    assert.deepEqual(others, []);
    assert.equal(answered, false);
    await recorded.shutdown();
  });

  it('treats an error without a status the same as a thrown value of any kind', () => {
    const { settings, lines } = settingsWithLogs();
    assert.equal(toServerError('a string was thrown', settings).code, grpc.status.INTERNAL);
    assert.equal(lines.length, 1);
  });
});
