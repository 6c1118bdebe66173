import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError } from 'fastify';
import { currentTraceId, type Logger } from '@koban/platform';
import { ApiError, errorBody } from './api-error.js';

export interface HttpAppDeps {
  logger: Logger;
  /** Named dependency checks for `/readyz`; each resolves true when the dependency answers. */
  readinessChecks: Record<string, () => Promise<boolean>>;
  /** Largest accepted request body (API.md: 64 KiB). */
  bodyLimitBytes?: number;
}

const zeroTraceId = '0'.repeat(32);

function traceIdOfActiveSpan(): string {
  return currentTraceId() ?? zeroTraceId;
}

/**
 * The gateway's fastify instance: request ids, the trace id header, the API.md error body for
 * every failure (including 404 and 413), and the health endpoints. Routes are added by features.
 */
export function buildHttpApp(deps: HttpAppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    disableRequestLogging: true,
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
  });

  // Headers go on every response, errors included, so they are set before any handler runs.
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-trace-id', traceIdOfActiveSpan());
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body = errorBody(
      { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` },
      { requestId: request.id, traceId: traceIdOfActiveSpan() },
    );
    return reply.code(404).send(body);
  });

  app.setErrorHandler(async (error: FastifyError | ApiError, request, reply) => {
    const ids = { requestId: request.id, traceId: traceIdOfActiveSpan() };
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send(errorBody(error, ids));
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .code(413)
        .send(errorBody({ code: 'payload_too_large', message: 'request body exceeds 64 KiB' }, ids));
    }
    if (
      error.statusCode === 400 ||
      error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
      error.code?.startsWith('FST_ERR_CTP')
    ) {
      return reply.code(400).send(
        errorBody(
          {
            code: 'invalid_request',
            message: 'malformed request body',
            details: { reason: error.message },
          },
          ids,
        ),
      );
    }
    request.log.error({ err: error, trace_id: ids.traceId }, 'unhandled error');
    return reply.code(500).send(errorBody({ code: 'internal', message: 'internal error' }, ids));
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

export type HttpApp = ReturnType<typeof buildHttpApp>;
