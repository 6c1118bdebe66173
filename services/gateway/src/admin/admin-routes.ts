import type { FaultStore } from '@koban/platform';
import type { HttpApp } from '../http/app.js';
import type { AccessControl } from '../http/authentication.js';
import { apiError, retryAfterSeconds } from '../http/error-status.js';
import { handler } from '../http/request-scope.js';
import { parseOrReject } from '../http/validation.js';
import type { BreakerCollector } from './breaker-collector.js';
import { faultBody, faultPath, faultRequestOf, faultableServices } from './fault.js';

export interface AdminRoutesDeps {
  access: AccessControl;
  faults: FaultStore;
  breakers: Pick<BreakerCollector, 'collect'>;
}

/**
 * Fault injection and breaker inspection (API.md "Operations", admin token). Registered only
 * when FAULTS_ENABLED, so that elsewhere these paths are plain 404s. Faults live in Redis: with
 * Redis down they cannot be set or read (503), and services drop the ones they hold.
 */
/** The fault store is Redis: when it cannot answer, the admin is told to try again. */
async function inFaultStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw apiError(
      'service_unavailable',
      `the fault store (Redis) cannot be reached: ${(error as Error).message}`,
      undefined,
      retryAfterSeconds.unavailable,
    );
  }
}

export function registerAdminRoutes(app: HttpApp, deps: AdminRoutesDeps): void {
  const admin = { onRequest: deps.access.require('admin') };

  app.put(
    '/v1/admin/faults/:service',
    admin,
    handler(async (request) => {
      const { service } = parseOrReject(faultPath, request.params);
      const body = parseOrReject(faultBody, request.body ?? {});
      const fault = await inFaultStore(() => deps.faults.put(faultRequestOf(service, body)));
      return { status: 200, body: fault };
    }),
  );

  app.delete(
    '/v1/admin/faults/:service',
    admin,
    handler(async (request) => {
      const { service } = parseOrReject(faultPath, request.params);
      await inFaultStore(() => deps.faults.clear(service));
      return { status: 204, body: undefined };
    }),
  );

  app.get(
    '/v1/admin/faults',
    admin,
    handler(async () => ({
      status: 200,
      body: { faults: await inFaultStore(() => deps.faults.load(faultableServices)) },
    })),
  );

  app.get(
    '/v1/admin/breakers',
    admin,
    handler(async () => ({ status: 200, body: await deps.breakers.collect() })),
  );
}
