import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { metrics, type Meter } from '@opentelemetry/api';
import { BrokenCircuitError } from 'cockatiel';
import type { QueryValues, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Db } from '../db/db.js';
import { findRetryableTransactionError, transactionRetryDelayMs } from '../db/transaction-retry.js';
import type { EventProducer } from '../kafka/event-producer.js';
import type { DependencyPolicy } from '../resilience/dependency-policy.js';
import {
  claimToken,
  publishLanes,
  relayBackoffMs,
  rowHeaders,
  type OutboxRow,
  type RelayBackoff,
} from './outbox-batch.js';
import { observeOutboxBacklog, outboxCounters, type OutboxStats } from './outbox-metrics.js';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The producing service's pool; its schema holds the `outbox` table (`OUTBOX_DDL`). */
  db: Db;
  /** Publishes each row; `createEventProducer`'s producer, connected by the caller. */
  producer: Pick<EventProducer, 'publish'>;
  /**
   * The service's `<service>→kafka` policy (`dependencyPresets.kafka`): each batch's publishing is
   * one call through it, bounded by its timeout (keep it well under `claimTtlMs`, so a relay gives
   * rows up before its claim runs out rather than racing the relay taking them over). While its
   * breaker is open the relay claims nothing and backs off.
   */
  policy: Pick<DependencyPolicy, 'execute' | 'snapshot'>;
  logger: Logger;
  /** Names this relay in `claimed_by` and in logs; `<hostname>:<pid>` by default. */
  relayId?: string | undefined;
  /** Rows claimed per batch (default 100). */
  batchSize?: number | undefined;
  /** Wait between polls while the outbox is drained (default 200 ms). */
  pollIntervalMs?: number | undefined;
  /**
   * How long a claim holds (default 30 s). A relay that dies holding rows delays them by at most
   * this much: then any relay takes them over.
   */
  claimTtlMs?: number | undefined;
  /** Backoff after a failed batch: starts at `pollIntervalMs`, doubles up to this (default 10 s). */
  maxBackoffMs?: number | undefined;
  /** Sent rows are deleted once older than this (default 24 h). */
  retentionMs?: number | undefined;
  /** How often the running relay deletes old sent rows (default 60 s). */
  cleanupIntervalMs?: number | undefined;
  /** The backlog gauges re-read the table at most this often (default 5 s). */
  statsMaxAgeMs?: number | undefined;
  /** Where metrics go; `metrics.getMeter('koban-outbox')` by default. */
  meter?: Meter | undefined;
}

/** A relay from the transactional outbox to Kafka. */
export interface OutboxRelay {
  /** Starts polling in the background (and the cleanup and backlog gauges); a no-op when running. */
  start(): void;
  /** Stops polling; resolves once the batch in hand is published and marked (or given up). */
  stop(): Promise<void>;
  /**
   * Claims, publishes and marks one batch; resolves with the number of rows published. Rejects when
   * the batch could not be claimed or a publish failed: what was published is marked sent, the rest
   * stays unsent and its claim is shortened to the backoff, after which any relay retries it. While
   * the Kafka breaker is open it rejects with the policy's `BrokenCircuitError` at once, claiming
   * nothing.
   */
  runOnce(): Promise<number>;
  /** Deletes sent rows older than the retention, in small batches; resolves with how many. */
  cleanupOnce(): Promise<number>;
}

/** A batch in which some rows could not be published; they stay in the outbox. */
export class OutboxPublishError extends Error {
  override readonly name = 'OutboxPublishError';

  constructor(
    /** Rows of the batch published and marked sent. */
    readonly published: number,
    /** Rows of the batch left unsent. */
    readonly unsent: number,
    options: { cause: unknown },
  ) {
    super(`outbox publish failed: ${unsent} row(s) left for a retry, ${published} published`, options);
  }
}

const defaults = {
  batchSize: 100,
  pollIntervalMs: 200,
  claimTtlMs: 30_000,
  maxBackoffMs: 10_000,
  retentionMs: 24 * 60 * 60 * 1000,
  cleanupIntervalMs: 60_000,
  statsMaxAgeMs: 5_000,
} as const;

/** Rows deleted per cleanup statement: small, so no statement holds many locks or a long transaction. */
const cleanupBatchSize = 500;
/** Cleanup statements per round, so one round never monopolises the relay. */
const maxCleanupStatementsPerRound = 20;
/** Attempts of one statement that hits a deadlock or write conflict. */
const maxStatementAttempts = 5;

