import { text, txSql, type Sql, type Tx } from '../sql.js';
import type { IdempotencyScope, IdempotentRequest, StoredKey } from './idempotency.js';

/**
 * SQL of `idempotency_keys`. Leases are compared with the database clock (`NOW(3)`), so replicas
 * with skewed clocks still agree on whose lease is live.
 */
export interface IdempotencyStore {
  /** Reserves the key for `owner`; false when a row for it already exists. */
  insert(request: IdempotentRequest, owner: string, leaseMs: number, retentionMs: number): Promise<boolean>;
  find(scope: IdempotencyScope): Promise<StoredKey | undefined>;
  /** Moves an IN_PROGRESS key from `previousOwner` (whose lease ran out) to `owner`; false if someone else did. */
  takeOver(scope: IdempotencyScope, previousOwner: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Ties the key to the resource it created, in that resource's transaction; false if `owner` lost it. */
  bind(conn: Tx, scope: IdempotencyScope, owner: string, resourceId: string): Promise<boolean>;
  /** Ties the key back to no resource, in the transaction that deletes it; false if `owner` lost it. */
  unbind(conn: Tx, scope: IdempotencyScope, owner: string, resourceId: string): Promise<boolean>;
  /**
   * Stores the response, in the transaction that records the resource's state. With `onlyIfOpen`,
   * only while no response is stored yet (the first answer stands).
   */
  complete(
    conn: Tx,
    scope: IdempotencyScope,
    resourceId: string,
    response: Buffer,
    retentionMs: number,
    onlyIfOpen?: boolean,
  ): Promise<void>;
  /** After a failure: forgets a key `owner` never bound, ends its lease on one it did. */
  release(scope: IdempotencyScope, owner: string): Promise<void>;
  /** Deletes up to `limit` expired keys that are done or never got a resource; answers how many. */
  purgeExpired(limit: number): Promise<number>;
}

const isDuplicateKey = (error: unknown): boolean => (error as { errno?: unknown } | null)?.errno === 1062;

export function createIdempotencyStore(sql: Sql): IdempotencyStore {
  return {
    async insert(request, owner, leaseMs, retentionMs) {
      try {
        await sql.write(
          `INSERT INTO idempotency_keys
             (caller_id, idempotency_key, operation, request_hash, state, owner, lease_until, created_at, expires_at)
           VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, NOW(3) + INTERVAL ? MICROSECOND, NOW(3),
                   NOW(3) + INTERVAL ? MICROSECOND)`,
          [
            request.scope.callerId,
            request.scope.key,
            request.operation,
            request.requestHash,
            owner,
            leaseMs * 1000,
            retentionMs * 1000,
          ],
        );
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },

    async find(scope) {
      const rows = await sql.rows(
        `SELECT request_hash, state, owner, lease_until > NOW(3) AS lease_live, resource_id, response
           FROM idempotency_keys WHERE caller_id = ? AND idempotency_key = ?`,
        [scope.callerId, scope.key],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      return {
        requestHash: text(row['request_hash']),
        state: row['state'] === 'COMPLETED' ? 'COMPLETED' : 'IN_PROGRESS',
        owner: text(row['owner']),
        leaseLive: Number(row['lease_live']) === 1,
        resourceId: row['resource_id'] === null ? null : text(row['resource_id']),
        response: Buffer.isBuffer(row['response']) ? row['response'] : null,
      };
    },

    async takeOver(scope, previousOwner, owner, leaseMs) {
      const changed = await sql.write(
        `UPDATE idempotency_keys SET owner = ?, lease_until = NOW(3) + INTERVAL ? MICROSECOND
          WHERE caller_id = ? AND idempotency_key = ? AND state = 'IN_PROGRESS' AND owner = ?
            AND lease_until <= NOW(3)`,
        [owner, leaseMs * 1000, scope.callerId, scope.key, previousOwner],
      );
      return changed === 1;
    },

    async bind(conn, scope, owner, resourceId) {
      const changed = await txSql(conn).write(
        `UPDATE idempotency_keys SET resource_id = ?
          WHERE caller_id = ? AND idempotency_key = ? AND owner = ? AND state = 'IN_PROGRESS'
            AND resource_id IS NULL`,
        [resourceId, scope.callerId, scope.key, owner],
      );
      return changed === 1;
    },

    async unbind(conn, scope, owner, resourceId) {
      const changed = await txSql(conn).write(
        `UPDATE idempotency_keys SET resource_id = NULL
          WHERE caller_id = ? AND idempotency_key = ? AND owner = ? AND state = 'IN_PROGRESS'
            AND resource_id = ?`,
        [scope.callerId, scope.key, owner, resourceId],
      );
      return changed === 1;
    },

    async complete(conn, scope, resourceId, response, retentionMs, onlyIfOpen = false) {
      await txSql(conn).write(
        `UPDATE idempotency_keys
            SET state = 'COMPLETED', response = ?, completed_at = NOW(3),
                expires_at = NOW(3) + INTERVAL ? MICROSECOND
          WHERE caller_id = ? AND idempotency_key = ? AND resource_id = ?${onlyIfOpen ? " AND state = 'IN_PROGRESS'" : ''}`,
        [response, retentionMs * 1000, scope.callerId, scope.key, resourceId],
      );
    },

    async release(scope, owner) {
      await sql.write(
        `DELETE FROM idempotency_keys
          WHERE caller_id = ? AND idempotency_key = ? AND owner = ? AND resource_id IS NULL`,
        [scope.callerId, scope.key, owner],
      );
      await sql.write(
        `UPDATE idempotency_keys SET lease_until = NOW(3)
          WHERE caller_id = ? AND idempotency_key = ? AND owner = ? AND state = 'IN_PROGRESS'`,
        [scope.callerId, scope.key, owner],
      );
    },

    async purgeExpired(limit) {
      return sql.write(
        `DELETE FROM idempotency_keys
          WHERE expires_at < NOW(3) AND (state = 'COMPLETED' OR resource_id IS NULL) LIMIT ?`,
        [limit],
      );
    },
  };
}
