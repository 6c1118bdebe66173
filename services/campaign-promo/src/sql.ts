// The platform's SQL access (packages/platform/src/db/sql-access.ts), under the names the
// stores use.
import { sqlColumn } from '@koban/platform';

export { poolSql, txSql, isDuplicateKeyError } from '@koban/platform';
export type { Row, Sql, SqlValue, Tx } from '@koban/platform';
export const { num, text, textOrNull, date, dateOrNull, bufferOrNull } = sqlColumn;
