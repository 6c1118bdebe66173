import { createGrpcClient, type GrpcClient } from '../grpc/client.js';
import { loadProtos } from '../grpc/load-protos.js';
import type { HealthDefinition } from '../generated/grpc/health/v1/Health.js';

/** A grpc.health.v1 client for one address, reused across checks (one channel). */
export interface HealthProbe {
  /** True when the server answers SERVING for `service` ('' = the whole server) within the timeout. */
  check(service?: string): Promise<boolean>;
  close(): void;
}

/** Probes another service's standard gRPC health endpoint: readiness checks and `pnpm run up`. */
export function createHealthProbe(address: string, timeoutMs = 1_000): HealthProbe {
  const client: GrpcClient<HealthDefinition> = createGrpcClient(loadProtos().grpc.health.v1.Health, address, {
    timeoutMs,
  });
  return {
    async check(service = '') {
      try {
        const response = await client.check({ service });
        return response.status === 'SERVING';
      } catch {
        return false;
      }
    },
    close: () => client.close(),
  };
}
