// The ledger's invariants (debits equal credits, every balance equals the sum of its entries,
// no forbidden overdraft), checked by the ledger's own checker against its real database.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ledgerDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../services/ledger');
const run = promisify(execFile);

export async function assertLedgerInvariants(): Promise<void> {
  try {
    await run(process.execPath, ['--import', 'tsx', 'src/invariants/check-invariants.ts'], {
      cwd: ledgerDir,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
  } catch (error) {
    const output = (error as { stdout?: string }).stdout ?? String(error);
    throw new Error(`ledger invariants violated:\n${output}`);
  }
}
