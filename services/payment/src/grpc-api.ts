import { GrpcStatus as grpcStatus } from '@koban/platform';
import type { PaymentErrorCode } from './payment-errors.js';
import { paymentHandlers } from './payment/payment-grpc.js';
import type { PaymentService } from './payment/payment-service.js';
import { qrCodeHandlers } from './qr/qr-code-grpc.js';
import type { QrCodeService } from './qr/qr-code-service.js';
import { refundHandlers } from './refund/refund-grpc.js';
import type { RefundService } from './refund/refund-service.js';
import type { PaymentHandlers } from './rpc.js';
import { topupHandlers } from './topup/topup-grpc.js';
import type { TopupService } from './topup/topup-service.js';
import { transferHandlers } from './transfer/transfer-grpc.js';
import type { TransferService } from './transfer/transfer-service.js';

/**
 * Every domain error of the service and the gRPC status it is answered with (the mapping
 * recommended by proto/README.md). Exhaustive: a new code does not compile until mapped here.
 */
export const paymentErrorStatus = {
  invalid_request: grpcStatus.INVALID_ARGUMENT,
  not_found: grpcStatus.NOT_FOUND,
  unsupported_currency: grpcStatus.INVALID_ARGUMENT,
  amount_out_of_range: grpcStatus.OUT_OF_RANGE,
  invalid_qr: grpcStatus.INVALID_ARGUMENT,
  idempotency_key_reused: grpcStatus.ALREADY_EXISTS,
  idempotency_in_progress: grpcStatus.ABORTED,
  refund_exceeds_payment: grpcStatus.FAILED_PRECONDITION,
  invalid_bank_account: grpcStatus.INVALID_ARGUMENT,
  invalid_card_number: grpcStatus.INVALID_ARGUMENT,
  card_expired: grpcStatus.FAILED_PRECONDITION,
  invalid_cvc: grpcStatus.FAILED_PRECONDITION,
  card_declined: grpcStatus.FAILED_PRECONDITION,
  account_locked: grpcStatus.FAILED_PRECONDITION,
  rate_limited: grpcStatus.RESOURCE_EXHAUSTED,
  service_unavailable: grpcStatus.UNAVAILABLE,
} as const satisfies Readonly<Record<PaymentErrorCode, number>>;

export interface PaymentFeatures {
  qrCodes: QrCodeService;
  payments: PaymentService;
  refunds: RefundService;
  transfers: TransferService;
  topups: TopupService;
}

/** The PaymentService handlers of every feature. */
export function createPaymentHandlers(features: PaymentFeatures): PaymentHandlers {
  return {
    ...qrCodeHandlers(features.qrCodes),
    ...paymentHandlers(features.payments),
    ...refundHandlers(features.refunds),
    ...transferHandlers(features.transfers),
    ...topupHandlers(features.topups),
  };
}
