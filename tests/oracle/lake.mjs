// Lists and reads a local pinpipe lake (SPEC 7, docs/semantics.md "Reading records").
//
// Layout: <root>/topics/<topic>/**/<topic>+<partition>+<startOffset>.json[.zst]
// The three topics are found by their .pin/.geo/.user suffix (one prefix, or the one given).
// Partition and start offset come from the file name only; the directories above it
// (partition=<p>/ or a TimeBasedPartitioner path such as year=2021/month=03/) do not matter.
// A record is one line; its offset is the object's start offset + line index.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export const KINDS = ['pin', 'geo', 'user'];
const INT64_MAX = 9223372036854775807n;

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isDir(p) {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// The topics in a topics directory: <topicsDir>/<prefix>.<pin|geo|user>, one prefix unless prefix
// chooses (also used by bench/duckdb_job.mjs). Returns { prefix, topics: { pin: 'P.pin', ... } };
// where names topicsDir in the messages.
export function discoverTopics(topicsDir, prefix, where = '<lake>/topics') {
  if (!isDir(topicsDir)) throw new Error(`${topicsDir}: no such directory (expected ${where}/<topic>/...)`);
  const prefixes = new Set();
  for (const name of fs.readdirSync(topicsDir)) {
    const m = /^(.+)\.(pin|geo|user)$/.exec(name);
    if (m && isDir(path.join(topicsDir, name))) prefixes.add(m[1]);
  }
  if (prefix === undefined) {
    if (prefixes.size === 0) throw new Error(`${topicsDir}: no <prefix>.pin/.geo/.user topic directory`);
    if (prefixes.size > 1) {
      throw new Error(`${topicsDir}: several topic prefixes (${[...prefixes].sort().join(', ')}); choose one with --prefix`);
    }
    prefix = [...prefixes][0];
  }
  const topics = {};
  for (const k of KINDS) topics[k] = `${prefix}.${k}`;
  return { prefix, topics };
}

function walk(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    let st;
    try {
      st = fs.statSync(p); // follows symlinks
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile()) out.push({ path: p, name: e.name, size: st.size });
  }
}

// Lists the objects of the three topics. Returns { prefix, objects, ignored, bytes }:
// objects sorted by (kind, partition, start offset, path), each
// { kind, topic, path, partition (Number), start (BigInt), zst (bool), size }.
export function listObjects(root, prefix) {
  const topicsDir = path.join(root, 'topics');
  const { prefix: pfx, topics } = discoverTopics(topicsDir, prefix);
  const objects = [];
  let ignored = 0;
  for (const kind of KINDS) {
    const topic = topics[kind];
    const dir = path.join(topicsDir, topic);
    if (!isDir(dir)) continue; // a topic with no objects
    const files = [];
    walk(dir, files);
    const re = new RegExp(`^${escapeRegExp(topic)}\\+([0-9]+)\\+([0-9]+)\\.json(\\.zst)?$`);
    for (const f of files) {
      const m = re.exec(f.name);
      const part = m ? BigInt(m[1]) : -1n;
      const start = m ? BigInt(m[2]) : -1n;
      if (!m || part > 2147483647n || start > INT64_MAX) {
        ignored++;
        continue;
      }
      objects.push({ kind, topic, path: f.path, partition: Number(part), start, zst: !!m[3], size: f.size });
    }
  }
  const kindIdx = Object.fromEntries(KINDS.map((k, i) => [k, i]));
  objects.sort(
    (a, b) =>
      kindIdx[a.kind] - kindIdx[b.kind] ||
      a.partition - b.partition ||
      (a.start < b.start ? -1 : a.start > b.start ? 1 : 0) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  const bytes = objects.reduce((s, o) => s + o.size, 0);
  return { prefix: pfx, objects, ignored, bytes };
}

// Decompresses every .zst object with the zstd CLI (Node 20's zlib has no zstd), in batches so that a
// lake of one-record objects does not start one process per object. Returns Map path -> Buffer.
function decompressAll(objects) {
  const out = new Map();
  const zst = objects.filter((o) => o.zst);
  if (zst.length === 0) return out;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pinpipe-oracle-'));
  try {
    let i = 0;
    while (i < zst.length) {
      // one batch: at most 400 files, no repeated base name (--output-dir-flat)
      const batch = [];
      const names = new Set();
      while (i < zst.length && batch.length < 400 && !names.has(path.basename(zst[i].path))) {
        names.add(path.basename(zst[i].path));
        batch.push(zst[i++]);
      }
      execFileSync('zstd', ['-d', '-q', '-f', '--no-progress', '--output-dir-flat', tmp, '--', ...batch.map((o) => o.path)], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      for (const o of batch) {
        const dst = path.join(tmp, path.basename(o.path).slice(0, -'.zst'.length));
        out.set(o.path, fs.readFileSync(dst));
        fs.unlinkSync(dst);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// Splits an object into records: lines ending with '\n'; a final line without '\n' is a record;
// a trailing '\n' does not start another record; an empty object holds no record.
export function splitLines(buf) {
  const lines = [];
  let s = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, s);
    if (nl < 0) break;
    lines.push(buf.subarray(s, nl));
    s = nl + 1;
  }
  if (s < buf.length) lines.push(buf.subarray(s));
  return lines;
}

// Yields one row per record:
// { kind, obj (index in listing), partition, start (BigInt), idx, bytes (Buffer) }.
export function* readRecords(listing) {
  const zst = decompressAll(listing.objects);
  let obj = 0;
  for (const o of listing.objects) {
    const buf = o.zst ? zst.get(o.path) : fs.readFileSync(o.path);
    const lines = splitLines(buf);
    for (let idx = 0; idx < lines.length; idx++) {
      yield { kind: o.kind, obj, partition: o.partition, start: o.start, idx, bytes: lines[idx] };
    }
    obj++;
  }
}

// Debug helper: `node lake.mjs <root> [--prefix P]` prints the listing and record counts.
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const pi = args.indexOf('--prefix');
  const prefix = pi >= 0 ? args[pi + 1] : undefined;
  const listing = listObjects(args[0], prefix);
  for (const o of listing.objects) console.log(o.kind, o.partition, o.start.toString(), o.path);
  const counts = { pin: 0, geo: 0, user: 0 };
  for (const r of readRecords(listing)) counts[r.kind]++;
  console.log(JSON.stringify({ prefix: listing.prefix, objects: listing.objects.length, ignored: listing.ignored, records: counts }));
}
