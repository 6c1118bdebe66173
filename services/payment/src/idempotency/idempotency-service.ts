import { randomUUID } from 'node:crypto';
import type { DependencyPolicy, Logger } from '@koban/platform';
import type { Tx } from '../sql.js';
import {
  decideExistingKey,
  inProgressError,
  keyReusedError,
  markerHash,
  markerKey,
  markerValue,
  type IdempotencyScope,
  type IdempotentRequest,
} from './idempotency.js';
import type { IdempotencyStore } from './idempotency-store.js';

/** What the Redis fast path needs from the client. */
export interface MarkerRedis {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, numberOfKeys: number, ...args: string[]): Promise<unknown>;
}

/** The right to run a request under a key, held until it completes or fails. */
export interface Reservation {
  readonly scope: IdempotencyScope;
  /**
   * Ties the key to the resource being created, inside the transaction that inserts it. Throws
   * `idempotency_in_progress` (rolling that transaction back) if the reservation was lost.
   */
  bind(conn: Tx, resourceId: string): Promise<void>;
  /**
   * Unties the key from the resource, inside the transaction that deletes it, for a request that
   * will fail having recorded nothing after all. The failure then frees the key: a retry starts
   * afresh. Throws `idempotency_in_progress` if the reservation was lost.
   */
  forget(conn: Tx, resourceId: string): Promise<void>;
}

/** The two ways a reserved request runs: afresh, or driving forward the resource a previous attempt created. */
export interface IdempotentWork<T> {
  start(reservation: Reservation): Promise<T>;
  resume(resourceId: string): Promise<T>;
}

/** A fresh result, or the stored response of the request that completed under the key before. */
export type IdempotentOutcome<T> = { replayed: false; value: T } | { replayed: true; response: Buffer };

export interface IdempotencyService {
  run<T>(request: IdempotentRequest, work: IdempotentWork<T>): Promise<IdempotentOutcome<T>>;
  /** Records the final response, in the transaction that records the resource's final state. */
  complete(conn: Tx, scope: IdempotencyScope, resourceId: string, response: Buffer): Promise<void>;
  /**
   * Records the response unless one is recorded already: for resources answered before they are
   * finished (a PROCESSING top-up), whose first answer is what a replay must repeat.
   */
  completeOnce(conn: Tx, scope: IdempotencyScope, resourceId: string, response: Buffer): Promise<void>;
  /** Deletes expired keys (the sweeper's housekeeping); answers how many. */
  purgeExpired(limit: number): Promise<number>;
}

export interface IdempotencyDeps {
  store: IdempotencyStore;
  redis: MarkerRedis;
  /** The payment→redis policy (100 ms, breaker); when it fails the durable path decides alone. */
  redisPolicy: DependencyPolicy;
  logger: Logger;
  /** How long a request holds its key before another may take it over (`IDEMPOTENCY_LEASE_MS`). */
  leaseMs: number;
  /** How long a key is kept after it was used (`IDEMPOTENCY_RETENTION_HOURS`, at least 24 h). */
  retentionMs: number;
}

type Marker = { kind: 'acquired' } | { kind: 'busy'; requestHash: string } | { kind: 'unavailable' };

type Claim =
  | { kind: 'acquired'; resourceId: string | null }
  | { kind: 'replay'; response: Buffer }
  | { kind: 'reused' }
  | { kind: 'in_progress' };

// Deletes the marker only if it is still ours: it may have expired and been taken since.
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Runs requests at most once per (caller, key). Redis answers the common duplicate (a client
 * retrying while its first request runs) without touching the database; the unique key in
 * `idempotency_keys` is the guarantee, with or without Redis.
 */
