import { GrpcStatus as grpcStatus, GrpcStatusError } from '@koban/platform';
import type { PaymentErrorCode } from './payment-errors.js';
import { paymentHandlers } from './payment/payment-grpc.js';
import type { PaymentService } from './payment/payment-service.js';
import { qrCodeHandlers } from './qr/qr-code-grpc.js';
import type { QrCodeService } from './qr/qr-code-service.js';
import { refundHandlers } from './refund/refund-grpc.js';
import type { RefundService } from './refund/refund-service.js';
import type { PaymentHandlers } from './rpc.js';
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
  account_locked: grpcStatus.FAILED_PRECONDITION,
  service_unavailable: grpcStatus.UNAVAILABLE,
} as const satisfies Readonly<Record<PaymentErrorCode, number>>;

export interface PaymentFeatures {
  qrCodes: QrCodeService;
  payments: PaymentService;
  refunds: RefundService;
  transfers: TransferService;
}

/** The PaymentService handlers of every feature. Top-ups come with a later issue. */
export function createPaymentHandlers(features: PaymentFeatures): PaymentHandlers {
  const topupsNotYet = (): never => {
    throw new GrpcStatusError(grpcStatus.UNIMPLEMENTED, 'top-ups are not available yet');
  };
  return {
    ...qrCodeHandlers(features.qrCodes),
    ...paymentHandlers(features.payments),
    ...refundHandlers(features.refunds),
    ...transferHandlers(features.transfers),
    CreateTopup: topupsNotYet,
    GetTopup: topupsNotYet,
  };
}
