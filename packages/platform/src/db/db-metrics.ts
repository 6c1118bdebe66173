import type { Counter, Meter } from '@opentelemetry/api';

/**
 * The database write-throughput SLI (committed transactions and rows written per second, a
 * leading indicator of TiDB load) and its contention signal, as the pool reports them.
 */
export interface DbWriteMetrics {
  /** An explicit transaction committed, having changed `rows` rows (its last attempt's). */
  transactionCommitted(rows: number): void;
  /** A statement outside any explicit transaction (autocommit) changed `rows` rows. */
  autocommitWrite(rows: number): void;
  /** An attempt of a transaction was rolled back by a conflict and is retried. */
  transactionRetried(errno: number): void;
}

interface DbInstruments {
  committed: Counter;
  rows: Counter;
  retries: Counter;
}

// Created once per meter: every pool of the process adds to the same instruments, told apart by
// their `db.namespace`.
const byMeter = new WeakMap<Meter, DbInstruments>();

function dbInstruments(meter: Meter): DbInstruments {
  let instruments = byMeter.get(meter);
  if (instruments === undefined) {
    instruments = {
      committed: meter.createCounter('koban.db.transactions.committed', {
        description:
          'Committed database transactions: explicit ones once each however often retried, and autocommit statements that changed rows',
        unit: '{transaction}',
      }),
      rows: meter.createCounter('koban.db.rows.written', {
        description:
          'Rows changed by committed writes (the server’s affectedRows), rolled-back attempts excluded',
        unit: '{row}',
      }),
      retries: meter.createCounter('koban.db.transaction.retries', {
        description: 'Transaction attempts rolled back by a write conflict or deadlock and run again',
        unit: '{attempt}',
      }),
    };
    byMeter.set(meter, instruments);
  }
  return instruments;
}

/**
 * The write metrics of the schema `database` on `meter`, with attribute `db.namespace` (the
 * schema, e.g. `koban_payment`); the service is told apart by the scrape's `service` label or
 * the resource's `service.name`.
 */
export function dbWriteMetrics(meter: Meter, database: string): DbWriteMetrics {
  const { committed, rows, retries } = dbInstruments(meter);
  const attributes = { 'db.namespace': database };
  const addRows = (count: number): void => {
    if (count > 0) rows.add(count, attributes);
  };
  return {
    transactionCommitted(count) {
      committed.add(1, attributes);
      addRows(count);
    },
    autocommitWrite(count) {
      // A statement that changed nothing (an idle poller's claim UPDATE) is no write throughput.
      if (count <= 0) return;
      committed.add(1, attributes);
      addRows(count);
    },
    transactionRetried(errno) {
      retries.add(1, { ...attributes, 'db.response.status_code': String(errno) });
    },
  };
}
