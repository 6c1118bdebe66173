import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createLogger, openDatabase, type Db } from '@koban/platform';

export const mysqlServer = {
  host: process.env['MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['MYSQL_PORT'] ?? 3306),
  user: process.env['MYSQL_USER'] ?? 'root',
  password: process.env['MYSQL_PASSWORD'] ?? '',
};

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface TestDatabase {
  db: Db;
  name: string;
  drop(): Promise<void>;
}

/** A fresh `koban_test_<random>` schema with the service's migrations applied, and how to drop it. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `koban_test_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({
    ...mysqlServer,
    database: name,
    poolSize: 10,
    migrationsDir,
    logger: createLogger({ service: 'bank-integration-test', level: 'silent' }),
  });
  return {
    db,
    name,
    async drop() {
      try {
        await db.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await db.close();
      }
    },
  };
}
