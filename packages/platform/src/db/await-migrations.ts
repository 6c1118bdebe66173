import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Db } from './db.js';
import { pendingMigrations } from './migrations.js';

/** Settings for {@link awaitMigrations}. */
export interface AwaitMigrationsSettings {
  /** The service's pool, opened on its schema (which may not exist yet). */
  db: Db;
  /** The service's `migrations/` directory: the files its code expects applied. */
  dir: string;
  logger: Logger;
  /** How long to wait for the schema to become current, in ms (default 120 000). */
  timeoutMs?: number;
  /** Pause between checks, in ms (default 2 000). */
  pollMs?: number;
}

const defaultTimeoutMs = 120_000;
const defaultPollMs = 2_000;
/** ER_BAD_DB_ERROR: the schema does not exist yet, because its runner has not created it. */
const unknownDatabaseErrno = 1049;

/**
 * For a service that does not migrate at start (`MIGRATE_ON_START=false`): resolves once every
 * file of `dir` is applied to its schema by the separate runner (the Kubernetes Job or the compose
 * one-shot), checking every `pollMs`. Kubernetes does not order a Job before a Deployment, so a
 * pod may start first; serving against an older schema would fail requests, so it waits, and
 * after `timeoutMs` throws naming the pending files (the pod restarts and waits again). A schema
 * that does not exist yet counts as nothing applied; an unreachable server or an edited applied
 * migration is thrown at once, as when the service migrates itself.
 */
export async function awaitMigrations(settings: AwaitMigrationsSettings): Promise<void> {
  const logger = settings.logger.child({ component: 'migrations' });
  const timeoutMs = settings.timeoutMs ?? defaultTimeoutMs;
  const pollMs = settings.pollMs ?? defaultPollMs;
  const deadline = Date.now() + timeoutMs;
  let waitingLogged = false;
  for (;;) {
    const pending = await pendingOrAll(settings.db, settings.dir);
    if (pending.length === 0) {
      if (waitingLogged) logger.info('schema is current: the migration runner finished');
      return;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `the schema still lacks ${pending.length} migration(s) after ${timeoutMs} ms ` +
          `(${pending.join(', ')}): MIGRATE_ON_START is false, so the migrations Job or one-shot ` +
          'must apply them; check that it ran and succeeded',
      );
    }
    if (!waitingLogged) {
      logger.info({ pending }, 'waiting for the migration runner to bring the schema up to date');
      waitingLogged = true;
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
}

async function pendingOrAll(db: Db, dir: string): Promise<string[]> {
  try {
    return await pendingMigrations({ db, dir });
  } catch (err) {
    if ((err as { errno?: unknown } | null)?.errno !== unknownDatabaseErrno) throw err;
    return ['(the schema does not exist yet)'];
  }
}
