import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectBrand, isExpired, isLuhnValid, last4, normalizeExpYear, normalizePan } from './card.js';

void describe('card numbers', () => {
  void it('accepts the Luhn-valid test cards and refuses a number with one digit changed', () => {
    for (const pan of ['4111111111111111', '5555555555554444', '4000000000000002', '378282246310005']) {
      assert.equal(isLuhnValid(pan), true, pan);
    }
    assert.equal(isLuhnValid('4111111111111112'), false);
    assert.equal(isLuhnValid('5555555555554445'), false);
    assert.equal(isLuhnValid('41111111x1111111'), false);
  });

  void it('catches a swap of two adjacent digits', () => {
    assert.equal(isLuhnValid('1411111111111111'), false);
  });

  void it('normalises spaced or dashed numbers and refuses other characters and lengths', () => {
    assert.equal(normalizePan('4111 1111 1111 1111'), '4111111111111111');
    assert.equal(normalizePan('4111-1111-1111-1111'), '4111111111111111');
    assert.equal(normalizePan('4111.1111.1111.1111'), undefined);
    assert.equal(normalizePan('41111111111'), undefined);
    assert.equal(normalizePan('41111111111111111111'), undefined);
    assert.equal(normalizePan(''), undefined);
  });

  void it('detects the brand from the leading digits', () => {
    assert.equal(detectBrand('4111111111111111'), 'VISA');
    assert.equal(detectBrand('5555555555554444'), 'MASTERCARD');
    assert.equal(detectBrand('2223003122003222'), 'MASTERCARD');
    assert.equal(detectBrand('2721000000000000'), 'OTHER');
    assert.equal(detectBrand('378282246310005'), 'AMEX');
    assert.equal(detectBrand('341111111111111'), 'AMEX');
    assert.equal(detectBrand('3530111333300000'), 'JCB');
    assert.equal(detectBrand('3589000000000000'), 'JCB');
    assert.equal(detectBrand('3590000000000000'), 'OTHER');
    assert.equal(detectBrand('6011111111111117'), 'OTHER');
  });

  void it('keeps the last four digits only', () => {
    assert.equal(last4('4111111111111111'), '1111');
  });
});

void describe('card expiry', () => {
  const at = (iso: string) => new Date(iso);

  void it('keeps a card valid through the last moment of its expiry month', () => {
    assert.equal(isExpired(2, 2030, at('2030-02-28T23:59:59.999Z')), false);
    assert.equal(isExpired(2, 2030, at('2030-03-01T00:00:00.000Z')), true);
    assert.equal(isExpired(12, 2030, at('2030-12-31T23:59:59.999Z')), false);
    assert.equal(isExpired(12, 2030, at('2031-01-01T00:00:00.000Z')), true);
  });

  void it('reads two-digit years as 20YY and refuses years outside this century', () => {
    assert.equal(normalizeExpYear(31), 2031);
    assert.equal(normalizeExpYear(2031), 2031);
    assert.equal(normalizeExpYear(1999), undefined);
    assert.equal(normalizeExpYear(2100), undefined);
    assert.equal(normalizeExpYear(203), undefined);
  });
});
