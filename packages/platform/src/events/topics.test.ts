import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deadLetterTopic, eventTopics, topics } from './topics.js';

describe('topics', () => {
  it('publishes money movements on payments.v1 and the cashback lifecycle on cashback.v1', () => {
    assert.equal(eventTopics.paymentCompleted, 'payments.v1');
    assert.equal(eventTopics.topupFailed, 'payments.v1');
    assert.equal(eventTopics.cashbackDeferred, 'cashback.v1');
    assert.equal(eventTopics.cashbackClawedBack, 'cashback.v1');
  });

  it('names the dead-letter topic of each topic', () => {
    assert.equal(deadLetterTopic(topics.payments), 'payments.v1.dlq');
    assert.equal(deadLetterTopic(topics.cashback), 'cashback.v1.dlq');
    assert.throws(() => deadLetterTopic(topics.cashbackDeadLetter));
  });
});
