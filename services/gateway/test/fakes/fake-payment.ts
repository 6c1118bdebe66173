// An in-memory PaymentService implementing payment.proto closely enough for the gateway's
// component tests, moving money in the fake ledger's books. Conventions of the fake:
// - an amount of 666 is declined for risk;
// - an Idempotency-Key starting with `busy-` is "still running" (idempotency_in_progress);
// - QR payloads are `FAKEQR|<qrCodeId>`; anything else is invalid_qr;
// - a card payment is charged to the card (the fake bank-integration's), not the wallet;
// - a top-up from bank `0999` FAILS (bank declined); one of 777 stays PROCESSING until the test
//   finishes it; a card top-up of 423 is refused with account_locked (as payment does for a
//   locked card); anything else COMPLETES and credits the wallet.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  DomainError,
  GrpcStatusError,
  createGrpcServer,
  loadProtos,
  toTimestamp,
  type GrpcServer,
  type KobanProtos,
  type Logger,
  type ServiceHandlers,
} from '@koban/platform';
import { DECLINING_BANK, type FakeBankIntegration } from './fake-bank-integration.js';
import type { FakeBook, FaultMode } from './fake-ledger.js';

type PaymentDefinition = KobanProtos['koban']['payment']['v1']['PaymentService']['service'];
type Handlers = ServiceHandlers<PaymentDefinition>;
type PaymentMessage = NonNullable<Awaited<ReturnType<Handlers['GetPayment']>>['payment']>;
type DeclineReason = NonNullable<PaymentMessage['declineReason']>;
type CashbackMessage = NonNullable<PaymentMessage['cashback']>;
type TopupMessage = NonNullable<Awaited<ReturnType<Handlers['GetTopup']>>['topup']>;

const paymentErrorStatus = {
  invalid_request: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  unsupported_currency: grpc.status.INVALID_ARGUMENT,
  amount_out_of_range: grpc.status.OUT_OF_RANGE,
  invalid_qr: grpc.status.INVALID_ARGUMENT,
  idempotency_key_reused: grpc.status.ALREADY_EXISTS,
  idempotency_in_progress: grpc.status.ABORTED,
  refund_exceeds_payment: grpc.status.FAILED_PRECONDITION,
  account_locked: grpc.status.FAILED_PRECONDITION,
  service_unavailable: grpc.status.UNAVAILABLE,
} as const;

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

interface StoredPayment {
  paymentId: string;
  status: 'PAYMENT_STATUS_COMPLETED' | 'PAYMENT_STATUS_DECLINED';
  payerUserId: string;
  merchantId: string;
  amount: bigint;
  currency: string;
  declineReason: DeclineReason;
  method: 'PAYMENT_METHOD_WALLET' | 'PAYMENT_METHOD_CARD';
  cardId: string;
  cashback: { status: NonNullable<CashbackMessage['status']>; points: string };
  refunded: bigint;
  qrCodeId: string;
  createdAt: number;
}

interface StoredTopup {
  topupId: string;
  status: 'TOPUP_STATUS_PROCESSING' | 'TOPUP_STATUS_COMPLETED' | 'TOPUP_STATUS_FAILED';
  userId: string;
  amount: bigint;
  source: { bankAccountId: string } | { cardId: string };
  failureReason: 'TOPUP_FAILURE_REASON_UNSPECIFIED' | 'TOPUP_FAILURE_REASON_BANK_DECLINED';
  createdAt: number;
  finishedAt: number | undefined;
}

export interface FakePayment {
  address: string;
  /** Every request received, newest last, with the time its caller had left (its deadline). */
  requests: Array<{ rpc: string; request: Record<string, unknown>; budgetMs: number }>;
  /** The cashback completed payments answer from now on (default: none). */
  cashback: { status: NonNullable<CashbackMessage['status']>; points: string };
  /** Settles a PROCESSING top-up, as payment's retrier does once the bank answers. */
  finishTopup(topupId: string, outcome: 'COMPLETED' | 'FAILED'): void;
  setFault(mode: FaultMode): void;
  close(): Promise<void>;
}

