import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrationChecksum, splitSqlStatements } from './migrations.js';

void describe('splitSqlStatements', () => {
  void it('splits on a semicolon at the end of a line and drops it', () => {
    const sql = 'CREATE TABLE a (\n  id BIGINT PRIMARY KEY\n);\nCREATE INDEX a_id ON a (id);\n';
    assert.deepEqual(splitSqlStatements(sql), [
      'CREATE TABLE a (\n  id BIGINT PRIMARY KEY\n)',
      'CREATE INDEX a_id ON a (id)',
    ]);
  });

  void it('keeps a semicolon inside a line', () => {
    assert.deepEqual(splitSqlStatements("INSERT INTO t VALUES ('a;b');"), ["INSERT INTO t VALUES ('a;b')"]);
  });

  void it('drops whole-line comments, even ones ending with a semicolon', () => {
    const sql = '-- accounts;\n# owned by ledger;\nCREATE TABLE a (id BIGINT);\n-- trailing note\n';
    assert.deepEqual(splitSqlStatements(sql), ['CREATE TABLE a (id BIGINT)']);
  });

  void it('keeps a final statement without a semicolon and ignores blank text', () => {
    assert.deepEqual(splitSqlStatements('SELECT 1;\r\n\r\nSELECT 2\r\n'), ['SELECT 1', 'SELECT 2']);
    assert.deepEqual(splitSqlStatements('\n  \n'), []);
  });

  void it('passes TiDB-only comments through to the server', () => {
    const sql = 'CREATE TABLE a (id BIGINT /*T![auto_rand] AUTO_RANDOM */ PRIMARY KEY);';
    assert.deepEqual(splitSqlStatements(sql), [
      'CREATE TABLE a (id BIGINT /*T![auto_rand] AUTO_RANDOM */ PRIMARY KEY)',
    ]);
  });
});

void describe('migrationChecksum', () => {
  void it('is the same for LF and CRLF line endings', () => {
    assert.equal(
      migrationChecksum('SELECT 1;\r\nSELECT 2;\r\n'),
      migrationChecksum('SELECT 1;\nSELECT 2;\n'),
    );
  });

  void it('changes when the text changes', () => {
    assert.notEqual(migrationChecksum('SELECT 1;'), migrationChecksum('SELECT 2;'));
    assert.match(migrationChecksum(''), /^[0-9a-f]{64}$/);
  });
});
