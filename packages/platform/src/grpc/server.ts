import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { metrics, type Meter } from '@opentelemetry/api';
import healthCheck, { type ServingStatus } from 'grpc-health-check';
import type { Logger } from '../logging/index.js';
import type { Breaker } from '../generated/koban/ops/v1/Breaker.js';
import type { ListBreakersResponse } from '../generated/koban/ops/v1/ListBreakersResponse.js';
import type { OpsServiceDefinition } from '../generated/koban/ops/v1/OpsService.js';
import { defaultServerOptions } from './channel-options.js';
import type { FaultInjector } from './fault-injection.js';
import { loadProtos } from './load-protos.js';
import { rpcServerMetrics } from './server-metrics.js';
import { toTimestamp } from './timestamp.js';
import { wrapUnaryHandler, type UnaryHandler, type UnaryHandlerSettings } from './unary-handler.js';

export type { ServingStatus } from 'grpc-health-check';

/**
 * The promise-returning handlers of a service, typed from its generated definition
 * (`protos.koban.ledger.v1.LedgerService.service`): each receives the decoded request and
 * resolves with the response.
 */
export type ServiceHandlers<Definition> = {
  // Drops grpc.ServiceDefinition's index signature so only the service's own methods remain.
  [
    Method in keyof Definition as string extends Method ? never : Method
  ]: Definition[Method] extends MethodDefinition<
    // never and unknown match any type in the positions that are not inferred.
    never,
    infer ResponseIn,
    infer RequestOut,
    unknown
  >
    ? UnaryHandler<RequestOut, ResponseIn>
    : never;
};

/**
 * A client circuit breaker as the resilience module reports it (its `BreakerReport` fits),
 * for `OpsService.ListBreakers`. Counters are since the process started.
 */
export interface BreakerReport {
  state: 'closed' | 'open' | 'half-open';
  /** The calling service; taken from the `"<caller>→<callee>"` key when absent. */
  caller?: string | undefined;
  /** The dependency; taken from the key when absent. */
  callee?: string | undefined;
  successes?: number | undefined;
  failures?: number | undefined;
  rejections?: number | undefined;
  trips?: number | undefined;
  /** A Date, epoch milliseconds or an ISO-8601 string; null or absent when it never changed. */
  lastTransitionAt?: Date | number | string | null | undefined;
}

/** Options of `createGrpcServer`. */
export interface GrpcServerOptions<Code extends string> {
  /** The Koban service name (`payment`, `bank-integration`...): faults and logs use it. */
  serviceName: string;
  logger: Logger;
  /**
   * The service's exhaustive map from each of its domain error codes to the gRPC status it is
   * answered with, e.g. `{ insufficient_funds: grpc.status.FAILED_PRECONDITION, ... }`
   * declared as `Record<LedgerErrorCode, grpc.status>`. A DomainError with a code missing here
   * is treated as a bug (INTERNAL, logged).
   */
  domainErrorStatus: Readonly<Record<Code, grpc.status>>;
  /** Consulted on every call of the service's own RPCs (never health or ops). */
  faultInjector?: FaultInjector | undefined;
  /**
   * The process's client breakers keyed `"<caller>→<callee>"`, read on each
   * `OpsService.ListBreakers`; without it the service answers an empty list.
   */
  listBreakers?: (() => Readonly<Record<string, BreakerReport>>) | undefined;
  /** Interface to bind; `0.0.0.0` by default. */
  host?: string | undefined;
  /** Insecure by default: traffic stays inside the cluster network (mTLS belongs to the mesh). */
  credentials?: grpc.ServerCredentials | undefined;
  /** Merged over `defaultServerOptions`. */
  serverOptions?: grpc.ServerOptions | undefined;
  /** Randomness for fault error rates; `Math.random` by default. */
  random?: (() => number) | undefined;
  /** Where `rpc.server.call.duration` goes; `metrics.getMeter('koban-grpc')` by default. */
  meter?: Meter | undefined;
}

