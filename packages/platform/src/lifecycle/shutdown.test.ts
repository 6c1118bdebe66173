import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../logging/index.js';
import { createShutdown, shutdownOrder, type ShutdownContext } from './shutdown.js';

interface LogLine {
  level: string;
  msg: string;
  step?: string;
  skipped?: string[];
  err?: { message: string };
}

/** A shutdown wired to a fake process: exit codes and log lines are recorded instead. */
function harness(graceMs = 1000) {
  const exits: number[] = [];
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  const logger = createLogger({
    service: 'shutdown-test',
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  const shutdown = createShutdown({ logger, graceMs, exit: (code) => exits.push(code), events });
  return { shutdown, exits, lines, events };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

void describe('createShutdown', () => {
  void it('runs steps by phase, then in registration order, and exits 0', async () => {
    const { shutdown, exits } = harness();
    const ran: string[] = [];
    shutdown.onShutdown('db', () => void ran.push('db'));
    shutdown.onShutdown('grpc server', () => void ran.push('grpc server'), shutdownOrder.stopAccepting);
    shutdown.onShutdown('redis', async () => {
      await Promise.resolve();
      ran.push('redis');
    });
    shutdown.onShutdown('outbox relay', () => void ran.push('outbox relay'), shutdownOrder.drain);

    assert.equal(await shutdown.shutdown('test'), 0);
    assert.deepEqual(ran, ['grpc server', 'outbox relay', 'db', 'redis']);
    assert.deepEqual(exits, [0]);
  });

  void it('bounds a step that never finishes by the grace, skips what is left and exits 1', async () => {
    const { shutdown, exits, lines } = harness(100);
    let context: ShutdownContext | undefined;
    let laterRan = false;
    shutdown.onShutdown(
      'stuck server',
      (ctx) => {
        context = ctx;
        return new Promise(() => undefined);
      },
      shutdownOrder.drain,
    );
    shutdown.onShutdown('db', () => void (laterRan = true));

    const started = Date.now();
    assert.equal(await shutdown.shutdown('test'), 1);
    const elapsedMs = Date.now() - started;

    assert.ok(elapsedMs >= 90 && elapsedMs < 1000, `shutdown took ${elapsedMs} ms`);
    assert.deepEqual(exits, [1]);
    assert.equal(laterRan, false);
    assert.equal(context?.signal.aborted, true);
    assert.ok(context.deadline <= Date.now());
    assert.ok(lines.some((line) => line.level === 'error' && line.step === 'stuck server'));
    assert.ok(lines.some((line) => line.level === 'error' && line.skipped?.includes('db')));
  });

  void it('still runs the other steps when one throws or rejects, then exits 1', async () => {
    const { shutdown, exits, lines } = harness();
    const ran: string[] = [];
    shutdown.onShutdown('kafka', () => {
      throw new Error('broker gone');
    });
    shutdown.onShutdown('redis', () => Promise.reject(new Error('quit failed')));
    shutdown.onShutdown('db', () => void ran.push('db'));

    assert.equal(await shutdown.shutdown('test'), 1);
    assert.deepEqual(ran, ['db']);
    assert.deepEqual(exits, [1]);
    const failures = lines.filter((line) => line.msg === 'shutdown step failed');
    assert.deepEqual(
      failures.map((line) => [line.step, line.err?.message]),
      [
        ['kafka', 'broker gone'],
        ['redis', 'quit failed'],
      ],
    );
  });

  void it('runs the steps once however often shutdown is asked for', async () => {
    const { shutdown, exits } = harness();
    let runs = 0;
    shutdown.onShutdown('db', () => void (runs += 1));

    const [first, second] = await Promise.all([shutdown.shutdown('a'), shutdown.shutdown('b')]);
    assert.equal(first, 0);
    assert.equal(second, 0);
    assert.equal(runs, 1);
    assert.deepEqual(exits, [0]);
  });

  void it('shuts down on SIGTERM, installs its handlers once, and exits at once on a second signal', async () => {
    const { shutdown, exits, events } = harness();
    const draining = deferred();
    let started = 0;
    shutdown.onShutdown('grpc server', async () => {
      started += 1;
      await draining.promise;
    });
    shutdown.install();
    shutdown.install();
    assert.equal(events.listenerCount('SIGTERM'), 1);
    assert.equal(events.listenerCount('SIGINT'), 1);

    events.emit('SIGTERM');
    await until(() => started === 1);
    assert.deepEqual(exits, []);

    events.emit('SIGINT');
    assert.deepEqual(exits, [1]);

    draining.resolve();
    assert.equal(await shutdown.shutdown('ignored'), 0);
    assert.equal(started, 1);
    assert.deepEqual(exits, [1]);
  });

  for (const kind of ['uncaughtException', 'unhandledRejection'] as const) {
    void it(`logs an ${kind} once at fatal and exits 1`, () => {
      const { shutdown, exits, lines, events } = harness();
      let stepRan = false;
      shutdown.onShutdown('db', () => void (stepRan = true));
      shutdown.install();

      events.emit(kind, new Error('boom'));
      events.emit(kind, new Error('and again'));

      assert.deepEqual(exits, [1]);
      const fatal = lines.filter((line) => line.level === 'fatal');
      assert.equal(fatal.length, 1);
      assert.equal(fatal[0]?.err?.message, 'boom');
      assert.equal(stepRan, false);
    });
  }
});