const claimSql = `UPDATE outbox
   SET claimed_by = ?, claimed_until = NOW(3) + INTERVAL ? MICROSECOND, attempts = attempts + 1
 WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < NOW(3))
 ORDER BY created_at
 LIMIT ?`;

const selectClaimedSql = `SELECT event_id, topic, event_key, event_type, payload, traceparent, tracestate, attempts
  FROM outbox
 WHERE claimed_by = ? AND sent_at IS NULL
 ORDER BY created_at`;

const markSentSql = `UPDATE outbox SET sent_at = NOW(3)
 WHERE claimed_by = ? AND sent_at IS NULL AND event_id IN (?)`;

const deferClaimSql = `UPDATE outbox SET claimed_until = NOW(3) + INTERVAL ? MICROSECOND
 WHERE claimed_by = ? AND sent_at IS NULL`;

const cleanupSql = `DELETE FROM outbox WHERE sent_at < NOW(3) - INTERVAL ? MICROSECOND LIMIT ${cleanupBatchSize}`;

const statsSql = `SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest, NOW(3) AS now
  FROM outbox WHERE sent_at IS NULL`;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved <= 0) {
    throw new Error(`outbox relay: ${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}

function toRow(row: RowDataPacket): OutboxRow {
  return {
    eventId: String(row['event_id']),
    topic: String(row['topic']),
    key: String(row['event_key']),
    eventType: String(row['event_type']),
    payload: row['payload'] as Buffer,
    traceparent: (row['traceparent'] as string | null) ?? null,
    tracestate: (row['tracestate'] as string | null) ?? null,
    attempts: Number(row['attempts']),
  };
}

/**
 * The relay of the transactional outbox (see `OUTBOX_DDL`): publishes committed outbox rows to
 * Kafka and marks them sent. Safe to run in every replica at once on TiDB, without `SKIP LOCKED`:
 *
 * 1. **Claim** — one statement stamps up to `batchSize` of the oldest rows that are unsent and
 *    unclaimed (or whose claim expired: a relay died) with a token fresh for this batch and
 *    `claimed_until = NOW(3) + claimTtl`. Row locks serialise concurrent claims, and a claimed
 *    row no longer matches, so no two live relays hold the same row. Times are the database's,
 *    so the relays' clocks do not matter.
 * 2. **Publish** — the rows carrying the token, through the idempotent producer: key = the row's
 *    key, headers `event-id`, `koban-event-type` and the stored `traceparent`/`tracestate`. Rows of
 *    one topic and key go one after the other in the order they were written; a failure stops the
 *    rest of that key's rows in the batch, so they never overtake it.
 * 3. **Mark** — `sent_at = NOW(3)` for the rows published, only while the claim is still ours.
 *
 * Delivery is at least once: a relay that dies after publishing and before marking leaves rows
 * that another relay publishes again once the claim expires; consumers dedupe by event id. When a
 * publish fails (Kafka down) or the batch outlasts the policy's timeout, the rows not acknowledged
 * stay unsent, their claim is cut to the backoff delay, and the relay backs off exponentially:
 * nothing is lost, rows wait. Once the Kafka breaker has opened the relay stops claiming rows (a
 * claim would only hold them back from a relay that can publish) and checks it again at each
 * backoff; the first batch after it half-opens is the trial call.
 *
 * Order is kept per key within a batch and by a single relay. Relays running side by side may
 * publish a key's events out of order when they hold consecutive rows of it in different batches,
 * or after a claim of a dead relay expired; consumers must tolerate that (they see every event).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, producer, policy } = options;
  const relayId = options.relayId ?? `${hostname()}:${process.pid}`;
  const logger = options.logger.child({ component: 'outbox-relay', relayId });
  const batchSize = positiveInteger('batchSize', options.batchSize, defaults.batchSize);
  const pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs, defaults.pollIntervalMs);
  const claimTtlMs = positiveInteger('claimTtlMs', options.claimTtlMs, defaults.claimTtlMs);
  const backoff: RelayBackoff = {
    initialDelayMs: pollIntervalMs,
    maxDelayMs: Math.max(
      pollIntervalMs,
      positiveInteger('maxBackoffMs', options.maxBackoffMs, defaults.maxBackoffMs),
    ),
  };
  const retentionMs = positiveInteger('retentionMs', options.retentionMs, defaults.retentionMs);
  const cleanupIntervalMs = positiveInteger(
    'cleanupIntervalMs',
    options.cleanupIntervalMs,
    defaults.cleanupIntervalMs,
  );
  const statsMaxAgeMs = positiveInteger('statsMaxAgeMs', options.statsMaxAgeMs, defaults.statsMaxAgeMs);
  const meter = options.meter ?? metrics.getMeter('koban-outbox');
  const counters = outboxCounters(meter);

  let consecutiveFailures = 0;
  let failingSince = 0;
  let pausedByBreaker = false;
  let running: { abort: AbortController; loop: Promise<void>; stopGauges: () => void } | undefined;

  /** One autocommit statement, run again on a deadlock or write conflict (each is safe to repeat). */
  async function statement<T extends ResultSetHeader | RowDataPacket[]>(
    sql: string,
    params: QueryValues,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await db.query<T>(sql, params);
      } catch (err) {
        if (!findRetryableTransactionError(err) || attempt >= maxStatementAttempts) throw err;
        await sleep(transactionRetryDelayMs(attempt, { baseDelayMs: 20, maxDelayMs: 500 }));
      }
    }
  }

  async function readStats(): Promise<OutboxStats> {
    const [row] = await db.query<RowDataPacket[]>(statsSql);
    const oldest = row?.['oldest'] as Date | null | undefined;
    const now = row?.['now'] as Date | undefined;
    return {
      backlog: Number(row?.['backlog'] ?? 0),
      oldestAgeSeconds: oldest && now ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0,
    };
  }

  /**
   * Publishes one lane (one topic and key) in order, adding each acknowledged row to `sent`;
   * rejects at its first failure. Stops before its next row once the batch's call has settled
   * (it timed out), so a given-up batch does not go on publishing.
   */
  async function publishLane(lane: OutboxRow[], sent: OutboxRow[], signal: AbortSignal): Promise<void> {
    for (const row of lane) {
      if (signal.aborted) return;
      await producer.publish({
        topic: row.topic,
        key: row.key,
        value: row.payload,
        eventId: row.eventId,
        headers: rowHeaders(row),
      });
      sent.push(row);
    }
  }

  /**
   * Publishes a batch as one call through the Kafka policy: its lanes side by side, each to its
   * end or its first failure. Answers the rows acknowledged by the time the call settled (a row
   * acknowledged after a timeout is left unsent and published again later: at least once), and
   * the error that failed the call.
   */
  async function publishBatch(rows: OutboxRow[]): Promise<{ sent: OutboxRow[]; error?: unknown }> {
    const sent: OutboxRow[] = [];
    try {
      await policy.execute(
        async ({ signal }) => {
          const lanes = await Promise.allSettled(
            publishLanes(rows).map((lane) => publishLane(lane, sent, signal)),
          );
          const failed = lanes.find((lane) => lane.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        },
        // Never retried inline: the relay's next round, after its backoff, is the retry.
        { idempotent: false },
      );
      return { sent: [...sent] };
    } catch (error) {
      const acknowledged = [...sent];
      const published = new Set(acknowledged);
      const unsent = new Map<string, number>();
      for (const row of rows) {
        if (!published.has(row)) unsent.set(row.topic, (unsent.get(row.topic) ?? 0) + 1);
      }
      for (const [topic, count] of unsent) counters.publishFailed(topic, count);
      return { sent: acknowledged, error };
    }
  }

  async function markSent(token: string, rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const result = await statement<ResultSetHeader>(markSentSql, [token, rows.map((row) => row.eventId)]);
    if (result.affectedRows < rows.length) {
      // The claim ran out while publishing and another relay took the rows: it publishes them
      // again (consumers dedupe) and marks them itself.
      logger.warn(
        { claimed: rows.length, marked: result.affectedRows, claimTtlMs },
        'claim expired before the batch was marked sent; its rows will be published again',
      );
    }
    const byTopic = new Map<string, number>();
    for (const row of rows) byTopic.set(row.topic, (byTopic.get(row.topic) ?? 0) + 1);
    for (const [topic, count] of byTopic) counters.published(topic, count);
  }

  function recordSuccess(): void {
    pausedByBreaker = false;
    if (consecutiveFailures > 0) {
      logger.info(
        { failures: consecutiveFailures, failingMs: Date.now() - failingSince },
        'outbox relay recovered',
      );
    }
    consecutiveFailures = 0;
  }

  /** Counts a failure, logs the first of a run of them, and says how long to back off. */
  function recordFailure(err: unknown): number {
    consecutiveFailures += 1;
    if (consecutiveFailures === 1) {
      failingSince = Date.now();
      logger.error({ err }, 'outbox relay failed; rows stay in the outbox and are retried with backoff');
    } else {
      logger.debug({ err, failures: consecutiveFailures }, 'outbox relay still failing');
    }
    return relayBackoffMs(consecutiveFailures, backoff);
  }

  /** One batch under `token`: how many rows it claimed and published. */
  async function relayBatch(token: string): Promise<{ claimed: number; published: number }> {
    const claim = await statement<ResultSetHeader>(claimSql, [token, claimTtlMs * 1000, batchSize]);
    if (claim.affectedRows === 0) return { claimed: 0, published: 0 };

    const rows = (await statement<RowDataPacket[]>(selectClaimedSql, [token])).map(toRow);
    const outcome = await publishBatch(rows);
    await markSent(token, outcome.sent);
    if ('error' in outcome) {
      throw new OutboxPublishError(outcome.sent.length, rows.length - outcome.sent.length, {
        cause: outcome.error,
      });
    }
    return { claimed: rows.length, published: outcome.sent.length };
  }

  type Attempt =
    { ok: true; claimed: number; published: number } | { ok: false; error: unknown; backoffMs: number };

  /** One batch with the failure accounting that `runOnce` and the loop share. */
  async function attempt(): Promise<Attempt> {
    if (policy.snapshot().state === 'open') {
      // Kafka's breaker is open: a claim would only hold rows back from a relay that can publish
      // them. Not counted as another failure; the backoff stays where the failures left it.
      if (!pausedByBreaker) {
        pausedByBreaker = true;
        logger.warn('Kafka breaker open; the relay claims nothing until it half-opens');
      }
      const error = new BrokenCircuitError('the Kafka breaker is open; no rows were claimed');
      return { ok: false, error, backoffMs: relayBackoffMs(Math.max(1, consecutiveFailures), backoff) };
    }
    const token = claimToken(relayId);
    try {
      const result = await relayBatch(token);
      // An empty claim proves nothing while failing: the failed rows may just be held back by
      // their shortened claim, and counting it a success would reset the backoff.
      if (result.claimed > 0) recordSuccess();
      return { ok: true, ...result };
    } catch (error) {
      const backoffMs = recordFailure(error);
      if (error instanceof OutboxPublishError) {
        // The claim becomes the shared backoff: no relay retries these rows before it runs out.
        await statement<ResultSetHeader>(deferClaimSql, [backoffMs * 1000, token]).catch((err: unknown) => {
          logger.warn({ err }, 'could not shorten the claim of unsent rows; they wait for it to expire');
        });
      }
      return { ok: false, error, backoffMs };
    }
  }

  async function cleanupOnce(signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    for (let round = 0; round < maxCleanupStatementsPerRound && !signal?.aborted; round += 1) {
      const result = await statement<ResultSetHeader>(cleanupSql, [retentionMs * 1000]);
      deleted += result.affectedRows;
      if (result.affectedRows < cleanupBatchSize) break;
    }
    if (deleted > 0) logger.info({ deleted, retentionMs }, 'deleted sent outbox rows past retention');
    return deleted;
  }

  async function loop(signal: AbortSignal): Promise<void> {
    let nextCleanupAt = Date.now() + cleanupIntervalMs;
    while (!signal.aborted) {
      const outcome = await attempt();
      // A full batch means more may be waiting: go again at once.
      const delayMs = !outcome.ok ? outcome.backoffMs : outcome.claimed >= batchSize ? 0 : pollIntervalMs;
      if (Date.now() >= nextCleanupAt && !signal.aborted) {
        nextCleanupAt = Date.now() + cleanupIntervalMs;
        await cleanupOnce(signal).catch((err: unknown) => {
          logger.warn({ err }, 'outbox cleanup failed; retried next round');
        });
      }
      if (delayMs > 0 && !signal.aborted) {
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  return {
    start() {
      if (running) return;
      const abort = new AbortController();
      const stopGauges = observeOutboxBacklog(meter, readStats, { statsMaxAgeMs, logger });
      running = { abort, stopGauges, loop: loop(abort.signal) };
      logger.info({ batchSize, pollIntervalMs, claimTtlMs }, 'outbox relay started');
    },
    async stop() {
      const current = running;
      if (!current) return;
      running = undefined;
      current.abort.abort();
      await current.loop;
      current.stopGauges();
      logger.info('outbox relay stopped');
    },
    async runOnce() {
      const outcome = await attempt();
      if (!outcome.ok) throw outcome.error;
      return outcome.published;
    },
    cleanupOnce: () => cleanupOnce(),
  };
}
