// Test support shared by the services' component tests, published as `@koban/platform/testing`
// apart from the runtime's entry point so that production code never loads it.
export { testMysqlServer } from './local-infrastructure.js';
export { createTestDatabase } from './test-database.js';
export type { TestDatabase, TestDatabaseSettings } from './test-database.js';
export { startFakeLedger } from './fake-ledger.js';
export type { FakeLedger, FakeLedgerOpenAccountCall, FakeLedgerTransferCall } from './fake-ledger.js';
