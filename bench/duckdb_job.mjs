#!/usr/bin/env node
// Runs bench/duckdb_job.sql (the whole `pinpipe query` job in DuckDB, after tests/oracle/follower.sql)
// on a lake and prints the nine answers in the shape of `pinpipe query --format json`, so that
// tests/oracle/compare.mjs can compare them with pinpipe's. Reports its wall time on stderr.
//
//   node bench/duckdb_job.mjs <lake> [--prefix P] [--topics-dir DIR] [--threads N] [--timing]
//                             [--profile]
//
// DuckDB reads the objects itself (read_json over globs, zstd decompression included); this script
// only finds the topic directories, sets the glob variables and formats the result.
//   --threads N  DuckDB threads (default 2, as in the benchmark)
//   --timing     wall time per phase on stderr (read+dedup+join, clean, queries)
//   --profile    DuckDB's per-operator profile of each phase on stderr (costs some time)
//   --no-line-order
//                the records of one object in any order: positions are (partition, start offset)
//                only, without WITH ORDINALITY (faster). Equivalent when a key's duplicates within
//                one object are identical, as on emulator lakes (every record is derived from the
//                key); the default is the exact order (partition, start offset, line).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KINDS, discoverTopics } from '../tests/oracle/lake.mjs';
import { COLUMNS, QUERIES, toJson } from '../tests/oracle/results.mjs';

