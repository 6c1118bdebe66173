import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  crc16CcittFalse,
  encodeMerchantQr,
  encodeTlv,
  formatCrc,
  parseMerchantQr,
  parseTlv,
  withCrc,
  type MerchantQr,
} from './emvco.js';

const staticQr: MerchantQr = {
  initiation: 'static',
  merchantId: 'mch_0123456789',
  mcc: '5812',
  currency: 'JPY',
  countryCode: 'JP',
  merchantName: 'Koban Coffee',
  merchantCity: 'Tokyo',
};

const dynamicQr: MerchantQr = { ...staticQr, initiation: 'dynamic', amount: 1500, reference: 'qr_abc123' };

/** Replaces the CRC of a payload with a correct one after tampering with its content. */
const resign = (payloadWithoutCrc: string) => withCrc(payloadWithoutCrc);

/** Why a payload is refused, or undefined when it is accepted. */
const reasonOf = (payload: string) => {
  const result = parseMerchantQr(payload);
  return result.ok ? undefined : result.reason;
};

void describe('CRC-16/CCITT-FALSE', () => {
  void it('gives the standard check value 0x29B1 for "123456789"', () => {
    assert.equal(crc16CcittFalse('123456789'), 0x29b1);
    assert.equal(formatCrc(0x29b1), '29B1');
  });

  void it('gives 0xFFFF, the initial value, for no data', () => {
    assert.equal(crc16CcittFalse(''), 0xffff);
  });

  void it('matches the CRC of a published PromptPay payload (another EMVCo scheme)', () => {
    const signed = '00020101021129370016A000000677010111011300660000000005802TH53037646304';
    assert.equal(formatCrc(crc16CcittFalse(signed)), '8956');
  });

  void it('pads small values to four hex digits', () => {
    assert.equal(formatCrc(0x1a), '001A');
  });
});

void describe('TLV', () => {
  void it('encodes a two-digit id, a two-digit length and the value', () => {
    assert.equal(encodeTlv('59', 'Koban Coffee'), '5912Koban Coffee');
    assert.equal(encodeTlv('00', '01'), '000201');
  });

  void it('refuses empty or too long values and bad ids', () => {
    assert.throws(() => encodeTlv('59', ''), RangeError);
    assert.throws(() => encodeTlv('59', 'x'.repeat(100)), RangeError);
    assert.throws(() => encodeTlv('5', 'x'), RangeError);
  });

  void it('parses nested objects back', () => {
    assert.deepEqual(parseTlv('000201' + '26120002ab0102cd'), [
      { id: '00', value: '01' },
      { id: '26', value: '0002ab0102cd' },
    ]);
  });

  void it('answers undefined for a truncated value, a non-digit header or a zero length', () => {
    assert.equal(parseTlv('0005abc'), undefined);
    assert.equal(parseTlv('0a02ab'), undefined);
    assert.equal(parseTlv('0000'), undefined);
    assert.equal(parseTlv('00'), undefined);
  });
});

