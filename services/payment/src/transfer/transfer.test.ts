import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canSeeTransfer,
  checkTransferRequest,
  peerLedgerTransferId,
  type TransferRequest,
} from './transfer.js';

const request = (overrides: Partial<TransferRequest> = {}): TransferRequest => ({
  idempotencyKey: 'k',
  callerId: 'usr_1',
  fromUserId: 'usr_1',
  toUserId: 'usr_2',
  amount: '500',
  currency: 'JPY',
  message: '',
  clientIp: '',
  trace: null,
  ...overrides,
});

void describe('checkTransferRequest', () => {
  void it('accepts a transfer to another user', () => {
    const command = checkTransferRequest(request({ message: 'thanks' }));
    assert.equal(command.amount, 500);
    assert.equal(command.message, 'thanks');
  });

  void it('refuses a transfer to oneself or without a recipient, as invalid_request', () => {
    assert.throws(() => checkTransferRequest(request({ toUserId: 'usr_1' })), { code: 'invalid_request' });
    assert.throws(() => checkTransferRequest(request({ toUserId: '' })), { code: 'invalid_request' });
  });

  void it('answers not_found when the caller is not the sender', () => {
    assert.throws(() => checkTransferRequest(request({ callerId: 'usr_3' })), { code: 'not_found' });
  });

  void it('counts the message in characters, not UTF-16 units', () => {
    assert.doesNotThrow(() => checkTransferRequest(request({ message: '😀'.repeat(140) })));
    assert.throws(() => checkTransferRequest(request({ message: 'a'.repeat(141) })), {
      code: 'invalid_request',
    });
  });

  void it('hashes the message with the rest of the request', () => {
    assert.notEqual(
      checkTransferRequest(request({ message: 'a' })).requestHash,
      checkTransferRequest(request({ message: 'b' })).requestHash,
    );
  });
});

void describe('transfer rules', () => {
  void it('derives the ledger transfer id and shows a transfer to its two users', () => {
    assert.equal(peerLedgerTransferId('p2p_1'), 'peer_p2p_1');
    assert.equal(canSeeTransfer({ fromUserId: 'a', toUserId: 'b' }, 'b'), true);
    assert.equal(canSeeTransfer({ fromUserId: 'a', toUserId: 'b' }, 'c'), false);
  });
});
