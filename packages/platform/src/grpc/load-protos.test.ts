import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listProtoFiles, loadPackageDefinition, loadProtos } from './load-protos.js';

describe('loadProtos', () => {
  it('finds every Koban proto relative to the repository', () => {
    const files = listProtoFiles();
    for (const expected of [
      'koban/gateway/v1/gateway.proto',
      'koban/payment/v1/payment.proto',
      'koban/ledger/v1/ledger.proto',
      'koban/bankintegration/v1/bankintegration.proto',
      'koban/fraud/v1/fraud.proto',
      'koban/campaign/v1/campaign.proto',
      'koban/ops/v1/ops.proto',
      'koban/events/v1/envelope.proto',
    ]) {
      assert.ok(files.includes(expected), `${expected} is listed`);
    }
  });

  it('builds a client constructor and definition for every service, health included', () => {
    const protos = loadProtos();
    const services = [
      protos.koban.gateway.v1.PartyService,
      protos.koban.payment.v1.PaymentService,
      protos.koban.ledger.v1.LedgerService,
      protos.koban.bankintegration.v1.BankIntegrationService,
      protos.koban.fraud.v1.FraudService,
      protos.koban.campaign.v1.CampaignService,
      protos.koban.ops.v1.OpsService,
      protos.grpc.health.v1.Health,
    ];
    for (const service of services) {
      assert.equal(typeof service, 'function');
      assert.ok(Object.keys(service.service).length > 0);
    }
    assert.equal(
      protos.koban.ledger.v1.LedgerService.service.Transfer.path,
      '/koban.ledger.v1.LedgerService/Transfer',
    );
  });

  it('keeps the idempotency level the protos declare, for the clients’ retry decisions', () => {
    const transfer = loadPackageDefinition()['koban.ledger.v1.LedgerService'] as Record<
      string,
      { options: { idempotency_level: string } }
    >;
    assert.equal(transfer['Transfer']?.options.idempotency_level, 'IDEMPOTENT');
    assert.equal(transfer['GetBalance']?.options.idempotency_level, 'NO_SIDE_EFFECTS');
  });

  it('loads once per process', () => {
    assert.equal(loadProtos(), loadProtos());
  });
});
