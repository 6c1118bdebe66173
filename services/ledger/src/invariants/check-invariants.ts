// Checks the ledger's invariants against its database and prints the violations as JSON; exits 1
// when there is any. Uses the service's own config (MYSQL_*, MYSQL_DATABASE):
//   pnpm --filter @koban/ledger run check-invariants
import { createDb, createLogger, parseConfigOrExit } from '@koban/platform';
import { configSchema } from '../config.js';
import { findInvariantViolations } from './invariants.js';
import { readLedgerTotals } from './invariants-store.js';

const config = parseConfigOrExit('ledger', configSchema);
const logger = createLogger({ service: 'ledger-invariants', level: config.LOG_LEVEL });
const db = createDb({
  host: config.MYSQL_HOST,
  port: config.MYSQL_PORT,
  user: config.MYSQL_USER,
  password: config.MYSQL_PASSWORD,
  database: config.MYSQL_DATABASE,
  poolSize: 1,
  logger,
});
try {
  const totals = await readLedgerTotals(db);
  const violations = findInvariantViolations(totals);
  process.stdout.write(
    `${JSON.stringify({ accounts: totals.accounts.length, debits: totals.debits.toString(), violations }, null, 2)}\n`,
  );
  process.exitCode = violations.length === 0 ? 0 : 1;
} finally {
  await db.close();
}
