import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createInMemoryFaultInjector, faultFromProto, matchFault } from './fault-injection.js';
import { toTimestamp } from './timestamp.js';

describe('matchFault', () => {
  const faults = [
    { service: 'ledger', method: '*', latencyMs: 100 },
    { service: 'ledger', method: 'Transfer', errorRate: 1 },
    { service: 'fraud', method: 'Score', errorRate: 1, expiresAt: 1_000 },
  ];

  it('prefers an exact method over the wildcard', () => {
    assert.equal(matchFault(faults, 'ledger', 'Transfer', 0)?.errorRate, 1);
    assert.equal(matchFault(faults, 'ledger', 'GetBalance', 0)?.latencyMs, 100);
  });

  it('matches only the named service', () => {
    assert.equal(matchFault(faults, 'payment', 'Transfer', 0), undefined);
  });

  it('ignores expired faults', () => {
    assert.equal(matchFault(faults, 'fraud', 'Score', 999)?.errorRate, 1);
    assert.equal(matchFault(faults, 'fraud', 'Score', 1_000), undefined);
  });
});

describe('in-memory fault injector', () => {
  it('sets, replaces, lists and clears faults per service', () => {
    let now = 0;
    const injector = createInMemoryFaultInjector({ now: () => now });
    injector.set({ service: 'ledger', method: 'Transfer', latencyMs: 10 });
    injector.set({ service: 'ledger', method: 'Transfer', latencyMs: 20 });
    injector.set({ service: 'fraud', method: '*', errorRate: 0.5, expiresAt: 100 });
    assert.equal(injector.faultFor('ledger', 'Transfer')?.latencyMs, 20);
    assert.equal(injector.list().length, 2);
    now = 100;
    assert.equal(injector.faultFor('fraud', 'Score'), undefined);
    assert.deepEqual(
      injector.list().map((fault) => fault.service),
      ['ledger'],
    );
    injector.clear('ledger');
    assert.equal(injector.faultFor('ledger', 'Transfer'), undefined);
  });
});

describe('faultFromProto', () => {
  it('maps the shared Fault message to a configured fault', () => {
    const expiresAt = Date.parse('2030-01-01T00:00:30.000Z');
    assert.deepEqual(
      faultFromProto({
        service: 'bank-integration',
        method: 'CreateCharge',
        latencyMs: 1500,
        errorRate: 0.25,
        code: 'FAULT_CODE_DEADLINE_EXCEEDED',
        expiresAt: toTimestamp(expiresAt),
      }),
      {
        service: 'bank-integration',
        method: 'CreateCharge',
        latencyMs: 1500,
        errorRate: 0.25,
        code: grpc.status.DEADLINE_EXCEEDED,
        expiresAt,
      },
    );
  });

  it('reads an empty method as every method, an unset code as UNAVAILABLE and no expiry as none', () => {
    const fault = faultFromProto({
      service: 'fraud',
      method: '',
      latencyMs: 0,
      errorRate: 1,
      code: 'FAULT_CODE_UNSPECIFIED',
      expiresAt: null,
    });
    assert.equal(fault.method, '*');
    assert.equal(fault.code, grpc.status.UNAVAILABLE);
    assert.equal(fault.expiresAt, undefined);
  });
});
