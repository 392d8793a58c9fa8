#!/usr/bin/env node
// DuckDB oracle for `pinpipe query --format json`.
//
//   node tests/oracle/oracle.mjs <lake root> [--prefix P] [--timing]
//
// Reads the lake (lake.mjs), loads one row per record into an in-memory DuckDB table `raw`, runs
// follower.sql then spec.sql (all cleaning, rejects, dedup, join and queries are there) and prints,
// with results.mjs,
//   {"queries": {NAME: {"columns": [...], "rows": [[...], ...]}, ...}, "input": {...}}
// Numbers are printed exactly (int64 counts and follower counts, medians such as 5500.5).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { KINDS, listObjects, readRecords } from './lake.mjs';
import { toJson } from './results.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAX_RECORD_BYTES = 1048576;
const REASONS = ['too_large', 'invalid_utf8', 'invalid_json', 'not_object', 'missing_key', 'bad_key'];

function usage(msg) {
  if (msg) process.stderr.write(`oracle: ${msg}\n`);
  process.stderr.write('usage: node tests/oracle/oracle.mjs <lake root> [--prefix P] [--timing]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { root: undefined, prefix: undefined, timing: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--prefix') {
      if (i + 1 >= argv.length) usage('--prefix needs a value');
      o.prefix = argv[++i];
    } else if (a.startsWith('--prefix=')) o.prefix = a.slice('--prefix='.length);
    else if (a === '--timing') o.timing = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.root === undefined) o.root = a;
    else usage(`unexpected argument ${a}`);
  }
  if (o.root === undefined) usage('missing lake root');
  return o;
}

// Runs the oracle on a lake; returns { result (object with string-typed numbers), json (text) }.
export async function runOracle(root, prefix, timing = () => {}) {
  const listing = listObjects(root, prefix);
  timing('list');

  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await instance.connect();
  await con.run(`CREATE TABLE raw (kind VARCHAR, obj BIGINT, part BIGINT, start_off BIGINT, idx BIGINT,
                                   line VARCHAR, utf8_ok BOOLEAN, nbytes BIGINT)`);
  const app = await con.createAppender('raw');
  // ignoreBOM keeps a leading U+FEFF in the text (it is not JSON whitespace: invalid_json).
  const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let n = 0;
  for (const r of readRecords(listing)) {
    let text = null;
    let ok = true;
    if (r.bytes.length <= MAX_RECORD_BYTES) {
      try {
        text = dec.decode(r.bytes);
      } catch {
        ok = false;
      }
    }
    app.appendVarchar(r.kind);
    app.appendBigInt(BigInt(r.obj));
    app.appendBigInt(BigInt(r.partition));
    app.appendBigInt(r.start);
    app.appendBigInt(BigInt(r.idx));
    if (text === null) app.appendNull();
    else app.appendVarchar(text);
    app.appendBoolean(ok);
    app.appendBigInt(BigInt(r.bytes.length));
    app.endRow();
    n++;
  }
  app.closeSync();
  timing(`load (${n} records, ${listing.objects.length} objects)`);

  for (const file of ['follower.sql', 'spec.sql']) await con.run(fs.readFileSync(path.join(HERE, file), 'utf8'));
  timing('spec.sql');

  const order = (await con.runAndReadAll('SELECT name FROM q_order ORDER BY pos')).getRowsJS().map((r) => r[0]);
  const queries = {};
  for (const name of order) {
    const res = await con.runAndReadAll(`SELECT * EXCLUDE (pos) FROM q_${name} ORDER BY pos`);
    const columns = res.columnNames();
    const rows = res.getRowsJS();
    queries[name] = { columns, rows };
  }

  const counts = (await con.runAndReadAll('SELECT what, kind, reason, n FROM input_counts')).getRowsJS();
  const input = {
    objects: listing.objects.length,
    ignored_files: listing.ignored,
    bytes: listing.bytes,
    records: Object.fromEntries(KINDS.map((k) => [k, 0])),
    rejected: Object.fromEntries(KINDS.map((k) => [k, {}])),
    duplicates: Object.fromEntries(KINDS.map((k) => [k, 0])),
    posts: 0,
    orphans: Object.fromEntries(KINDS.map((k) => [k, 0])),
  };
  for (const [what, kind, reason, cnt] of counts) {
    const v = Number(cnt);
    if (what === 'posts') input.posts = v;
    else if (what === 'rejected') input.rejected[kind][reason] = v;
    else input[what][kind] = v;
  }
  for (const k of KINDS) {
    const sorted = {};
    for (const r of REASONS) if (input.rejected[k][r]) sorted[r] = input.rejected[k][r];
    input.rejected[k] = sorted;
  }
  con.closeSync();
  instance.closeSync();
  timing('read results');
  return { queries, input, json: toJson(queries, input) };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('oracle.mjs')) {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  let last = t0;
  const timing = opts.timing
    ? (what) => {
        const now = performance.now();
        process.stderr.write(`oracle: ${what}: ${((now - last) / 1000).toFixed(2)} s\n`);
        last = now;
      }
    : () => {};
  try {
    const { json } = await runOracle(opts.root, opts.prefix, timing);
    process.stdout.write(json);
    if (opts.timing) process.stderr.write(`oracle: total ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  } catch (e) {
    process.stderr.write(`oracle: ${e.message}\n`);
    process.exit(1);
  }
}
