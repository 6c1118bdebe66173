/**
 * EMVCo merchant-presented QR payloads (EMV QRCPS-MPM): TLV encoding, CRC-16/CCITT-FALSE, and
 * the subset Koban issues and accepts. Pure: no I/O.
 *
 * A payload is a sequence of TLV data objects: a 2-digit id, a 2-digit length, then that many
 * characters. Koban writes, in this order:
 *
 * | tag | content                                                                     |
 * | --- | --------------------------------------------------------------------------- |
 * | 00  | payload format indicator, always `01`                                       |
 * | 01  | point of initiation: `11` static (payer enters the amount), `12` dynamic    |
 * | 26  | merchant account template: sub-tag 00 = GUI `jp.koban`, 01 = merchant id    |
 * | 52  | merchant category code (4 digits)                                           |
 * | 53  | transaction currency, ISO 4217 numeric: `392` (JPY), the only one accepted  |
 * | 54  | amount in yen, digits only (dynamic codes only)                             |
 * | 58  | country code, `JP`                                                          |
 * | 59  | merchant name (≤ 25 chars)                                                  |
 * | 60  | merchant city (≤ 15 chars)                                                  |
 * | 62  | additional data template: sub-tag 05 (reference label) = the QR code id     |
 * | 63  | CRC-16/CCITT-FALSE of everything before it, `6304` included, 4 upper hex    |
 *
 * Tag 62 is written for dynamic codes only: a static code is printed once and reused, so it
 * names the merchant and nothing else. Koban writes ASCII only, so lengths in characters and
 * in bytes agree.
 */

/** The Koban globally unique identifier inside the merchant account template (tag 26). */
export const KOBAN_GUI = 'jp.koban';
/** ISO 4217 numeric code of the yen, the only currency Koban accepts in a QR code. */
export const JPY_NUMERIC = '392';

const tags = {
  payloadFormat: '00',
  pointOfInitiation: '01',
  merchantAccount: '26',
  mcc: '52',
  currency: '53',
  amount: '54',
  country: '58',
  merchantName: '59',
  merchantCity: '60',
  additionalData: '62',
  crc: '63',
} as const;

const subTags = { gui: '00', merchantId: '01', referenceLabel: '05' } as const;

const pointOfInitiation = { static: '11', dynamic: '12' } as const;

/** A TLV data object. */
export interface Tlv {
  id: string;
  value: string;
}

/** What a merchant-presented QR code says, once parsed and checked. */
export interface MerchantQr {
  /** `static`: the payer supplies the amount; `dynamic`: the code carries it and a reference. */
  initiation: 'static' | 'dynamic';
  merchantId: string;
  mcc: string;
  /** ISO 4217 alpha code; always JPY. */
  currency: 'JPY';
  /** Yen; present on dynamic codes. */
  amount?: number | undefined;
  countryCode: string;
  merchantName: string;
  merchantCity: string;
  /** The QR code id (tag 62, sub-tag 05); present on dynamic codes. */
  reference?: string | undefined;
}

/** Why a payload is not an acceptable Koban QR code: the `reason` of an `invalid_qr` error. */
export type InvalidQrReason =
  | 'malformed_tlv'
  | 'bad_crc'
  | 'unsupported_format'
  | 'invalid_point_of_initiation'
  | 'missing_field'
  | 'missing_merchant'
  | 'unsupported_currency'
  | 'invalid_amount'
  | 'missing_reference';

