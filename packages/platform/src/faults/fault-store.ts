import * as grpc from '@grpc/grpc-js';
import type { RedisClient } from '../redis/redis.js';
import type { ConfiguredFault } from '../grpc/fault-injection.js';

/** The statuses a fault may end a call with, as the admin API names them. */
export const faultCodes = ['UNAVAILABLE', 'INTERNAL', 'DEADLINE_EXCEEDED'] as const;
export type FaultCodeName = (typeof faultCodes)[number];

const statusOfCode: Readonly<Record<FaultCodeName, grpc.status>> = {
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
};

/**
 * A fault as stored in Redis and shown by the admin API: the fields of `koban.ops.v1.Fault`
 * with the code by name and the expiry as an ISO-8601 time (null for none).
 */
export interface StoredFault {
  service: string;
  /** An RPC name or `*`. */
  method: string;
  latencyMs: number;
  errorRate: number;
  code: FaultCodeName;
  expiresAt: string | null;
}

/** The key prefix of the fault hashes: one hash per service, one field per method. */
export const DEFAULT_FAULT_KEY_PREFIX = 'koban:faults:';

/** A stored fault as the server's fault injection applies it. */
export function toConfiguredFault(fault: StoredFault): ConfiguredFault {
  return {
    service: fault.service,
    method: fault.method,
    latencyMs: fault.latencyMs,
    errorRate: fault.errorRate,
    code: statusOfCode[fault.code] ?? grpc.status.UNAVAILABLE,
    expiresAt: fault.expiresAt === null ? undefined : Date.parse(fault.expiresAt),
  };
}

/** Reads one stored value; anything malformed (a foreign writer, an older build) is skipped. */
export function parseStoredFault(raw: string): StoredFault | undefined {
  try {
    const value = JSON.parse(raw) as Partial<StoredFault>;
    if (typeof value.service !== 'string' || typeof value.method !== 'string') return undefined;
    const code = faultCodes.includes(value.code as FaultCodeName)
      ? (value.code as FaultCodeName)
      : 'UNAVAILABLE';
    const expiresAt =
      typeof value.expiresAt === 'string' && Number.isFinite(Date.parse(value.expiresAt))
        ? value.expiresAt
        : null;
    return {
      service: value.service,
      method: value.method,
      latencyMs: typeof value.latencyMs === 'number' && value.latencyMs > 0 ? value.latencyMs : 0,
      errorRate: typeof value.errorRate === 'number' ? Math.min(1, Math.max(0, value.errorRate)) : 0,
      code,
      expiresAt,
    };
  } catch {
    return undefined;
  }
}

// Sets one method's fault, then gives the hash the expiry of its longest-lived fault (none if
// any fault has no expiry), so Redis itself forgets a service's faults at their TTL.
const putScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local latest = 0
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local ok, fault = pcall(cjson.decode, raw)
  local at = ok and type(fault) == 'table' and tonumber(fault['expiresAtMs']) or nil
  if at == nil then
    redis.call('PERSIST', KEYS[1])
    return 0
  end
  if at > latest then latest = at end
end
redis.call('PEXPIREAT', KEYS[1], latest)
return latest
`;

/** What a PUT asks for: the fault without its absolute expiry, and how long it lasts. */
export interface FaultRequest {
  service: string;
  method: string;
  latencyMs: number;
  errorRate: number;
  code: FaultCodeName;
  /** Absent: until cleared. */
  ttlSeconds?: number | undefined;
}

/** The faults of every service, in Redis, shared by all instances. */
export interface FaultStore {
  /** Adds or replaces the fault for that service and method; resolves with it as stored. */
  put(request: FaultRequest): Promise<StoredFault>;
  /** Removes every fault of the service. */
  clear(service: string): Promise<void>;
  /** The unexpired faults of those services, by service then method. */
  load(services: readonly string[]): Promise<StoredFault[]>;
}

export interface FaultStoreOptions {
  /** Tests use their own prefix so they never disturb a running platform. */
  keyPrefix?: string | undefined;
  now?: (() => number) | undefined;
}

/** A FaultStore on Redis: hash `<prefix><service>`, field = method, value = JSON StoredFault. */
export function createFaultStore(redis: RedisClient, options: FaultStoreOptions = {}): FaultStore {
  const prefix = options.keyPrefix ?? DEFAULT_FAULT_KEY_PREFIX;
  const now = options.now ?? Date.now;
  return {
    async put(request) {
      const expiresAtMs = request.ttlSeconds === undefined ? undefined : now() + request.ttlSeconds * 1000;
      const fault: StoredFault = {
        service: request.service,
        method: request.method,
        latencyMs: request.latencyMs,
        errorRate: request.errorRate,
        code: request.code,
        expiresAt: expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString(),
      };
      const value = JSON.stringify({ ...fault, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) });
      await redis.eval(putScript, 1, `${prefix}${request.service}`, request.method, value);
      return fault;
    },
    async clear(service) {
      await redis.del(`${prefix}${service}`);
    },
    async load(services) {
      if (services.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const service of services) pipeline.hgetall(`${prefix}${service}`);
      const results = (await pipeline.exec()) ?? [];
      const at = now();
      const faults: StoredFault[] = [];
      for (const [error, hash] of results) {
        if (error) throw error;
        for (const raw of Object.values((hash ?? {}) as Record<string, string>)) {
          const fault = parseStoredFault(raw);
          if (fault === undefined) continue;
          if (fault.expiresAt !== null && Date.parse(fault.expiresAt) <= at) continue;
          faults.push(fault);
        }
      }
      return faults.sort((a, b) =>
        a.service === b.service ? (a.method < b.method ? -1 : 1) : a.service < b.service ? -1 : 1,
      );
    },
  };
}
