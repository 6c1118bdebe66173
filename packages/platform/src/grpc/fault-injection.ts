import * as grpc from '@grpc/grpc-js';
import type { Fault__Output } from '../generated/koban/ops/v1/Fault.js';
import { timestampToMillis } from './timestamp.js';

/** What an injected fault does to one call: delay it, then fail a share of such calls. */
export interface FaultSpec {
  /** Added before the handler runs; 0 or absent for none. */
  latencyMs?: number | undefined;
  /** Share of calls that fail, 0 to 1; 0 or absent for none. */
  errorRate?: number | undefined;
  /** The status failing calls end with; UNAVAILABLE when absent. */
  code?: grpc.status | undefined;
}

/**
 * Where a gRPC server learns which of its calls to misbehave on. Asked once per call, so it must
 * answer from memory (the Redis-backed implementation refreshes in the background).
 *
 * `service` is the Koban service name (`payment`, `bank-integration`...), `method` the RPC name
 * (`CreatePayment`). Health checks and OpsService are never asked about.
 */
export interface FaultInjector {
  faultFor(service: string, method: string): FaultSpec | undefined;
}

/** A fault as configured: which calls it matches, what it does, until when. */
export interface ConfiguredFault extends FaultSpec {
  service: string;
  /** An RPC name, or `*` for all of the service's RPCs. */
  method: string;
  /** Epoch milliseconds after which it no longer applies; absent for no expiry. */
  expiresAt?: number | undefined;
}

/** A FaultInjector held in memory, for tests and single-process tools. */
export interface InMemoryFaultInjector extends FaultInjector {
  /** Adds or replaces the fault for that service and method. */
  set(fault: ConfiguredFault): void;
  /** Removes every fault of the service. */
  clear(service: string): void;
  /** The faults still in force. */
  list(): ConfiguredFault[];
}

/**
 * Picks the fault that applies to a call among configured ones: an exact method match wins
 * over `*`; expired faults never apply. Shared by every FaultInjector implementation.
 */
export function matchFault(
  faults: Iterable<ConfiguredFault>,
  service: string,
  method: string,
  now: number = Date.now(),
): ConfiguredFault | undefined {
  let wildcard: ConfiguredFault | undefined;
  for (const fault of faults) {
    if (fault.service !== service) continue;
    if (fault.expiresAt !== undefined && fault.expiresAt <= now) continue;
    if (fault.method === method) return fault;
    if (fault.method === '*') wildcard = fault;
  }
  return wildcard;
}

/** An in-memory FaultInjector; `now` is injectable so expiry can be tested without waiting. */
export function createInMemoryFaultInjector(options: { now?: () => number } = {}): InMemoryFaultInjector {
  const now = options.now ?? Date.now;
  const faults = new Map<string, ConfiguredFault>();
  const keyOf = (service: string, method: string) => `${service}\u0000${method}`;
  return {
    faultFor: (service, method) => matchFault(faults.values(), service, method, now()),
    set(fault) {
      faults.set(keyOf(fault.service, fault.method), { ...fault });
    },
    clear(service) {
      for (const [key, fault] of faults) if (fault.service === service) faults.delete(key);
    },
    list: () =>
      [...faults.values()].filter((fault) => fault.expiresAt === undefined || fault.expiresAt > now()),
  };
}

const faultCodeStatus: Readonly<Record<Fault__Output['code'], grpc.status>> = {
  FAULT_CODE_UNSPECIFIED: grpc.status.UNAVAILABLE,
  FAULT_CODE_UNAVAILABLE: grpc.status.UNAVAILABLE,
  FAULT_CODE_INTERNAL: grpc.status.INTERNAL,
  FAULT_CODE_DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
};

/** A `koban.ops.v1.Fault` (as shared through Redis) as a ConfiguredFault. */
export function faultFromProto(fault: Fault__Output): ConfiguredFault {
  return {
    service: fault.service,
    method: fault.method === '' ? '*' : fault.method,
    latencyMs: fault.latencyMs,
    errorRate: fault.errorRate,
    // A code this build does not know yet (a newer admin API) degrades to the default.
    code: faultCodeStatus[fault.code] ?? grpc.status.UNAVAILABLE,
    expiresAt: fault.expiresAt === null ? undefined : timestampToMillis(fault.expiresAt),
  };
}
