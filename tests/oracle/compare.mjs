#!/usr/bin/env node
// Compares two `pinpipe query --format json` documents (e.g. the oracle's and pinpipe's).
//
//   node tests/oracle/compare.mjs <expected.json> <actual.json>
//
// "queries": every query of either side, in order, exact: same columns, same rows in the same order;
// numbers are compared numerically and exactly (int64 and 5500.5 medians: the JSON text is parsed
// without going through doubles), text exactly.
// "input": the counts present in expected (records, rejected, duplicates, posts, orphans);
// objects, bytes and ignored_files are not compared. A zero count equals an absent one.
// Exit 0 with "oracle: N queries equal", exit 1 with a readable list of the first differences.

import fs from 'node:fs';

// ---- exact JSON parsing: numbers become Num (canonical decimal), the rest as JSON.parse would ----

export class Num {
  constructor(text) {
    this.text = text;
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m) throw new Error(`bad number ${text}`);
    let digits = (m[2] + (m[3] || '')).replace(/^0+/, '');
    let exp = (m[4] ? parseInt(m[4], 10) : 0) - (m[3] ? m[3].length : 0);
    while (digits.endsWith('0')) {
      digits = digits.slice(0, -1);
      exp++;
    }
    // canonical: sign, significant digits, exponent (zero is "0")
    this.canon = digits === '' ? '0' : `${m[1]}${digits}e${exp}`;
  }
  toString() {
    return this.text;
  }
}

export function parseExact(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (what) => {
    throw new Error(`JSON: ${what} at offset ${i}`);
  };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const k = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        const v = value();
        if (!Object.prototype.hasOwnProperty.call(o, k)) o[k] = v; // first occurrence wins
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return o;
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return a;
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length) {
      i += m[0].length;
      return new Num(m[0]);
    }
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    fail('unexpected character');
  }
  function string() {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i));
  }
  const v = value();
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

// ---- comparison ----

function show(v) {
  if (v instanceof Num) return v.text;
  if (Array.isArray(v)) return '[' + v.map(show).join(', ') + ']';
  return JSON.stringify(v);
}

function sameCell(a, b) {
  if (a instanceof Num && b instanceof Num) return a.canon === b.canon;
  if (a instanceof Num || b instanceof Num) return false;
  return a === b;
}

function sameCount(a, b) {
  const ca = a instanceof Num ? a.canon : a === undefined || a === null ? '0' : String(a);
  const cb = b instanceof Num ? b.canon : b === undefined || b === null ? '0' : String(b);
  return ca === cb;
}

// Returns a list of difference lines (empty when equal).
export function compareDocs(exp, act) {
  const diffs = [];
  const eq = exp.queries || {};
  const aq = act.queries || {};
  const names = [...Object.keys(eq), ...Object.keys(aq).filter((n) => !(n in eq))];
  for (const name of names) {
    if (!(name in eq)) {
      diffs.push(`${name}: unexpected query in actual`);
      continue;
    }
    if (!(name in aq)) {
      diffs.push(`${name}: missing in actual`);
      continue;
    }
    const e = eq[name];
    const a = aq[name];
    if (show(e.columns) !== show(a.columns)) {
      diffs.push(`${name}: columns ${show(a.columns)}, expected ${show(e.columns)}`);
      continue;
    }
    const er = e.rows || [];
    const ar = a.rows || [];
    const n = Math.max(er.length, ar.length);
    let shown = 0;
    for (let r = 0; r < n; r++) {
      const x = er[r];
      const y = ar[r];
      const same = x && y && x.length === y.length && x.every((c, k) => sameCell(c, y[k]));
      if (!same) {
        if (shown < 8) {
          diffs.push(
            `${name}: row ${r}: expected ${x ? show(x) : '(none)'}\n` +
              `${' '.repeat(name.length)}  ${' '.repeat(String(r).length + 4)}  actual ${y ? show(y) : '(none)'}`,
          );
        }
        shown++;
      }
    }
    if (shown > 8) diffs.push(`${name}: ... ${shown - 8} more differing rows`);
    if (er.length !== ar.length) diffs.push(`${name}: ${ar.length} rows, expected ${er.length}`);
  }
  const ekeys = Object.keys(eq);
  const akeys = Object.keys(aq).filter((k) => k in eq);
  if (ekeys.every((k) => k in aq) && show(ekeys) !== show(akeys)) {
    diffs.push(`query order: ${show(akeys)}, expected ${show(ekeys)}`);
  }

  const ei = exp.input || {};
  const ai = act.input || {};
  for (const what of ['records', 'duplicates', 'orphans']) {
    if (!(what in ei)) continue;
    const kinds = new Set([...Object.keys(ei[what] || {}), ...Object.keys(ai[what] || {})]);
    for (const k of kinds) {
      const x = (ei[what] || {})[k];
      const y = (ai[what] || {})[k];
      if (!sameCount(x, y)) diffs.push(`input.${what}.${k}: ${show(y ?? 0)}, expected ${show(x ?? 0)}`);
    }
  }
  if ('posts' in ei && !sameCount(ei.posts, ai.posts)) {
    diffs.push(`input.posts: ${show(ai.posts ?? null)}, expected ${show(ei.posts)}`);
  }
  if ('rejected' in ei) {
    const kinds = new Set([...Object.keys(ei.rejected || {}), ...Object.keys((ai.rejected || {}))]);
    for (const k of kinds) {
      const x = (ei.rejected || {})[k] || {};
      const y = (ai.rejected || {})[k] || {};
      for (const reason of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (!sameCount(x[reason], y[reason])) {
          diffs.push(`input.rejected.${k}.${reason}: ${show(y[reason] ?? 0)}, expected ${show(x[reason] ?? 0)}`);
        }
      }
    }
  }
  return diffs;
}

export function readDoc(file) {
  try {
    return parseExact(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${e.message}`);
  }
}

if (process.argv[1] && process.argv[1].endsWith('compare.mjs')) {
  const [expFile, actFile] = process.argv.slice(2);
  if (!expFile || !actFile) {
    process.stderr.write('usage: node tests/oracle/compare.mjs <expected.json> <actual.json>\n');
    process.exit(2);
  }
  let exp, act;
  try {
    exp = readDoc(expFile);
    act = readDoc(actFile);
  } catch (e) {
    process.stderr.write(`compare: ${e.message}\n`);
    process.exit(2);
  }
  const diffs = compareDocs(exp, act);
  if (diffs.length) {
    process.stdout.write(`oracle: MISMATCH (${diffs.length} difference${diffs.length > 1 ? 's' : ''}; expected ${expFile}, actual ${actFile})\n`);
    for (const d of diffs.slice(0, 40)) process.stdout.write(`  ${d}\n`);
    if (diffs.length > 40) process.stdout.write(`  ... ${diffs.length - 40} more\n`);
    process.exit(1);
  }
  process.stdout.write(`oracle: ${Object.keys(exp.queries || {}).length} queries equal\n`);
}
