import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { DomainError } from './domain-error.js';
import {
  ERROR_CODE_METADATA_KEY,
  ERROR_DETAILS_METADATA_KEY,
  GrpcCallError,
  domainErrorMetadata,
  fromServiceError,
  statusName,
} from './grpc-errors.js';

function serviceError(code: grpc.status, details: string, metadata: grpc.Metadata): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata });
}

describe('domain error metadata', () => {
  it('round-trips a DomainError’s code and details through trailing metadata', () => {
    const metadata = domainErrorMetadata(
      new DomainError('account_locked', 'locked', { lockedUntil: '2030-01-01T00:00:00.000Z', scope: 'user' }),
    );
    const received = fromServiceError(
      serviceError(grpc.status.FAILED_PRECONDITION, 'locked', metadata),
      '/x.v1.S/M',
    );
    assert.ok(received instanceof DomainError);
    assert.equal(received.code, 'account_locked');
    assert.equal(received.message, 'locked');
    assert.equal(received.status, grpc.status.FAILED_PRECONDITION);
    assert.deepEqual(received.details, { lockedUntil: '2030-01-01T00:00:00.000Z', scope: 'user' });
  });

  it('carries details as UTF-8 JSON in a binary header, so any text survives', () => {
    const metadata = domainErrorMetadata(new DomainError('invalid_request', 'bad', { field: '金額' }));
    const received = fromServiceError(
      serviceError(grpc.status.INVALID_ARGUMENT, 'bad', metadata),
      '/x.v1.S/M',
    );
    assert.ok(received instanceof DomainError);
    assert.deepEqual(received.details, { field: '金額' });
  });

  it('omits the details header when there are no details', () => {
    const metadata = domainErrorMetadata(new DomainError('not_found', 'no such payment'));
    assert.deepEqual(metadata.get(ERROR_CODE_METADATA_KEY), ['not_found']);
    assert.deepEqual(metadata.get(ERROR_DETAILS_METADATA_KEY), []);
  });

  it('keeps the code when the details are not valid JSON', () => {
    const metadata = new grpc.Metadata();
    metadata.set(ERROR_CODE_METADATA_KEY, 'card_declined');
    metadata.set(ERROR_DETAILS_METADATA_KEY, Buffer.from('{not json'));
    const received = fromServiceError(
      serviceError(grpc.status.FAILED_PRECONDITION, 'no', metadata),
      '/x.v1.S/M',
    );
    assert.ok(received instanceof DomainError);
    assert.equal(received.code, 'card_declined');
    assert.equal(received.details, undefined);
  });
});

describe('fromServiceError', () => {
  it('turns an error without a domain code into a GrpcCallError with the status', () => {
    const received = fromServiceError(
      serviceError(grpc.status.UNAVAILABLE, 'connection refused', new grpc.Metadata()),
      '/koban.ledger.v1.LedgerService/Transfer',
    );
    assert.ok(received instanceof GrpcCallError);
    assert.equal(received.code, grpc.status.UNAVAILABLE);
    assert.equal(received.method, '/koban.ledger.v1.LedgerService/Transfer');
    assert.equal(
      received.message,
      '/koban.ledger.v1.LedgerService/Transfer failed with UNAVAILABLE: connection refused',
    );
  });

  it('names statuses', () => {
    assert.equal(statusName(grpc.status.DEADLINE_EXCEEDED), 'DEADLINE_EXCEEDED');
  });
});
