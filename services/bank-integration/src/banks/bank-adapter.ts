/**
 * What bank-integration needs from a bank: pulling money from a linked account and returning
 * it. Every call carries an idempotency key (the charge id, the refund id): a bank answers a
 * repeated key with the original outcome and moves money at most once per key. A call that gets
 * no answer (timeout, network, outage) throws; the outcome is then unknown and the caller asks
 * again later with the same key.
 */
export interface BankAdapter {
  debit(request: BankDebitRequest, signal?: AbortSignal): Promise<BankDebitOutcome>;
  refund(request: BankRefundRequest, signal?: AbortSignal): Promise<BankRefundOutcome>;
}

export interface BankDebitRequest {
  /** The charge id. */
  idempotencyKey: string;
  bankCode: string;
  accountNumber: string;
  amount: number;
  currency: string;
}

export type BankDebitOutcome =
  { outcome: 'approved'; reference: string } | { outcome: 'declined'; reason: 'bank_declined' };

export interface BankRefundRequest {
  /** The refund id. */
  idempotencyKey: string;
  bankCode: string;
  accountNumber: string;
  /** The bank's reference of the debit being returned. */
  debitReference: string;
  amount: number;
  currency: string;
}

export interface BankRefundOutcome {
  reference: string;
}

/** The adapter of each bank, by its 4-digit code: how the service reaches any bank. */
export interface BankDirectory {
  bank(bankCode: string): BankAdapter;
}