const T0 = performance.now();
const HERE = path.dirname(fileURLToPath(import.meta.url));
// @duckdb/node-api is installed for the oracle (tests/oracle/node_modules); the benchmark uses the
// same pinned package, and of the oracle only what is not the job: finding the topics (lake.mjs), the
// follower_count macros (follower.sql) and the JSON writer (results.mjs).
const ORACLE = path.join(HERE, '..', 'tests', 'oracle');
const require = createRequire(path.join(ORACLE, 'package.json'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

function usage(msg) {
  if (msg) process.stderr.write(`duckdb_job: ${msg}\n`);
  process.stderr.write(
    'usage: node bench/duckdb_job.mjs <lake> [--prefix P] [--topics-dir DIR] [--threads N] [--timing] [--profile]\n' +
      '                                 [--no-line-order]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { root: undefined, prefix: undefined, topicsDir: 'topics', threads: 2, timing: false, profile: false, lineOrder: true };
  const value = (i) => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--prefix') o.prefix = value(i++);
    else if (a === '--topics-dir') o.topicsDir = value(i++);
    else if (a === '--threads') {
      o.threads = Number(value(i++));
      if (!Number.isInteger(o.threads) || o.threads < 1) usage('--threads must be an integer >= 1');
    } else if (a === '--timing') o.timing = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-line-order') o.lineOrder = false;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.root === undefined) o.root = a;
    else usage(`unexpected argument ${a}`);
  }
  if (o.root === undefined) usage('missing lake directory');
  return o;
}

const sqlString = (s) => `'${s.replace(/'/g, "''")}'`;

// The job's SQL; with lineOrder false, without WITH ORDINALITY (record position = object position).
function jobSql(lineOrder) {
  let sql = fs.readFileSync(path.join(HERE, 'duckdb_job.sql'), 'utf8');
  if (!lineOrder) {
    const n1 = sql.split(') WITH ORDINALITY').length - 1;
    const n2 = sql.split('rec_pos(filename, ordinality,').length - 1;
    if (n1 !== 3 || n2 !== 3) throw new Error('--no-line-order: duckdb_job.sql does not have the expected 3 scans');
    sql = sql.replaceAll(') WITH ORDINALITY', ')').replaceAll('rec_pos(filename, ordinality,', 'rec_pos(filename, 0,');
  }
  return sql;
}

// Statements of the SQL file: comment lines dropped, split at a ';' that ends a line.
function statements(sql) {
  return sql
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .split(/;[ \t]*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// The phase a statement of duckdb_job.sql belongs to (for --timing and --profile).
function phaseOf(stmt) {
  if (/TEMP TABLE winners AS/.test(stmt)) return 'read + reject + dedup + join';
  if (/TEMP TABLE (clean|posts) AS/.test(stmt)) return 'clean joined posts';
  if (/TEMP TABLE (popular|top_user|q_\w+|input_counts) AS/.test(stmt)) return 'nine queries + counts';
  return 'setup (settings, macros)';
}

// Adds a DuckDB JSON profile (one statement) to acc: phase -> { latency, ops: name -> {cpu, rows} }.
function addProfile(acc, phase, file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const e = acc.get(phase) || { latency: 0, ops: new Map() };
  e.latency += Number(p.latency || 0);
  const walk = (n) => {
    const name = n.operator_name || n.operator_type || '?';
    const op = e.ops.get(name) || { cpu: 0, rows: 0 };
    op.cpu += Number(n.operator_timing || 0);
    op.rows += Number(n.operator_cardinality || 0);
    e.ops.set(name, op);
    for (const c of n.children || []) walk(c);
  };
  for (const c of p.children || []) walk(c);
  acc.set(phase, e);
}

function printProfile(acc) {
  for (const [phase, e] of acc) {
    const total = [...e.ops.values()].reduce((s, o) => s + o.cpu, 0);
    process.stderr.write(`duckdb_job: profile: ${phase}: latency ${e.latency.toFixed(3)} s, operator time ${total.toFixed(3)} s (summed over threads)\n`);
    for (const [name, o] of [...e.ops.entries()].sort((a, b) => b[1].cpu - a[1].cpu)) {
      if (o.cpu < 0.005) continue;
      process.stderr.write(`duckdb_job:   ${name.padEnd(20)} ${o.cpu.toFixed(3).padStart(7)} s ${((100 * o.cpu) / total).toFixed(1).padStart(5)}%  ${o.rows} rows out\n`);
    }
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = path.resolve(o.root, o.topicsDir);
  const { topics } = discoverTopics(dir, o.prefix, `<lake>/${o.topicsDir}`);
  let last = performance.now();
  const phase = (what) => {
    const now = performance.now();
    if (o.timing) process.stderr.write(`duckdb_job: ${what}: ${((now - last) / 1000).toFixed(3)} s\n`);
    last = now;
  };

  const tJob = performance.now();
  const instance = await DuckDBInstance.create(':memory:', { threads: String(o.threads) });
  const con = await instance.connect();
  const duckdbVersion = (await con.runAndReadAll('SELECT version()')).getRowsJS()[0][0];
  phase('start DuckDB');

  // One glob per topic and extension (DuckDB decompresses .zst by the extension), keeping the globs
  // that match something: read_json fails on a glob without files.
  const files = {};
  for (const k of KINDS) {
    files[k] = [];
    for (const ext of ['json.zst', 'json']) {
      const g = path.join(dir, topics[k], '**', `${topics[k]}+*+*.${ext}`);
      const n = (await con.runAndReadAll(`SELECT count(*) FROM glob(${sqlString(g)})`)).getRowsJS()[0][0];
      if (Number(n) > 0) files[k].push(g);
    }
  }
  phase('list objects');

  const queries = {};
  let input = { posts: 0, duplicates: { pin: 0, geo: 0, user: 0 } };
  if (KINDS.some((k) => files[k].length === 0)) {
    // A topic without objects: the inner join is empty, so is every answer (duplicates not counted).
    for (const name of QUERIES) queries[name] = { columns: COLUMNS[name], rows: [] };
    input = { posts: 0 };
  } else {
    for (const k of KINDS) {
      await con.run(`SET VARIABLE ${k}_files = [${files[k].map(sqlString).join(', ')}]`);
      await con.run(`SET VARIABLE ${k}_topic = ${sqlString(topics[k])}`);
    }
    const profDir = o.profile ? fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'duckdb-job-')) : null;
    const profFile = profDir && path.join(profDir, 'profile.json');
    const prof = new Map();
    const spent = new Map();
    // tests/oracle/follower.sql first: the follower_count macros duckdb_job.sql uses.
    const sql = [fs.readFileSync(path.join(ORACLE, 'follower.sql'), 'utf8'), jobSql(o.lineOrder)];
    for (const stmt of sql.flatMap((text) => statements(text))) {
      const ph = phaseOf(stmt);
      const profiled = o.profile && !ph.startsWith('setup');
      if (profiled) {
        await con.run(`PRAGMA enable_profiling = 'json'`);
        await con.run(`PRAGMA profiling_output = ${sqlString(profFile)}`);
      }
      const t = performance.now();
      await con.run(stmt);
      spent.set(ph, (spent.get(ph) || 0) + (performance.now() - t) / 1000);
      if (profiled) {
        await con.run('PRAGMA disable_profiling');
        addProfile(prof, ph, profFile);
        fs.rmSync(profFile, { force: true });
      }
    }
    if (profDir) fs.rmSync(profDir, { recursive: true, force: true });
    if (o.timing) for (const [ph, secs] of spent) process.stderr.write(`duckdb_job: ${ph}: ${secs.toFixed(3)} s\n`);
    if (o.profile) printProfile(prof);
    last = performance.now();

    for (const name of QUERIES) {
      const res = await con.runAndReadAll(`SELECT ${COLUMNS[name].map((c) => `"${c}"`).join(', ')} FROM q_${name} ORDER BY pos`);
      queries[name] = { columns: res.columnNames(), rows: res.getRowsJS() };
    }
    for (const [what, kind, n] of (await con.runAndReadAll('SELECT what, kind, n FROM input_counts')).getRowsJS()) {
      if (what === 'posts') input.posts = Number(n ?? 0);
      else input.duplicates[kind] = Number(n ?? 0);
    }
    phase('read results');
  }
  con.closeSync();
  instance.closeSync();
  process.stdout.write(toJson(queries, input));
  process.stderr.write(
    `duckdb_job: wall ${((performance.now() - T0) / 1000).toFixed(3)} s, job ${((performance.now() - tJob) / 1000).toFixed(3)} s ` +
      `(DuckDB ${duckdbVersion}, ${o.threads} threads${o.lineOrder ? '' : ', no line order'})\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`duckdb_job: ${e.message}\n`);
  process.exit(1);
});