export type ParseQrResult =
  { ok: true; qr: MerchantQr } | { ok: false; reason: InvalidQrReason; message: string };

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR. */
export function crc16CcittFalse(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** A CRC as tag 63 carries it: four upper-case hex digits. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** One TLV data object; the value must be 1 to 99 characters. */
export function encodeTlv(id: string, value: string): string {
  if (!/^\d{2}$/.test(id)) throw new RangeError(`TLV id must be two digits, got ${JSON.stringify(id)}`);
  if (value.length < 1 || value.length > 99) {
    throw new RangeError(`TLV ${id}: value must be 1 to 99 characters, got ${value.length}`);
  }
  return `${id}${String(value.length).padStart(2, '0')}${value}`;
}

/** Splits a TLV string into its data objects; undefined when it is not well formed. */
export function parseTlv(data: string): Tlv[] | undefined {
  const objects: Tlv[] = [];
  let offset = 0;
  while (offset < data.length) {
    const header = data.slice(offset, offset + 4);
    if (!/^\d{4}$/.test(header)) return undefined;
    const length = Number(header.slice(2));
    const value = data.slice(offset + 4, offset + 4 + length);
    if (length === 0 || value.length !== length) return undefined;
    objects.push({ id: header.slice(0, 2), value });
    offset += 4 + length;
  }
  return objects;
}

/** Appends tag 63 with the CRC of the payload including the `6304` of the CRC object itself. */
export function withCrc(payloadWithoutCrc: string): string {
  const signed = `${payloadWithoutCrc}${tags.crc}04`;
  return `${signed}${formatCrc(crc16CcittFalse(signed))}`;
}

const printableAscii = /^[\x20-\x7e]+$/;

function checkText(field: string, value: string, max: number): void {
  if (value.length === 0 || value.length > max || !printableAscii.test(value)) {
    throw new RangeError(`${field} must be 1 to ${max} printable ASCII characters`);
  }
}

/** The payload of a Koban merchant-presented QR code. Throws RangeError on input it cannot encode. */
export function encodeMerchantQr(qr: MerchantQr): string {
  checkText('merchantId', qr.merchantId, 80);
  checkText('merchantName', qr.merchantName, 25);
  checkText('merchantCity', qr.merchantCity, 15);
  if (!/^\d{4}$/.test(qr.mcc)) throw new RangeError('mcc must be four digits');
  if (!/^[A-Z]{2}$/.test(qr.countryCode)) throw new RangeError('countryCode must be two capital letters');
  const dynamic = qr.initiation === 'dynamic';
  if (dynamic) {
    if (qr.amount === undefined || !Number.isSafeInteger(qr.amount) || qr.amount < 1) {
      throw new RangeError('a dynamic QR code needs a positive whole amount');
    }
    if (qr.reference === undefined) throw new RangeError('a dynamic QR code needs a reference');
    checkText('reference', qr.reference, 25);
  }
  const parts = [
    encodeTlv(tags.payloadFormat, '01'),
    encodeTlv(tags.pointOfInitiation, pointOfInitiation[qr.initiation]),
    encodeTlv(
      tags.merchantAccount,
      encodeTlv(subTags.gui, KOBAN_GUI) + encodeTlv(subTags.merchantId, qr.merchantId),
    ),
    encodeTlv(tags.mcc, qr.mcc),
    encodeTlv(tags.currency, JPY_NUMERIC),
    ...(dynamic ? [encodeTlv(tags.amount, String(qr.amount))] : []),
    encodeTlv(tags.country, qr.countryCode),
    encodeTlv(tags.merchantName, qr.merchantName),
    encodeTlv(tags.merchantCity, qr.merchantCity),
    ...(dynamic && qr.reference !== undefined
      ? [encodeTlv(tags.additionalData, encodeTlv(subTags.referenceLabel, qr.reference))]
      : []),
  ];
  return withCrc(parts.join(''));
}

const invalid = (reason: InvalidQrReason, message: string): ParseQrResult => ({ ok: false, reason, message });

/** The Koban merchant id of a merchant account template (tags 26–51), if it is Koban's. */
function kobanMerchantId(objects: readonly Tlv[]): string | undefined {
  for (const object of objects) {
    const id = Number(object.id);
    if (id < 26 || id > 51) continue;
    const inner = parseTlv(object.value);
    if (inner === undefined) continue;
    const gui = inner.find((sub) => sub.id === subTags.gui)?.value;
    const merchantId = inner.find((sub) => sub.id === subTags.merchantId)?.value;
    if (gui?.toLowerCase() === KOBAN_GUI && merchantId !== undefined) return merchantId;
  }
  return undefined;
}

/**
 * Parses and checks a merchant-presented QR payload: well-formed TLV, format indicator first,
 * CRC last and correct, a Koban merchant account, the mandatory tags, yen only, a whole amount
 * when one is given, and a reference on dynamic codes.
 */
export function parseMerchantQr(payload: string): ParseQrResult {
  const objects = parseTlv(payload);
  if (objects === undefined || objects.length === 0) {
    return invalid('malformed_tlv', 'the QR payload is not a well-formed EMVCo TLV string');
  }
  const crcObject = objects.at(-1);
  if (crcObject?.id !== tags.crc || !/^[0-9A-Fa-f]{4}$/.test(crcObject.value)) {
    return invalid('bad_crc', 'the QR payload does not end with a CRC (tag 63)');
  }
  const signed = payload.slice(0, payload.length - 4);
  if (crc16CcittFalse(signed) !== parseInt(crcObject.value, 16)) {
    return invalid('bad_crc', 'the QR payload CRC does not match its content');
  }
  if (objects[0]?.id !== tags.payloadFormat || objects[0].value !== '01') {
    return invalid(
      'unsupported_format',
      'the QR payload format indicator (tag 00) must be 01 and come first',
    );
  }
  const byId = new Map<string, string>();
  for (const object of objects) {
    if (byId.has(object.id)) return invalid('malformed_tlv', `tag ${object.id} appears more than once`);
    byId.set(object.id, object.value);
  }

  const initiationValue = byId.get(tags.pointOfInitiation) ?? pointOfInitiation.static;
  const initiation =
    initiationValue === pointOfInitiation.static
      ? 'static'
      : initiationValue === pointOfInitiation.dynamic
        ? 'dynamic'
        : undefined;
  if (initiation === undefined) {
    return invalid('invalid_point_of_initiation', 'the point of initiation (tag 01) must be 11 or 12');
  }

  const merchantId = kobanMerchantId(objects);
  if (merchantId === undefined) {
    return invalid('missing_merchant', 'the QR code names no Koban merchant (tag 26, jp.koban)');
  }

  const mandatory = [tags.mcc, tags.currency, tags.country, tags.merchantName, tags.merchantCity] as const;
  const missing = mandatory.filter((tag) => !byId.has(tag));
  if (missing.length > 0) {
    return invalid('missing_field', `the QR payload lacks mandatory tag(s) ${missing.join(', ')}`);
  }
  if (byId.get(tags.currency) !== JPY_NUMERIC) {
    return invalid('unsupported_currency', 'the QR code is not in yen (tag 53 must be 392)');
  }

  const amountValue = byId.get(tags.amount);
  let amount: number | undefined;
  if (amountValue !== undefined) {
    // Yen has no minor unit: "1500" or "1500.00", never "1500.50".
    const match = /^(\d{1,13})(?:\.0*)?$/.exec(amountValue);
    amount = match ? Number(match[1]) : undefined;
    if (amount === undefined || amount < 1) {
      return invalid('invalid_amount', 'the QR amount (tag 54) must be a positive whole number of yen');
    }
  }

  const additional = byId.get(tags.additionalData);
  const additionalObjects = additional === undefined ? [] : parseTlv(additional);
  if (additionalObjects === undefined) {
    return invalid('malformed_tlv', 'the additional data template (tag 62) is not well-formed TLV');
  }
  const reference = additionalObjects.find((sub) => sub.id === subTags.referenceLabel)?.value;
  if (initiation === 'dynamic' && amount === undefined) {
    return invalid('invalid_amount', 'a dynamic QR code must carry its amount (tag 54)');
  }
  if (initiation === 'dynamic' && reference === undefined) {
    return invalid('missing_reference', 'a dynamic QR code must carry its reference (tag 62, sub-tag 05)');
  }

  return {
    ok: true,
    qr: {
      initiation,
      merchantId,
      mcc: byId.get(tags.mcc) ?? '',
      currency: 'JPY',
      amount,
      countryCode: byId.get(tags.country) ?? '',
      merchantName: byId.get(tags.merchantName) ?? '',
      merchantCity: byId.get(tags.merchantCity) ?? '',
      reference,
    },
  };
}