export function createIdempotencyService(deps: IdempotencyDeps): IdempotencyService {
  const logger = deps.logger.child({ component: 'idempotency' });
  const { store, redis, redisPolicy, leaseMs, retentionMs } = deps;

  async function mark(request: IdempotentRequest, owner: string): Promise<Marker> {
    const key = markerKey(request.scope);
    return redisPolicy.withFallback(
      async (): Promise<Marker> => {
        const set = await redis.set(key, markerValue(owner, request.requestHash), 'PX', leaseMs, 'NX');
        if (set === 'OK') return { kind: 'acquired' };
        const current = await redis.get(key);
        // Expired between the two commands: let the database decide.
        return current === null
          ? { kind: 'unavailable' }
          : { kind: 'busy', requestHash: markerHash(current) };
      },
      () => ({ kind: 'unavailable' }),
    );
  }

  async function unmark(request: IdempotentRequest, owner: string): Promise<void> {
    await redisPolicy.withFallback(
      () => redis.eval(releaseScript, 1, markerKey(request.scope), markerValue(owner, request.requestHash)),
      // The marker expires with the lease anyway.
      () => undefined,
    );
  }

  async function claim(request: IdempotentRequest, owner: string): Promise<Claim> {
    // Twice at most: a key purged between the failed insert and the read is simply free again.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (await store.insert(request, owner, leaseMs, retentionMs))
        return { kind: 'acquired', resourceId: null };
      const stored = await store.find(request.scope);
      if (stored === undefined) continue;
      const decision = decideExistingKey(stored, request.requestHash);
      if (decision.kind !== 'take_over') return decision;
      if (await store.takeOver(request.scope, stored.owner, owner, leaseMs)) {
        logger.info(
          { operation: request.operation, resourceId: decision.resourceId },
          'took over an idempotency key whose lease had run out',
        );
        return { kind: 'acquired', resourceId: decision.resourceId };
      }
      return { kind: 'in_progress' };
    }
    return { kind: 'in_progress' };
  }

  /** The answer for a duplicate that Redis caught: only a completed key is read from the database. */
  async function answerBusy<T>(
    request: IdempotentRequest,
    markedHash: string,
  ): Promise<IdempotentOutcome<T>> {
    if (markedHash !== request.requestHash) throw keyReusedError();
    const stored = await store.find(request.scope);
    const decision = stored === undefined ? undefined : decideExistingKey(stored, request.requestHash);
    if (decision?.kind === 'replay') return { replayed: true, response: decision.response };
    if (decision?.kind === 'reused') throw keyReusedError();
    throw inProgressError();
  }

  async function run<T>(request: IdempotentRequest, work: IdempotentWork<T>): Promise<IdempotentOutcome<T>> {
    const owner = randomUUID();
    const marker = await mark(request, owner);
    if (marker.kind === 'busy') return answerBusy(request, marker.requestHash);
    try {
      const claimed = await claim(request, owner);
      if (claimed.kind === 'replay') return { replayed: true, response: claimed.response };
      if (claimed.kind === 'reused') throw keyReusedError();
      if (claimed.kind === 'in_progress') throw inProgressError();

      const reservation: Reservation = {
        scope: request.scope,
        async bind(conn, resourceId) {
          if (!(await store.bind(conn, request.scope, owner, resourceId))) throw inProgressError();
        },
        async forget(conn, resourceId) {
          if (!(await store.unbind(conn, request.scope, owner, resourceId))) throw inProgressError();
        },
      };
      try {
        const value =
          claimed.resourceId === null ? await work.start(reservation) : await work.resume(claimed.resourceId);
        return { replayed: false, value };
      } catch (error) {
        await store.release(request.scope, owner).catch((releaseError: unknown) => {
          // The lease runs out by itself; a retry meanwhile is told to wait.
          logger.warn(
            { err: releaseError, operation: request.operation },
            'could not release an idempotency key',
          );
        });
        throw error;
      }
    } finally {
      if (marker.kind === 'acquired') await unmark(request, owner);
    }
  }

  return {
    run,
    complete: (conn, scope, resourceId, response) =>
      store.complete(conn, scope, resourceId, response, retentionMs),
    completeOnce: (conn, scope, resourceId, response) =>
      store.complete(conn, scope, resourceId, response, retentionMs, true),
    purgeExpired: (limit) => store.purgeExpired(limit),
  };
}
