// Run after the end-to-end suite: card data must not have landed anywhere. Scans every table of
// every Koban schema, every service log, every exported span, every Redis key and value, and
// every Kafka record for a card number (any Luhn-valid 15–16 digit number in a card range) or a
// CVC next to its name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Card numbers and labelled CVCs found in `text`, for the report. */
export function findCardData(raw: string): string[] {
  // Span and trace ids are random hex, now and then all digits; they are ids, not card numbers.
  // So are the ids inside a stored W3C `traceparent` (`00-<trace id>-<span id>-01`).
  const text = raw
    .replace(/"(traceId|spanId|parentSpanId|trace_id|span_id)":"[0-9a-fA-F]{16,32}"/g, '""')
    .replace(/\b[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b/g, '');
  const found: string[] = [];
  // Delimited by something that is not part of a word: a PAN inside a hex id or trace id
  // (`acc_196b418136445131822e4ec0`) is a coincidence of digits, not a card number.
  for (const match of text.matchAll(/(?<![0-9A-Za-z_])[3-6]\d{14,15}(?![0-9A-Za-z_])/g)) {
    if (luhnValid(match[0])) found.push(`card number ending ${match[0].slice(-4)}`);
  }
  for (const match of text.matchAll(/\b(cvc|cvv|cvc2|securityCode)\b["'\\\s:=]+\d{3,4}\b/gi)) {
    found.push(`CVC labelled "${match[1]}"`);
  }
  return found;
}

describe('card data leak scan', () => {
  it('the scanner itself recognises a PAN and a labelled CVC', () => {
    assert.deepEqual(findCardData('{"number":"4111111111111111","cvc":"123"}'), [
      'card number ending 1111',
      'CVC labelled "cvc"',
    ]);
    assert.deepEqual(findCardData('{"at":1795815783723,"id":"4111111111111112","cvc":"[REDACTED]"}'), []);
    assert.deepEqual(findCardData('{"id":"acc_196b418136445131822e4ec0"}'), []);
    assert.deepEqual(findCardData('{"spanId":"6481111810174650","span_id":"6481111810174650"}'), []);
    assert.deepEqual(findCardData('pan=5555555555554444;'), ['card number ending 4444']);
    assert.deepEqual(findCardData(' 00-a65129a49d29f2bdad73132c6ea08ebd-6932082586481663-01 '), []);
    assert.deepEqual(
      findCardData('00-a65129a49d29f2bdad73132c6ea08ebd-00f067aa0ba902b7-01 4111111111111111'),
      ['card number ending 1111'],
    );
  });

  it('finds no card number or CVC in any table of any Koban schema', async () => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', password: '' });
    try {
      const [schemas] = await conn.query<mysql.RowDataPacket[]>(
        "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'koban\\_%' AND schema_name NOT LIKE 'koban\\_test\\_%'",
      );
      const leaks: string[] = [];
      let tables = 0;
      for (const { name: schema } of schemas) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?',
          [schema],
        );
        for (const { name: table } of rows) {
          tables += 1;
          const [content] = await conn.query<mysql.RowDataPacket[]>(
            `SELECT * FROM ${conn.escapeId(String(schema))}.${conn.escapeId(String(table))}`,
          );
          const text = JSON.stringify(content, (_key, value: unknown) =>
            Buffer.isBuffer(value) ? value.toString('latin1') : value,
          );
          for (const leak of findCardData(text)) leaks.push(`${schema}.${table}: ${leak}`);
        }
      }
      assert.ok(tables > 10, `scanned ${tables} tables`);
      assert.deepEqual(leaks, []);
    } finally {
      await conn.end();
    }
  });

  it('finds none in any service log', () => {
    const logs = path.join(root, '.run', 'logs');
    assert.ok(existsSync(logs), 'the platform has written logs');
    const leaks = readdirSync(logs).flatMap((file) =>
      findCardData(readFileSync(path.join(logs, file), 'utf8')).map((leak) => `${file}: ${leak}`),
    );
    assert.deepEqual(leaks, []);
  });

  it('finds none in any exported span (the local OTLP/JSON span sink)', () => {
    const spans = path.join(root, '.run', 'spans');
    assert.ok(existsSync(spans), 'the platform exports spans to .run/spans (OTEL_SPANS_FILE)');
    let bytes = 0;
    const leaks = readdirSync(spans).flatMap((file) => {
      const text = readFileSync(path.join(spans, file), 'utf8');
      bytes += text.length;
      return findCardData(text).map((leak) => `${file}: ${leak}`);
    });
    assert.ok(bytes > 0, 'spans were exported');
    assert.deepEqual(leaks, []);
  });

  it('finds none in any Redis key or value', async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const leaks: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          let value = '';
          if (type === 'string') value = (await redis.get(key)) ?? '';
          else if (type === 'hash') value = JSON.stringify(await redis.hgetall(key));
          else if (type === 'zset') value = JSON.stringify(await redis.zrange(key, '0', '-1'));
          else if (type === 'set') value = JSON.stringify(await redis.smembers(key));
          else if (type === 'list') value = JSON.stringify(await redis.lrange(key, 0, -1));
          for (const leak of findCardData(`${key} ${value}`)) leaks.push(`${key}: ${leak}`);
        }
      } while (cursor !== '0');
      assert.deepEqual(leaks, []);
    } finally {
      redis.disconnect();
    }
  });

  it('finds none in any Kafka record', async () => {
    const kafka = new Kafka({
      clientId: 'leak-scan',
      brokers: ['127.0.0.1:9092'],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((topic) => !topic.startsWith('__'));
    const ends = new Map<string, number>();
    for (const topic of topics) {
      for (const partition of await admin.fetchTopicOffsets(topic)) {
        if (Number(partition.high) > 0) ends.set(`${topic}/${partition.partition}`, Number(partition.high));
      }
    }
    await admin.disconnect();
    const groupId = `leak-scan-${Date.now()}`;
    const consumer = kafka.consumer({ groupId });
    const leaks: string[] = [];
    const done = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Kafka scan incomplete: ${done.size}/${ends.size}`)),
        60_000,
      );
      if (ends.size === 0) {
        clearTimeout(timer);
        resolve();
      }
      void consumer.run({
        eachMessage: ({ topic, partition, message }) => {
          const text = `${message.key?.toString('latin1') ?? ''} ${message.value?.toString('latin1') ?? ''} ${JSON.stringify(message.headers ?? {})}`;
          for (const leak of findCardData(text)) leaks.push(`${topic}: ${leak}`);
          const id = `${topic}/${partition}`;
          if (Number(message.offset) + 1 >= (ends.get(id) ?? 0)) done.add(id);
          if (done.size === ends.size) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    await consumer.disconnect();
    // Left behind, the scan's group would show ever-growing lag on the platform's lag metric.
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).finally(() => cleanup.disconnect());
    assert.deepEqual(leaks, []);
  });
});
