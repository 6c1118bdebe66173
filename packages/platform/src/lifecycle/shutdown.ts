import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/** What a shutdown step is told about the time it has. */
export interface ShutdownContext {
  /** Epoch ms by which the whole shutdown must be done. */
  deadline: number;
  /** Aborted when the grace runs out, e.g. to force-close a server still draining. */
  signal: AbortSignal;
}

/** One thing to stop or close; may ignore its context. */
export type ShutdownStep = (context: ShutdownContext) => Promise<void> | void;

/**
 * Step orders for the usual phases: stop taking new work, let in-flight work finish, then close
 * the clients that work was using. Steps with equal order run in registration order.
 */
export const shutdownOrder = {
  /** Servers stop accepting connections and requests (gRPC, HTTP). */
  stopAccepting: 100,
  /** In-flight work finishes: server drains, consumers, relays, sweepers. */
  drain: 200,
  /** Clients close: Kafka producer, Redis, the DB pool. The default. */
  closeClients: 300,
} as const;

/** Settings for {@link createShutdown}. */
export interface ShutdownSettings {
  logger: Logger;
  /**
   * The whole shutdown's budget in ms; keep it below the orchestrator's own grace (Kubernetes
   * `terminationGracePeriodSeconds`), which ends in SIGKILL.
   */
  graceMs: number;
  /** How the process ends; tests pass a recorder. Default `process.exit`. */
  exit?: (code: number) => void;
  /** Where signals and crash events come from; tests pass an EventEmitter. Default `process`. */
  events?: EventEmitter;
}

/** A service's shutdown sequence. */
export interface Shutdown {
  /**
   * Registers a step; `order` defaults to `shutdownOrder.closeClients`. Steps run one at a time,
   * lowest order first; one that throws or rejects is logged and the next one still runs.
   */
  onShutdown(name: string, fn: ShutdownStep, order?: number): void;
  /**
   * Handles SIGTERM and SIGINT (a second signal exits at once with 1), and `uncaughtException` and
   * `unhandledRejection` (logged once at fatal, then exit 1 without running the steps: the
   * process state is unknown and the supervisor restarts it). Calling it again does nothing.
   */
  install(): void;
  /**
   * Runs the steps within the grace, then exits: 0 when every step succeeded, 1 when one failed
   * or the grace ran out (steps not yet started are then skipped). Resolves with that code; a
   * second call returns the same promise.
   */
  shutdown(reason: string): Promise<number>;
}

interface RegisteredStep {
  name: string;
  fn: ShutdownStep;
  order: number;
  sequence: number;
}

/** How long to wait for buffered log lines before exiting anyway. */
const logFlushTimeoutMs = 500;

/** Creates the shutdown sequence; wire it in `main.ts` and call `install()` once serving. */
export function createShutdown(settings: ShutdownSettings): Shutdown {
  const logger = settings.logger.child({ component: 'shutdown' });
  const exit = settings.exit ?? ((code: number) => process.exit(code));
  const events: EventEmitter = settings.events ?? process;
  const steps: RegisteredStep[] = [];
  let running: Promise<number> | undefined;
  let installed = false;
  let crashed = false;
  let exited = false;

  // Exit once, after the log lines saying why have been written.
  function exitOnce(code: number): void {
    if (exited) return;
    exited = true;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      exit(code);
    };
    const fallback = setTimeout(finish, logFlushTimeoutMs);
    try {
      logger.flush(() => finish());
    } catch {
      finish();
    }
  }

  function onShutdown(name: string, fn: ShutdownStep, order: number = shutdownOrder.closeClients): void {
    if (running) {
      logger.warn({ step: name }, 'shutdown step registered after shutdown began; ignored');
      return;
    }
    steps.push({ name, fn, order, sequence: steps.length });
  }

  async function runSteps(reason: string): Promise<number> {
    const started = Date.now();
    const deadline = started + settings.graceMs;
    const controller = new AbortController();
    const context: ShutdownContext = { deadline, signal: controller.signal };
    const ordered = [...steps].sort((a, b) => a.order - b.order || a.sequence - b.sequence);
    logger.info(
      { reason, graceMs: settings.graceMs, steps: ordered.map((step) => step.name) },
      'shutting down',
    );

    let failed = false;
    const skipped: string[] = [];
    for (const step of ordered) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        skipped.push(step.name);
        continue;
      }
      const stepStarted = Date.now();
      const outcome = await runBounded(step.fn, context, remaining);
      const durationMs = Date.now() - stepStarted;
      if (outcome.kind === 'done') {
        logger.info({ step: step.name, durationMs }, 'shutdown step done');
      } else if (outcome.kind === 'timeout') {
        failed = true;
        // A step only times out when the whole grace is spent: tell it to stop waiting.
        controller.abort();
        logger.error({ step: step.name, durationMs }, 'shutdown step still running when the grace ran out');
      } else {
        failed = true;
        logger.error({ step: step.name, durationMs, err: outcome.error }, 'shutdown step failed');
      }
    }
    if (skipped.length > 0) {
      failed = true;
      logger.error({ skipped }, 'grace ran out before these shutdown steps could start');
    }

    const code = failed ? 1 : 0;
    logger[failed ? 'warn' : 'info']({ code, durationMs: Date.now() - started }, 'shutdown finished');
    exitOnce(code);
    return code;
  }

  function shutdown(reason: string): Promise<number> {
    running ??= runSteps(reason);
    return running;
  }

  function crash(kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void {
    if (crashed) return;
    crashed = true;
    logger.fatal({ err, kind }, 'process crashed; exiting for the supervisor to restart it');
    exitOnce(1);
  }

  function install(): void {
    if (installed) return;
    installed = true;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      events.on(signal, () => {
        if (running) {
          logger.warn({ signal }, 'second signal during shutdown; exiting now');
          exitOnce(1);
          return;
        }
        void shutdown(signal);
      });
    }
    events.on('uncaughtException', (err: unknown) => crash('uncaughtException', err));
    events.on('unhandledRejection', (reason: unknown) => crash('unhandledRejection', reason));
  }

  return { onShutdown, install, shutdown };
}

type StepOutcome = { kind: 'done' } | { kind: 'timeout' } | { kind: 'failed'; error: unknown };

/** Runs one step, giving up waiting after `limitMs`; a synchronous throw counts as a failure. */
async function runBounded(fn: ShutdownStep, context: ShutdownContext, limitMs: number): Promise<StepOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<StepOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), limitMs);
  });
  const ran = Promise.resolve()
    .then(() => fn(context))
    .then(
      (): StepOutcome => ({ kind: 'done' }),
      (error: unknown): StepOutcome => ({ kind: 'failed', error }),
    );
  try {
    return await Promise.race([ran, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