/** A gRPC server with health, ops, error mapping, deadlines in context and fault injection. */
export interface GrpcServer {
  /**
   * Serves a service; its health status is NOT_SERVING until `listen` resolves. Only unary
   * methods are supported: every Koban RPC is unary.
   */
  addService<Definition extends grpc.ServiceDefinition>(
    definition: Definition,
    handlers: ServiceHandlers<Definition>,
  ): void;
  /**
   * Sets what grpc.health.v1 answers for a fully qualified service name
   * (`koban.ledger.v1.LedgerService`), or for the whole server with `''`, e.g. NOT_SERVING while
   * a required dependency is down.
   */
  setServingStatus(service: string, status: ServingStatus): void;
  /**
   * Binds and starts serving, then marks every service SERVING; resolves with the bound port
   * (useful with port 0).
   */
  listen(port: number): Promise<number>;
  /**
   * Marks everything NOT_SERVING, stops accepting calls and lets calls in flight finish for up to
   * `graceMs`, then cancels whatever is left.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** The fully qualified service name of a definition, from its first method's path. */
function serviceNameOf(definition: grpc.ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (first === undefined) throw new Error('a service definition without methods cannot be served');
  return first.path.split('/')[1] ?? '';
}

const breakerStates: Readonly<Record<BreakerReport['state'], Breaker['state'] & string>> = {
  closed: 'BREAKER_STATE_CLOSED',
  open: 'BREAKER_STATE_OPEN',
  'half-open': 'BREAKER_STATE_HALF_OPEN',
};

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function toBreaker(name: string, report: BreakerReport, serviceName: string): Breaker {
  const [callerInName, calleeInName] = name.includes('→') ? name.split('→', 2) : [serviceName, name];
  const { lastTransitionAt } = report;
  return {
    name,
    caller: report.caller ?? callerInName ?? serviceName,
    callee: report.callee ?? calleeInName ?? name,
    state: breakerStates[report.state],
    successes: report.successes ?? 0,
    failures: report.failures ?? 0,
    rejections: report.rejections ?? 0,
    trips: report.trips ?? 0,
    ...(lastTransitionAt === undefined || lastTransitionAt === null
      ? {}
      : {
          lastTransitionAt: toTimestamp(
            typeof lastTransitionAt === 'string' ? Date.parse(lastTransitionAt) : lastTransitionAt,
          ),
        }),
  };
}

/**
 * Creates a gRPC server for a Koban service. Besides the services added to it, it serves the
 * standard grpc.health.v1.Health and koban.ops.v1.OpsService. Every handler runs through a
 * wrapper that applies injected faults, puts the call's deadline in the request context (so
 * clients called from the handler propagate the remaining budget), maps DomainErrors to their
 * status with the code in `koban-error-code` trailing metadata, and turns anything unexpected
 * into INTERNAL with a generic message, logged once with the trace id. Every call of a wrapped
 * service (the ops service included, health checks not) is recorded in `rpc.server.call.duration`.
 */
export function createGrpcServer<Code extends string>(options: GrpcServerOptions<Code>): GrpcServer {
  const { serviceName } = options;
  const logger = options.logger.child({ component: 'grpc-server' });
  const server = new grpc.Server({ ...defaultServerOptions, ...options.serverOptions });
  const health = new healthCheck.HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const servedServices = new Set<string>(['']);
  const random = options.random ?? Math.random;
  const callMetrics = rpcServerMetrics(options.meter ?? metrics.getMeter('koban-grpc'));
  const instance = `${hostname()}:${process.pid}`;

  function register(
    definition: grpc.ServiceDefinition,
    handlers: Readonly<Record<string, unknown>>,
    faultInjector: FaultInjector | undefined,
  ): void {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [rpcName, method] of Object.entries(definition)) {
      const handler = handlers[rpcName];
      if (typeof handler !== 'function') throw new Error(`no handler for ${method.path}`);
      if (method.requestStream || method.responseStream) {
        throw new Error(`${method.path} is a streaming RPC; only unary RPCs are supported`);
      }
      const settings: UnaryHandlerSettings = {
        serviceName,
        rpcName,
        path: method.path,
        logger,
        domainErrorStatus: options.domainErrorStatus,
        faultInjector,
        random,
        callMetrics,
      };
      implementation[rpcName] = wrapUnaryHandler(handler as UnaryHandler<unknown, unknown>, settings);
    }
    server.addService(definition, implementation);
    const name = serviceNameOf(definition);
    servedServices.add(name);
    health.setStatus(name, 'NOT_SERVING');
  }

  const opsHandlers: ServiceHandlers<OpsServiceDefinition> = {
    ListBreakers: (): ListBreakersResponse => ({
      service: serviceName,
      instance,
      breakers: Object.entries(options.listBreakers?.() ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, report]) => toBreaker(name, report, serviceName)),
    }),
  };
  register(loadProtos().koban.ops.v1.OpsService.service, opsHandlers, undefined);

  const setAll = (status: ServingStatus) => {
    for (const name of servedServices) health.setStatus(name, status);
  };

  return {
    addService(definition, handlers) {
      register(definition, handlers, options.faultInjector);
    },
    setServingStatus(service, status) {
      health.setStatus(service, status);
    },
    async listen(port) {
      const host = options.host ?? '0.0.0.0';
      const credentials = options.credentials ?? grpc.ServerCredentials.createInsecure();
      const boundPort = await new Promise<number>((resolve, reject) => {
        server.bindAsync(formatAddress(host, port), credentials, (error, actualPort) =>
          error ? reject(error) : resolve(actualPort),
        );
      });
      setAll('SERVING');
      logger.info(
        { port: boundPort, services: [...servedServices].filter(Boolean) },
        'gRPC server listening',
      );
      return boundPort;
    },
    shutdown(graceMs) {
      setAll('NOT_SERVING');
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          logger.warn({ graceMs }, 'gRPC calls still running after the grace period; cancelling them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
