// Counts the rows DuckDB reads from newline-delimited JSON objects as they
// lie in a lake (zstd or plain), with DuckDB's own reader and decompressor:
// the check that a pinpipe lake is readable unchanged (SPEC 7).
//
//   node read_lake.mjs '<glob>'        prints the row count
import { DuckDBInstance } from '@duckdb/node-api';

const glob = process.argv[2];
if (!glob) {
  console.error('usage: node read_lake.mjs <glob>');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await instance.connect();
const quoted = glob.replaceAll("'", "''");
const res = await con.runAndReadAll(
  `SELECT count(*) FROM read_json('${quoted}', format = 'newline_delimited')`);
console.log(String(res.getRowsJS()[0][0]));
