import * as grpc from '@grpc/grpc-js';
import { ValueType, type Attributes, type Histogram, type Meter } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  METRIC_RPC_SERVER_CALL_DURATION,
  RPC_SYSTEM_NAME_VALUE_GRPC,
} from '@opentelemetry/semantic-conventions';
import { statusName } from './grpc-errors.js';

/**
 * The server side of the RPC SLIs: one duration histogram per call, from which latency
 * percentiles, call rates and error rates by method and status code are all derived.
 */
export interface RpcServerMetrics {
  /** Records one finished call of `path` (`/koban.payment.v1.PaymentService/CreatePayment`). */
  recordCall(path: string, code: grpc.status, durationSeconds: number): void;
}

// The statuses the gRPC semantic conventions count as errors of the server itself: the others
// (NOT_FOUND, FAILED_PRECONDITION...) are answers about the request, not failures to serve it.
const serverErrorStatuses: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

// Same boundaries as @opentelemetry/instrumentation-http's request duration, so HTTP and RPC
// percentiles are read off the same grid: 5 ms to 10 s.
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * The attributes of a call in the stable RPC semantic conventions: `rpc.system.name` (grpc),
 * `rpc.method` fully qualified (`koban.payment.v1.PaymentService/CreatePayment`),
 * `rpc.status_code` as the status name (`OK`, `DEADLINE_EXCEEDED`), and `error.type` (the same
 * name) only for a status that is a server error.
 */
export function rpcCallAttributes(path: string, code: grpc.status): Attributes {
  const status = statusName(code);
  return {
    [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC,
    [ATTR_RPC_METHOD]: path.startsWith('/') ? path.slice(1) : path,
    [ATTR_RPC_STATUS_CODE]: status,
    ...(serverErrorStatuses.has(code) ? { [ATTR_ERROR_TYPE]: status } : {}),
  };
}

// One histogram per meter: every server of the process records into the same instrument.
const byMeter = new WeakMap<Meter, Histogram>();

/**
 * `rpc.server.call.duration` (seconds) on `meter`. @opentelemetry/instrumentation-grpc records
 * spans only (no metrics), so the platform's server wrapper records it for every unary call.
 */
export function rpcServerMetrics(meter: Meter): RpcServerMetrics {
  let histogram = byMeter.get(meter);
  if (histogram === undefined) {
    histogram = meter.createHistogram(METRIC_RPC_SERVER_CALL_DURATION, {
      description: 'Duration of incoming gRPC calls, from the handler being invoked to the answer',
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: durationBuckets },
    });
    byMeter.set(meter, histogram);
  }
  const instrument = histogram;
  return {
    recordCall(path, code, durationSeconds) {
      instrument.record(durationSeconds, rpcCallAttributes(path, code));
    },
  };
}