void describe('Koban merchant-presented QR', () => {
  void it('round-trips a static code without amount or reference', () => {
    const payload = encodeMerchantQr(staticQr);
    assert.match(payload, /^000201010211/);
    assert.doesNotMatch(payload, /5404/);
    const parsed = parseMerchantQr(payload);
    assert.deepEqual(parsed, { ok: true, qr: { ...staticQr, amount: undefined, reference: undefined } });
  });

  void it('round-trips a dynamic code with amount (tag 54) and reference (tag 62, sub-tag 05)', () => {
    const payload = encodeMerchantQr(dynamicQr);
    assert.match(payload, /010212/);
    assert.match(payload, /54041500/);
    assert.match(payload, /62130509qr_abc123/);
    assert.deepEqual(parseMerchantQr(payload), { ok: true, qr: dynamicQr });
  });

  void it('writes the merchant account template with the Koban GUI and the merchant id', () => {
    const payload = encodeMerchantQr(staticQr);
    assert.ok(payload.includes('2630' + '0008jp.koban' + '0114mch_0123456789'));
  });

  void it('ends with 6304 and the CRC of everything before, 6304 included', () => {
    const payload = encodeMerchantQr(dynamicQr);
    const crc = payload.slice(-4);
    assert.equal(payload.slice(-8, -4), '6304');
    assert.equal(formatCrc(crc16CcittFalse(payload.slice(0, -4))), crc);
  });

  void it('rejects a payload whose CRC does not match, as bad_crc', () => {
    const payload = encodeMerchantQr(dynamicQr);
    const tampered = payload.replace('54041500', '54041000');
    const result = parseMerchantQr(tampered);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'bad_crc');
  });

  void it('rejects a payload without a CRC, as bad_crc', () => {
    assert.equal(reasonOf(encodeMerchantQr(staticQr).slice(0, -8)), 'bad_crc');
  });

  void it('rejects malformed TLV and an empty payload, as malformed_tlv', () => {
    for (const payload of ['', 'hello', '000201019']) {
      const result = parseMerchantQr(payload);
      assert.equal(!result.ok && result.reason, 'malformed_tlv', payload);
    }
  });

  void it('rejects a currency other than yen, as unsupported_currency', () => {
    const usd = encodeMerchantQr(staticQr).slice(0, -8).replace('5303392', '5303840');
    const result = parseMerchantQr(resign(usd));
    assert.equal(!result.ok && result.reason, 'unsupported_currency');
  });

  void it('rejects a code of another scheme, without a Koban merchant, as missing_merchant', () => {
    const result = parseMerchantQr(
      '00020101021129370016A000000677010111011300660000000005802TH530376463048956',
    );
    assert.equal(!result.ok && result.reason, 'missing_merchant');
  });

  void it('rejects a Koban template without a merchant id, as missing_merchant', () => {
    const withoutId = encodeMerchantQr(staticQr)
      .slice(0, -8)
      .replace('26300008jp.koban0114mch_0123456789', '26120008jp.koban');
    const result = parseMerchantQr(resign(withoutId));
    assert.equal(!result.ok && result.reason, 'missing_merchant');
  });

  void it('rejects a format indicator that is not first or not 01', () => {
    const result = parseMerchantQr(resign('000202' + encodeMerchantQr(staticQr).slice(6, -8)));
    assert.equal(!result.ok && result.reason, 'unsupported_format');
  });

  void it('rejects an unknown point of initiation', () => {
    const result = parseMerchantQr(
      resign(encodeMerchantQr(staticQr).slice(0, -8).replace('010211', '010213')),
    );
    assert.equal(!result.ok && result.reason, 'invalid_point_of_initiation');
  });

  void it('rejects a missing mandatory tag (merchant name), as missing_field', () => {
    const withoutName = encodeMerchantQr(staticQr).slice(0, -8).replace('5912Koban Coffee', '');
    const result = parseMerchantQr(resign(withoutName));
    assert.equal(!result.ok && result.reason, 'missing_field');
  });

  void it('rejects fractional yen and a dynamic code without amount or reference', () => {
    const fractional = encodeMerchantQr(dynamicQr).slice(0, -8).replace('54041500', '54071500.50');
    assert.equal(reasonOf(resign(fractional)), 'invalid_amount');
    const noAmount = encodeMerchantQr(dynamicQr).slice(0, -8).replace('54041500', '');
    assert.equal(reasonOf(resign(noAmount)), 'invalid_amount');
    const noReference = encodeMerchantQr(dynamicQr).slice(0, -8).replace('62130509qr_abc123', '');
    assert.equal(reasonOf(resign(noReference)), 'missing_reference');
  });

  void it('accepts an amount written with a zero fraction, as other encoders do', () => {
    const decimal = encodeMerchantQr(dynamicQr).slice(0, -8).replace('54041500', '54071500.00');
    const result = parseMerchantQr(resign(decimal));
    assert.equal(result.ok && result.qr.amount, 1500);
  });

  void it('refuses to encode what it could not parse back', () => {
    assert.throws(() => encodeMerchantQr({ ...staticQr, merchantName: 'x'.repeat(26) }), RangeError);
    assert.throws(() => encodeMerchantQr({ ...staticQr, merchantName: '小判' }), RangeError);
    assert.throws(() => encodeMerchantQr({ ...dynamicQr, amount: 0 }), RangeError);
    assert.throws(() => encodeMerchantQr({ ...dynamicQr, reference: undefined }), RangeError);
  });
});
