import type { Logger } from '../logging/index.js';
import type { Shutdown } from '../lifecycle/shutdown.js';
import type { RedisClient } from '../redis/redis.js';
import { matchFault, type ConfiguredFault, type FaultInjector } from '../grpc/fault-injection.js';
import { createFaultStore, toConfiguredFault, type FaultStore } from './fault-store.js';

/** How often an instance re-reads its faults: well inside API.md's one second. */
export const DEFAULT_FAULT_REFRESH_MS = 250;
/**
 * How long the last view is kept while Redis cannot be read. Beyond it the faults are dropped:
 * a test tool must never leave a service broken because its control plane went away.
 */
export const DEFAULT_FAULT_STALE_MS = 5_000;

/** A FaultInjector that keeps an in-memory copy of the faults in Redis, refreshed in the background. */
export interface RedisFaultInjector extends FaultInjector {
  /** Reads Redis now (the background loop calls it); never rejects. */
  refresh(): Promise<void>;
  /** Starts the background refresh (an unref'd timer); the first read runs at once. */
  start(): void;
  /** Stops the background refresh. */
  stop(): void;
}

export interface RedisFaultInjectorOptions {
  redis: RedisClient;
  logger: Logger;
  /** The services whose faults this process applies: usually just its own name. */
  services: readonly string[];
  store?: FaultStore | undefined;
  keyPrefix?: string | undefined;
  refreshMs?: number | undefined;
  staleMs?: number | undefined;
  now?: (() => number) | undefined;
}

/**
 * Creates the Redis-backed injector. `faultFor` answers from memory only (it runs on every call);
 * `refresh` replaces the memory with what Redis holds, so PUTs and DELETEs made by the gateway
 * reach every instance within `refreshMs` plus one Redis round trip.
 */
export function createRedisFaultInjector(options: RedisFaultInjectorOptions): RedisFaultInjector {
  const logger = options.logger.child({ component: 'fault-injection' });
  const store = options.store ?? createFaultStore(options.redis, { keyPrefix: options.keyPrefix });
  const refreshMs = options.refreshMs ?? DEFAULT_FAULT_REFRESH_MS;
  const staleMs = options.staleMs ?? DEFAULT_FAULT_STALE_MS;
  const now = options.now ?? Date.now;
  let faults: ConfiguredFault[] = [];
  let lastReadAt = now();
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function refresh(): Promise<void> {
    try {
      const next = (await store.load(options.services)).map(toConfiguredFault);
      if (JSON.stringify(next) !== JSON.stringify(faults)) {
        logger.warn(
          { faults: next },
          next.length === 0 ? 'injected faults cleared' : 'injected faults active',
        );
      }
      faults = next;
      lastReadAt = now();
      if (failing) logger.info('fault injection reads Redis again');
      failing = false;
    } catch (err) {
      if (!failing)
        logger.warn({ err }, 'cannot read injected faults from Redis; keeping the last view for now');
      failing = true;
      if (faults.length > 0 && now() - lastReadAt > staleMs) {
        logger.warn({ staleMs }, 'dropping injected faults: Redis unreadable for too long');
        faults = [];
      }
    }
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      void refresh().finally(() => schedule(refreshMs));
    }, delayMs);
    timer.unref();
  }

  return {
    faultFor: (service, method) => matchFault(faults, service, method, now()),
    refresh,
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** What a composition root passes to {@link startFaultInjection}. */
export interface FaultInjectionSettings {
  /** The Koban service name, as the admin API addresses it (`bank-integration`). */
  service: string;
  /** `FAULTS_ENABLED` (commonEnv): production leaves it off. */
  enabled: boolean;
  redis: RedisClient;
  logger: Logger;
  shutdown: Pick<Shutdown, 'onShutdown'>;
}

/**
 * The `faultInjector` option of `createGrpcServer` for a service: undefined (no fault checks at
 * all) unless FAULTS_ENABLED, else a started RedisFaultInjector stopped at shutdown.
 */
export function startFaultInjection(settings: FaultInjectionSettings): FaultInjector | undefined {
  if (!settings.enabled) return undefined;
  const injector = createRedisFaultInjector({
    redis: settings.redis,
    logger: settings.logger,
    services: [settings.service],
  });
  injector.start();
  settings.shutdown.onShutdown('fault-injection', () => injector.stop());
  settings.logger.warn({ service: settings.service }, 'fault injection enabled (FAULTS_ENABLED=true)');
  return injector;
}