export async function startFakePayment(
  logger: Logger,
  book: FakeBook,
  bank: Pick<FakeBankIntegration, 'bankAccounts' | 'cards'>,
): Promise<FakePayment> {
  let fault: FaultMode = { kind: 'none' };
  const requests: FakePayment['requests'] = [];
  const topups = new Map<string, StoredTopup>();
  const qrCodes = new Map<string, { qrCodeId: string; merchantId: string; amount: bigint }>();
  const payments = new Map<string, StoredPayment>();
  const answers = new Map<string, { fingerprint: string; response: object }>();

  async function misbehave(
    rpc: string,
    request: object,
    call: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<void> {
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    requests.push({ rpc, request: { ...request }, budgetMs: deadlineMs - Date.now() });
    if (fault.kind === 'unavailable') throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'payment is down');
    if (fault.kind === 'internal') throw new GrpcStatusError(grpc.status.INTERNAL, 'internal error');
    if (fault.kind === 'slow') await delay(fault.ms);
  }

  /** Payment's idempotency: the same key and request answer the first response again, marked. */
  async function idempotent<R extends object>(
    rpc: string,
    request: { idempotencyKey: string; callerId: string; clientIp?: string },
    call: grpc.ServerUnaryCall<unknown, unknown>,
    run: () => R,
  ): Promise<R & { replayed: boolean }> {
    await misbehave(rpc, request, call);
    if (request.idempotencyKey.startsWith('busy-')) {
      throw new DomainError('idempotency_in_progress', 'a request with this key is still running');
    }
    // The client IP is a fraud feature, not part of what the key stands for.
    const fingerprint = JSON.stringify({ ...request, clientIp: undefined });
    const key = `${rpc}|${request.callerId}|${request.idempotencyKey}`;
    const earlier = answers.get(key);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        throw new DomainError('idempotency_key_reused', 'this idempotency key was used for another request');
      }
      return { ...(earlier.response as R), replayed: true };
    }
    const response = run();
    answers.set(key, { fingerprint, response });
    return { ...response, replayed: false };
  }

  const paymentMessage = (payment: StoredPayment) => ({
    paymentId: payment.paymentId,
    status: payment.status,
    payerUserId: payment.payerUserId,
    merchantId: payment.merchantId,
    amount: payment.amount.toString(),
    currency: payment.currency,
    method: payment.method,
    cardId: payment.cardId,
    declineReason: payment.declineReason,
    cashback: payment.cashback,
    refundedAmount: payment.refunded.toString(),
    qrCodeId: payment.qrCodeId,
    createdAt: toTimestamp(payment.createdAt),
  });

  const wallet = (userId: string) => book.lookup('OWNER_TYPE_USER', userId, 'ACCOUNT_KIND_WALLET', 'JPY');
  const merchantAccount = (merchantId: string) =>
    book.lookup('OWNER_TYPE_MERCHANT', merchantId, 'ACCOUNT_KIND_MERCHANT', 'JPY');
  const settlement = (name: 'bank-settlement' | 'card-settlement') =>
    book.open('OWNER_TYPE_SYSTEM', name, 'ACCOUNT_KIND_SETTLEMENT', 'JPY', true);

  /** The card, if the user registered it. */
  const ownCard = (userId: string, cardId: string) => {
    const card = bank.cards.get(cardId);
    return card?.userId === userId ? card : undefined;
  };

  function topupMessage(topup: StoredTopup): TopupMessage {
    return {
      topupId: topup.topupId,
      status: topup.status,
      userId: topup.userId,
      amount: topup.amount.toString(),
      currency: 'JPY',
      ...topup.source,
      source: 'cardId' in topup.source ? 'cardId' : 'bankAccountId',
      failureReason: topup.failureReason,
      createdAt: toTimestamp(topup.createdAt),
      finishedAt: topup.finishedAt === undefined ? null : toTimestamp(topup.finishedAt),
    };
  }

  /** Credits the wallet from the source's settlement account and marks the top-up COMPLETED. */
  function complete(topup: StoredTopup): void {
    const to = wallet(topup.userId);
    if (!to) throw new Error('the wallet vanished');
    const from = settlement('cardId' in topup.source ? 'card-settlement' : 'bank-settlement');
    book.transfer(
      topup.topupId,
      'TRANSFER_KIND_TOPUP',
      topup.topupId,
      [{ from: from.accountId, to: to.accountId, amount: topup.amount, currency: 'JPY' }],
      'Top-up',
    );
    topup.status = 'TOPUP_STATUS_COMPLETED';
    topup.finishedAt = Date.now();
  }

  /** Moves money, or names why not (a recorded decline rather than an error). */
  function move(
    from: string,
    to: string,
    amount: bigint,
    transferId: string,
    kind: 'TRANSFER_KIND_PAYMENT' | 'TRANSFER_KIND_PEER' | 'TRANSFER_KIND_REFUND',
  ): DeclineReason {
    if (amount === 666n) return 'DECLINE_REASON_RISK';
    try {
      book.transfer(transferId, kind, transferId, [{ from, to, amount, currency: 'JPY' }], kind);
      return 'DECLINE_REASON_UNSPECIFIED';
    } catch (error) {
      if (error instanceof DomainError && error.code === 'insufficient_funds')
        return 'DECLINE_REASON_INSUFFICIENT_FUNDS';
      throw error;
    }
  }

  const notUsed = () => {
    throw new GrpcStatusError(grpc.status.UNIMPLEMENTED, 'not used by these tests');
  };

  const handlers: Handlers = {
    async CreateQrCode(request, call) {
      await misbehave('CreateQrCode', request, call);
      if (!merchantAccount(request.merchantId)) throw new DomainError('not_found', 'no such merchant');
      const qrCodeId = id('qr');
      qrCodes.set(`FAKEQR|${qrCodeId}`, {
        qrCodeId,
        merchantId: request.merchantId,
        amount: BigInt(request.amount),
      });
      return {
        qrCode: {
          qrCodeId,
          merchantId: request.merchantId,
          payload: `FAKEQR|${qrCodeId}`,
          amount: request.amount,
          currency: request.currency || 'JPY',
          createdAt: toTimestamp(Date.now()),
        },
      };
    },

    CreatePayment: (request, call) =>
      idempotent('CreatePayment', request, call, () => {
        let merchantId = request.merchantId ?? '';
        let amount = BigInt(request.amount);
        let qrCodeId = '';
        if (request.payee === 'qrPayload') {
          const qr = qrCodes.get(request.qrPayload ?? '');
          if (!qr) throw new DomainError('invalid_qr', 'the QR payload is not valid', { reason: 'crc' });
          merchantId = qr.merchantId;
          qrCodeId = qr.qrCodeId;
          if (qr.amount > 0n) amount = qr.amount;
          if (amount === 0n) {
            throw new DomainError('invalid_request', 'a static QR code needs an amount', {
              fields: { amount: 'is required with a static QR code' },
            });
          }
        }
        const byCard = request.method === 'PAYMENT_METHOD_CARD';
        if (byCard && !ownCard(request.payerUserId, request.cardId)) {
          throw new DomainError('not_found', 'no such card');
        }
        const from = byCard ? settlement('card-settlement') : wallet(request.payerUserId);
        const to = merchantAccount(merchantId);
        if (!from || !to) throw new DomainError('not_found', 'no such merchant');
        const paymentId = id('pay');
        const declineReason = move(from.accountId, to.accountId, amount, paymentId, 'TRANSFER_KIND_PAYMENT');
        const payment: StoredPayment = {
          paymentId,
          status:
            declineReason === 'DECLINE_REASON_UNSPECIFIED'
              ? 'PAYMENT_STATUS_COMPLETED'
              : 'PAYMENT_STATUS_DECLINED',
          payerUserId: request.payerUserId,
          merchantId,
          amount,
          currency: 'JPY',
          declineReason,
          method: byCard ? 'PAYMENT_METHOD_CARD' : 'PAYMENT_METHOD_WALLET',
          cardId: byCard ? request.cardId : '',
          cashback:
            declineReason === 'DECLINE_REASON_UNSPECIFIED'
              ? { ...fake.cashback }
              : { status: 'CASHBACK_STATUS_NONE', points: '0' },
          refunded: 0n,
          qrCodeId,
          createdAt: Date.now(),
        };
        payments.set(paymentId, payment);
        return { payment: paymentMessage(payment) };
      }),

    async GetPayment(request, call) {
      await misbehave('GetPayment', request, call);
      const payment = payments.get(request.paymentId);
      if (!payment) throw new DomainError('not_found', 'no such payment');
      return { payment: paymentMessage(payment) };
    },

    CreateRefund: (request, call) =>
      idempotent('CreateRefund', request, call, () => {
        const payment = payments.get(request.paymentId);
        if (!payment || payment.merchantId !== request.callerId)
          throw new DomainError('not_found', 'no such payment');
        const left = payment.amount - payment.refunded;
        const amount = BigInt(request.amount) === 0n ? left : BigInt(request.amount);
        if (amount > left || amount === 0n) {
          throw new DomainError('refund_exceeds_payment', 'more than is left to refund', {
            refundable: Number(left),
          });
        }
        const refundId = id('rfd');
        const from = merchantAccount(payment.merchantId);
        const to = wallet(payment.payerUserId);
        if (!from || !to) throw new Error('accounts vanished');
        book.transfer(
          refundId,
          'TRANSFER_KIND_REFUND',
          refundId,
          [{ from: from.accountId, to: to.accountId, amount, currency: 'JPY' }],
          'refund',
        );
        payment.refunded += amount;
        return {
          refund: {
            refundId,
            paymentId: payment.paymentId,
            status: 'REFUND_STATUS_COMPLETED' as const,
            amount: amount.toString(),
            currency: 'JPY',
            clawedBackPoints: '0',
            createdAt: toTimestamp(Date.now()),
          },
        };
      }),

    CreateTransfer: (request, call) =>
      idempotent('CreateTransfer', request, call, () => {
        const from = wallet(request.fromUserId);
        const to = wallet(request.toUserId);
        if (!from || !to) throw new DomainError('not_found', 'no such recipient');
        const transferId = id('trf');
        const declineReason = move(
          from.accountId,
          to.accountId,
          BigInt(request.amount),
          transferId,
          'TRANSFER_KIND_PEER',
        );
        return {
          transfer: {
            transferId,
            status:
              declineReason === 'DECLINE_REASON_UNSPECIFIED'
                ? ('TRANSFER_STATUS_COMPLETED' as const)
                : ('TRANSFER_STATUS_DECLINED' as const),
            fromUserId: request.fromUserId,
            toUserId: request.toUserId,
            amount: request.amount,
            currency: request.currency,
            message: request.message,
            declineReason,
            createdAt: toTimestamp(Date.now()),
          },
        };
      }),

    CreateTopup: (request, call) =>
      idempotent('CreateTopup', request, call, () => {
        if (!wallet(request.userId)) throw new DomainError('not_found', 'no such user');
        let source: StoredTopup['source'];
        let declined = false;
        if (request.source === 'cardId') {
          if (!ownCard(request.userId, request.cardId ?? ''))
            throw new DomainError('not_found', 'no such card');
          if (request.amount === '423') {
            throw new DomainError('account_locked', 'card operations are locked', {
              lockedUntil: new Date(Date.now() + 30 * 60_000).toISOString(),
              scope: 'card',
            });
          }
          source = { cardId: request.cardId ?? '' };
        } else {
          const account = bank.bankAccounts.get(request.bankAccountId ?? '');
          if (account?.userId !== request.userId) throw new DomainError('not_found', 'no such bank account');
          declined = account.bankCode === DECLINING_BANK;
          source = { bankAccountId: account.bankAccountId };
        }
        const topup: StoredTopup = {
          topupId: id('top'),
          status: declined ? 'TOPUP_STATUS_FAILED' : 'TOPUP_STATUS_PROCESSING',
          userId: request.userId,
          amount: BigInt(request.amount),
          source,
          failureReason: declined ? 'TOPUP_FAILURE_REASON_BANK_DECLINED' : 'TOPUP_FAILURE_REASON_UNSPECIFIED',
          createdAt: Date.now(),
          finishedAt: declined ? Date.now() : undefined,
        };
        if (!declined && topup.amount !== 777n) complete(topup);
        topups.set(topup.topupId, topup);
        return { topup: topupMessage(topup) };
      }),

    async GetTopup(request, call) {
      await misbehave('GetTopup', request, call);
      const topup = topups.get(request.topupId);
      if (!topup) throw new DomainError('not_found', 'no such top-up');
      return { topup: topupMessage(topup) };
    },

    GetRefund: notUsed,
    GetTransfer: notUsed,
  };

  const server: GrpcServer = createGrpcServer({
    serviceName: 'payment',
    logger,
    domainErrorStatus: paymentErrorStatus,
  });
  server.addService(loadProtos().koban.payment.v1.PaymentService.service, handlers);
  const port = await server.listen(0);
  const fake: FakePayment = {
    address: `127.0.0.1:${port}`,
    requests,
    cashback: { status: 'CASHBACK_STATUS_NONE', points: '0' },
    finishTopup(topupId, outcome) {
      const topup = topups.get(topupId);
      if (topup?.status !== 'TOPUP_STATUS_PROCESSING') throw new Error(`top-up ${topupId} is not processing`);
      if (outcome === 'COMPLETED') complete(topup);
      else {
        topup.status = 'TOPUP_STATUS_FAILED';
        topup.failureReason = 'TOPUP_FAILURE_REASON_BANK_DECLINED';
        topup.finishedAt = Date.now();
      }
    },
    setFault: (mode) => {
      fault = mode;
    },
    close: () => server.shutdown(0),
  };
  return fake;
}
