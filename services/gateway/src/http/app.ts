import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError } from 'fastify';
import { setHttpRoute, type Logger } from '@koban/platform';
import { ApiError, errorBody } from './api-error.js';
import { apiError, retryAfterSeconds, toApiError } from './error-status.js';
import { traceIdOfActiveSpan } from './request-scope.js';

export interface HttpAppDeps {
  logger: Logger;
  /** Named dependency checks for `/readyz`; each resolves true when the dependency answers. */
  readinessChecks: Record<string, () => Promise<boolean>>;
  /** Largest accepted request body (API.md: 64 KiB). */
  bodyLimitBytes?: number;
  /** Every request is answered within this many ms of arriving (API.md: 5 s by default). */
  requestTimeoutMs?: number;
  /** Beyond this many requests in flight, new ones are answered 503 at once (API.md: 2,000). */
  maxInFlightRequests?: number;
  /**
   * Proxies (IPs, CIDRs) whose `X-Forwarded-For` is believed for `request.ip`. None by default:
   * the client IP is then the socket's address, whatever the headers say.
   */
  trustedProxies?: readonly string[];
}

const operationalPaths: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * The gateway's fastify instance: request ids, the trace id header, a deadline per request,
 * load shedding, the API.md error body for every failure (including 404 and 413), and the health
 * endpoints. Routes are added by the feature folders.
 */
export function buildHttpApp(deps: HttpAppDeps) {
  const requestTimeoutMs = deps.requestTimeoutMs ?? 5_000;
  const maxInFlight = deps.maxInFlightRequests ?? 2_000;
  // Typed as fastify's own logger so that routes and hooks share fastify's default instance type.
  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // Per-request lines would double the access log the tracing already gives; errors are
    // logged where they are handled.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    trustProxy: deps.trustedProxies?.length ? [...deps.trustedProxies] : false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
  });
  app.decorateRequest('deadline', 0);
  app.decorateRequest('party', undefined);

  let inFlight = 0;
  // Headers go on every response, errors included, so they are set before anything can fail.
  app.addHook('onRequest', async (request, reply) => {
    request.deadline = Date.now() + requestTimeoutMs;
    void reply.header('x-request-id', request.id);
    void reply.header('x-trace-id', traceIdOfActiveSpan());
    if (request.routeOptions.url !== undefined) setHttpRoute(request.routeOptions.url);
    if (operationalPaths.has(request.url)) return;
    if (inFlight >= maxInFlight) {
      throw apiError(
        'service_unavailable',
        'the gateway is overloaded; try again shortly',
        undefined,
        retryAfterSeconds.unavailable,
      );
    }
    inFlight += 1;
    // 'close' fires once, when the response is finished or the client went away.
    reply.raw.once('close', () => {
      inFlight -= 1;
    });
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body = errorBody(
      { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` },
      { requestId: request.id, traceId: traceIdOfActiveSpan() },
    );
    return reply.code(404).send(body);
  });

  app.setErrorHandler(async (error: FastifyError | ApiError | Error, request, reply) => {
    const ids = { requestId: request.id, traceId: traceIdOfActiveSpan() };
    let answer: ApiError;
    try {
      answer = publicError(error) ?? toApiError(error, request.log, ids.traceId);
    } catch (mappingError) {
      // Never fall back to fastify's own body, which would show the error's message.
      request.log.error({ err: mappingError, cause: error, trace_id: ids.traceId }, 'error mapping failed');
      answer = apiError('internal', 'internal error');
    }
    for (const [name, value] of Object.entries(answer.headers)) void reply.header(name, value);
    if (answer.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(answer.retryAfterSeconds));
    return reply.code(answer.statusCode).send(errorBody(answer, ids));
  });

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const entries = await Promise.all(
      Object.entries(deps.readinessChecks).map(async ([name, check]) => {
        const ready = await check().catch(() => false);
        return [name, ready] as const;
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  return app;
}

/** Fastify's own refusals of a request (body too large, malformed, wrong media type). */
function publicError(error: FastifyError | ApiError | Error): ApiError | undefined {
  if (error instanceof ApiError) return error;
  // Only fastify's own errors: others (a gRPC failure, a driver error) carry codes of their own.
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return apiError('payload_too_large', 'request body exceeds 64 KiB');
  }
  if (statusCode === 400 || statusCode === 415 || code.startsWith('FST_ERR_CTP')) {
    return apiError('invalid_request', 'malformed request body', { reason: error.message });
  }
  return undefined;
}

export type HttpApp = ReturnType<typeof buildHttpApp>;
