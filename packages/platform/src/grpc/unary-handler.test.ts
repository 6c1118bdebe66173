import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createLogger } from '../logging/index.js';
import { DomainError } from './domain-error.js';
import { GrpcCallError, GrpcStatusError } from './grpc-errors.js';
import { currentRequestContext } from './request-context.js';
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

  it('treats an error without a status the same as a thrown value of any kind', () => {
    const { settings, lines } = settingsWithLogs();
    assert.equal(toServerError('a string was thrown', settings).code, grpc.status.INTERNAL);
    assert.equal(lines.length, 1);
  });
});
