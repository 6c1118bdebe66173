import type { Db } from '@koban/platform';
import type { CardCheckResult, Subject, SubjectType } from './lockout.js';

/** One row of a SELECT as the platform's pool returns it (DATETIME as a Date). */
type Row = Readonly<Record<string, unknown>>;

/** A counted failure: one journal row, and the member of its subject's window in Redis. */
export interface FailureEntry {
  id: string;
  subject: Subject;
  result: CardCheckResult;
  atMs: number;
}

/** A failure of one subject's window, as its window in Redis holds it. */
export interface WindowEntry {
  id: string;
  atMs: number;
}

/** SQL in, plain objects out: `lockouts` and `card_check_failures` of `koban_fraud`. */
export interface LockoutStore {
  /** Journals failures (one statement) and prunes their subjects' rows older than `pruneBeforeMs`. */
  insertFailures(
    entries: readonly FailureEntry[],
    pruneBeforeMs: (subject: Subject) => number,
  ): Promise<void>;
  /** The subject's failures after `sinceMs`, newest first, at most `limit`. */
  listFailures(subject: Subject, sinceMs: number, limit: number): Promise<WindowEntry[]>;
  /** When each given subject's lock ends, for the subjects locked past `nowMs` (keyed by `subjectId`). */
  findActiveLocks(subjects: readonly Subject[], nowMs: number): Promise<Map<string, number>>;
  /**
   * Locks the subject until `lockedUntilMs` unless a lock is in force already (that one stands:
   * a lock is never extended or shortened by a later failure); answers when the lock in force ends.
   */
  lock(subject: Subject, lockedUntilMs: number, reason: string, nowMs: number): Promise<number>;
}

/** A subject as one string, for maps. */
export function subjectId(subject: Subject): string {
  return `${subject.type}:${subject.key}`;
}

const subjectTypes: ReadonlySet<string> = new Set<SubjectType>(['user', 'card', 'ip']);

export function createLockoutStore(db: Db): LockoutStore {
  return {
    async insertFailures(entries, pruneBeforeMs) {
      if (entries.length === 0) return;
      await db.query(
        'INSERT INTO card_check_failures (id, subject_type, subject_key, result, failed_at) VALUES ?',
        [entries.map((e) => [e.id, e.subject.type, e.subject.key, e.result, new Date(e.atMs)])],
      );
      // Bounded by the index: only this subject's rows that left the window.
      for (const { subject } of entries) {
        await db.query(
          'DELETE FROM card_check_failures WHERE subject_type = ? AND subject_key = ? AND failed_at <= ?',
          [subject.type, subject.key, new Date(pruneBeforeMs(subject))],
        );
      }
    },

    async listFailures(subject, sinceMs, limit) {
      const rows = await db.query(
        `SELECT id, failed_at FROM card_check_failures
          WHERE subject_type = ? AND subject_key = ? AND failed_at > ?
          ORDER BY failed_at DESC LIMIT ?`,
        [subject.type, subject.key, new Date(sinceMs), limit],
      );
      return rows.map((row: Row) => ({ id: String(row['id']), atMs: (row['failed_at'] as Date).getTime() }));
    },

    async findActiveLocks(subjects, nowMs) {
      const locks = new Map<string, number>();
      if (subjects.length === 0) return locks;
      const rows = await db.query(
        `SELECT subject_type, subject_key, locked_until FROM lockouts
          WHERE (${subjects.map(() => '(subject_type = ? AND subject_key = ?)').join(' OR ')})
            AND locked_until > ?`,
        [...subjects.flatMap((s) => [s.type, s.key]), new Date(nowMs)],
      );
      for (const row of rows) {
        const type = String(row['subject_type']);
        if (!subjectTypes.has(type)) continue;
        locks.set(
          subjectId({ type: type as SubjectType, key: String(row['subject_key']) }),
          (row['locked_until'] as Date).getTime(),
        );
      }
      return locks;
    },

    async lock(subject, lockedUntilMs, reason, nowMs) {
      const now = new Date(nowMs);
      // Assignments run left to right and see the columns already assigned: locked_until goes
      // last so that the conditions before it read the lock that was there.
      await db.query(
        `INSERT INTO lockouts (subject_type, subject_key, locked_until, reason, created_at)
         VALUES (?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           reason = IF(locked_until > ?, reason, VALUES(reason)),
           created_at = IF(locked_until > ?, created_at, VALUES(created_at)),
           locked_until = IF(locked_until > ?, locked_until, VALUES(locked_until))`,
        [subject.type, subject.key, new Date(lockedUntilMs), reason, now, now, now, now],
      );
      const [row] = await db.query(
        'SELECT locked_until FROM lockouts WHERE subject_type = ? AND subject_key = ?',
        [subject.type, subject.key],
      );
      if (row === undefined) throw new Error('the lock just written is not there');
      return (row['locked_until'] as Date).getTime();
    },
  };
}
