import type { Db } from '@koban/platform';
import {
  FRAUD_REASONS,
  type FraudOutcome,
  type FraudReason,
  type PaymentMethod,
  type ScoringFeatures,
} from './fraud-rules.js';

/** One row of a SELECT as the platform's pool returns it (BIGINT as a string, DATETIME as a Date). */
type Row = Readonly<Record<string, unknown>>;

/** A decision as recorded in `fraud_decisions`: one per payment. */
export interface StoredDecision {
  /** Random, opaque. */
  id: string;
  paymentId: string;
  userId: string;
  merchantId: string;
  amount: bigint;
  currency: string;
  /** Null for decisions recorded before the method was kept. */
  method: PaymentMethod | null;
  /** The card and client IP it was scored with; empty when none. */
  cardFingerprint: string;
  clientIp: string;
  outcome: FraudOutcome;
  score: number;
  reasons: FraudReason[];
  /** The user velocity used; null when the window was unavailable. */
  userPaymentsLastMinute: number | null;
  /** Every feature used; null for decisions recorded before they were kept. */
  features: ScoringFeatures | null;
  decidedAt: Date;
}

/** SQL in, plain objects out. */
export interface DecisionStore {
  findByPaymentId(paymentId: string): Promise<StoredDecision | undefined>;
  /**
   * Records `decision` unless its payment has one already; answers the decision that stands
   * (the given one, or the one recorded first by a concurrent or earlier call).
   */
  insertOnce(decision: StoredDecision): Promise<StoredDecision>;
}

const knownReasons: ReadonlySet<string> = new Set<string>(FRAUD_REASONS);
const knownOutcomes: ReadonlySet<string> = new Set<FraudOutcome>(['approve', 'review', 'decline']);

const columns = `id, payment_id, user_id, merchant_id, amount, currency, method, card_fingerprint, client_ip,
  outcome, score, reasons, user_payments_last_minute, features, decided_at`;

/** MySQL/MariaDB/TiDB duplicate key (1062): here, the payment has a decision already. */
function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { errno?: unknown }).errno === 1062;
}

function parseReasons(text: string): FraudReason[] {
  return text.split(',').filter((reason): reason is FraudReason => knownReasons.has(reason));
}

/** The features as stored: JSON, the day's amount as a decimal string (exact beyond 2^53). */
function featuresToText(features: ScoringFeatures): string {
  return JSON.stringify({ ...features, userAmountLastDay: features.userAmountLastDay?.toString() ?? null });
}

function featuresFromText(text: unknown): ScoringFeatures | null {
  if (typeof text !== 'string' || text === '') return null;
  const parsed = JSON.parse(text) as Omit<ScoringFeatures, 'userAmountLastDay'> & {
    userAmountLastDay: string | null;
  };
  return {
    ...parsed,
    userAmountLastDay: parsed.userAmountLastDay === null ? null : BigInt(parsed.userAmountLastDay),
  };
}

function toDecision(row: Row): StoredDecision {
  const outcome = String(row['outcome']);
  if (!knownOutcomes.has(outcome)) throw new Error(`fraud_decisions holds an unknown outcome ${outcome}`);
  const velocity = row['user_payments_last_minute'] as string | number | null;
  const method = row['method'];
  return {
    id: String(row['id']),
    paymentId: String(row['payment_id']),
    userId: String(row['user_id']),
    merchantId: String(row['merchant_id']),
    amount: BigInt(String(row['amount'])),
    currency: String(row['currency']),
    method: method === 'wallet' || method === 'card' ? method : null,
    cardFingerprint: typeof row['card_fingerprint'] === 'string' ? row['card_fingerprint'] : '',
    clientIp: typeof row['client_ip'] === 'string' ? row['client_ip'] : '',
    outcome: outcome as FraudOutcome,
    score: Number(row['score']),
    reasons: parseReasons(String(row['reasons'])),
    userPaymentsLastMinute: velocity === null ? null : Number(velocity),
    features: featuresFromText(row['features']),
    decidedAt: row['decided_at'] as Date,
  };
}

/** The decisions table of `koban_fraud` (migrations 0002 and 0004). */
export function createDecisionStore(db: Db): DecisionStore {
  async function findByPaymentId(paymentId: string): Promise<StoredDecision | undefined> {
    const [row] = await db.query(`SELECT ${columns} FROM fraud_decisions WHERE payment_id = ?`, [paymentId]);
    return row === undefined ? undefined : toDecision(row);
  }

  return {
    findByPaymentId,
    async insertOnce(decision) {
      try {
        await db.query(
          `INSERT INTO fraud_decisions (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            decision.id,
            decision.paymentId,
            decision.userId,
            decision.merchantId,
            decision.amount.toString(),
            decision.currency,
            decision.method,
            decision.cardFingerprint === '' ? null : decision.cardFingerprint,
            decision.clientIp === '' ? null : decision.clientIp,
            decision.outcome,
            decision.score,
            decision.reasons.join(','),
            decision.userPaymentsLastMinute,
            decision.features === null ? null : featuresToText(decision.features),
            decision.decidedAt,
          ],
        );
        return decision;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const existing = await findByPaymentId(decision.paymentId);
        // The id is random, so a duplicate is the payment's: unless the row vanished meanwhile.
        if (existing === undefined) throw error;
        return existing;
      }
    },
  };
}
