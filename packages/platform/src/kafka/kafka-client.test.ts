import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { logLevel } from 'kafkajs';
import { createLogger } from '../logging/index.js';
import { kafkaLogLevel, pinoLogCreator, pinoMethodFor } from './kafka-client.js';

function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service: 'kafka-client-test', level, destination }), lines };
}

void describe('kafkaLogLevel', () => {
  void it('asks kafkajs only for what the pino level lets through', () => {
    assert.deepEqual(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map(kafkaLogLevel), [
      logLevel.DEBUG,
      logLevel.DEBUG,
      logLevel.INFO,
      logLevel.WARN,
      logLevel.ERROR,
      logLevel.ERROR,
      logLevel.NOTHING,
    ]);
  });
});

void describe('pinoMethodFor', () => {
  void it('keeps kafkajs levels, but demotes per-connection error responses to warnings', () => {
    assert.equal(pinoMethodFor({ level: logLevel.ERROR, namespace: 'Consumer' }), 'error');
    assert.equal(pinoMethodFor({ level: logLevel.ERROR, namespace: 'Connection' }), 'warn');
    assert.equal(pinoMethodFor({ level: logLevel.WARN, namespace: 'Consumer' }), 'warn');
    assert.equal(pinoMethodFor({ level: logLevel.INFO, namespace: 'Consumer' }), 'info');
    assert.equal(pinoMethodFor({ level: logLevel.DEBUG, namespace: 'Consumer' }), 'debug');
  });
});

void describe('pinoLogCreator', () => {
  void it('writes a kafkajs entry as one pino line with its fields, namespace and message', () => {
    const { logger, lines } = capturingLogger('info');
    const log = pinoLogCreator(logger)(logLevel.INFO);
    log({
      namespace: 'Consumer',
      level: logLevel.WARN,
      label: 'WARN',
      log: { timestamp: '2020-01-01T00:00:00.000Z', logger: 'kafkajs', message: 'rebalancing', groupId: 'g' },
    });
    assert.equal(lines.length, 1);
    const line = lines[0] ?? {};
    assert.equal(line['level'], 'warn');
    assert.equal(line['msg'], 'rebalancing');
    assert.equal(line['groupId'], 'g');
    assert.equal(line['namespace'], 'Consumer');
    assert.equal(line['service'], 'kafka-client-test');
    assert.equal(line['logger'], undefined);
    assert.notEqual(line['time'], '2020-01-01T00:00:00.000Z');
  });
});
