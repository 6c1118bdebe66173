import { createConnection } from 'mysql2/promise';

/** Where to create a service's schema; the user needs the CREATE privilege. */
export interface EnsureDatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

const databaseNamePattern = /^[A-Za-z0-9_]{1,64}$/;

/**
 * Creates the service's schema if it does not exist (each service owns exactly one). The
 * collation is `utf8mb4_bin`, TiDB's default, so that a local MariaDB compares and enforces
 * uniqueness of keys (ids, idempotency keys) byte for byte, exactly as production does.
 */
export async function ensureDatabase(settings: EnsureDatabaseSettings): Promise<void> {
  // Schema names come from config, but DDL cannot take placeholders: refuse anything unusual.
  if (!databaseNamePattern.test(settings.database)) {
    throw new Error(`invalid database name ${JSON.stringify(settings.database)}: use letters, digits and _`);
  }
  const conn = await createConnection({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
  });
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS ${conn.escapeId(settings.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await conn.end();
  }
}
