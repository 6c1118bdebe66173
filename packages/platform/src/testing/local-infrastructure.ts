/**
 * The MariaDB server component tests run against: the local one unless `MYSQL_HOST`, `MYSQL_PORT`,
 * `MYSQL_USER` or `MYSQL_PASSWORD` say otherwise.
 */
export const testMysqlServer = {
  host: process.env['MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['MYSQL_PORT'] ?? 3306),
  user: process.env['MYSQL_USER'] ?? 'root',
  password: process.env['MYSQL_PASSWORD'] ?? '',
};
