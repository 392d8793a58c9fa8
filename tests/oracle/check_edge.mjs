#!/usr/bin/env node
// Checks the oracle itself: runs it on tests/data/edge_lake and compares with answers derived BY HAND
// from docs/semantics.md (see tests/data/README.md for the derivation of each value).
//
//   node tests/oracle/check_edge.mjs        (exit 0 when equal, 1 on a mismatch)

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOracle } from './oracle.mjs';
import { compareDocs, parseExact } from './compare.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LAKE = path.join(HERE, '..', 'data', 'edge_lake');
const MAX = '9223372036854775807';

// follower_count forms of keys 201..250 (country F01..F50, poster "p"): the value, or null = no row.
const FOLLOWERS = [
  ['"79k"', '79000'], ['"2M"', '2000000'], ['"1.5k"', '1500'], ['"1.2345k"', '1234'],
  ['" 12 k "', '12000'], ['"3B"', '3000000000'], ['"1,000"', null], ['"-5"', null], ['1500.0', null],
  ['437', '437'], ['-20', '-20'], ['"437"', '437'], ['"User Info Error"', null], ['""', null],
  ['"9223372036854775806"', '9223372036854775806'], ['"9223372036854775808"', null],
  ['9223372036854775808', null], ['"0.9999k"', '999'], ['"1.5 m"', '1500000'], ['"007"', '7'],
  ['"1.k"', null], ['"k"', null], ['"1e3"', null], ['"5\\t"', null], ['"1.5kk"', null], ['true', null],
  ['"9223372036854775.806k"', '9223372036854775806'], ['"9223372036854775.808k"', null],
  ['"0.000000001b"', '1'], ['"0.0000000009b"', '0'], ['"  12K"', '12000'], ['"1.9999999999m"', '1999999'],
  ['" "', null], ['"1 000"', null], ['"\\u0031\\u0032k"', '12000'], ['1e3', null], ['"+5"', null],
  ['"１２"', null], ['"12\\u00a0k"', null], ['"01.50k"', '1500'], ['"1.5M"', '1500000'],
  ['"2.5B"', '2500000000'], ['null', null], ['"9999999999b"', null],
  ['-9223372036854775808', '-9223372036854775808'], ['"0"', '0'], ['"12.5"', '12'], ['".5k"', null],
  ['"5."', null], ['(missing)', null],
];

const fRows = FOLLOWERS.flatMap(([, v], i) => (v === null ? [] : [`["F${String(i + 1).padStart(2, '0')}", "p", ${v}]`]));

const EXPECTED = `{"queries": {
  "category_by_country": {"columns": ["country", "category", "category_count"], "rows": [
    ["Bosnia & Herzegovina", "art", 2],
    ["C\\u00f4te d'Ivoire", "diy", 2],
    ["Earth \\ud83c\\udf0d", "travel", 1],
    ["The \\"Quoted\\" Isles (West)", "art", 2],
    ["Zimbabwe", "Zeta", 1],
    ["\\u00c5land", "travel", 1]]},
  "category_by_year": {"columns": ["post_year", "category", "category_count"], "rows": [
    [2018, "ts", 4], [2019, "ts", 2], [2020, "ts", 2], [2021, "ts", 5], [2022, "ts", 3]]},
  "top_user_by_country": {"columns": ["country", "poster_name", "follower_count"], "rows": [
    ["Bosnia & Herzegovina", "Big Poster", 9223372036854775806],
    ["C\\u00f4te d'Ivoire", "Crafty", 1501],
    ["Earth \\ud83c\\udf0d", "Orbit", 999],
    ${fRows.join(',\n    ')},
    ["Placeholders", "User Info Error ", 10],
    ["The \\"Quoted\\" Isles (West)", "Mr. \\"Q\\" & Co (Ltd)", 12000],
    ["Zimbabwe", "Zeta", ${MAX}],
    ["\\u00c5land", "\\u00c5sa", ${MAX}]]},
  "top_country_by_followers": {"columns": ["country", "follower_count"], "rows": [
    ["Zimbabwe", ${MAX}]]},
  "category_by_age_group": {"columns": ["age_group", "category", "category_count"], "rows": [
    ["+50", "Zeta", 1], ["18-24", "art", 2], ["25-35", "art", 2], ["36-50", "art", 1]]},
  "median_followers_by_age_group": {"columns": ["age_group", "median_follower_count"], "rows": [
    ["+50", 9223372036854775806.5], ["18-24", 79000], ["25-35", 6500], ["36-50", 1367.5]]},
  "users_joined_by_year": {"columns": ["post_year", "number_users_joined"], "rows": [
    [2015, 4], [2016, 5], [2017, 4], [2018, 4], [2019, 5], [2020, 4]]},
  "median_followers_by_join_year": {"columns": ["post_year", "median_follower_count"], "rows": [
    [2015, 2000000], [2016, 718.5], [2017, 4611686018427393903.5], [2018, 6750.5], [2020, 1500000499.5]]},
  "median_followers_by_age_group_and_join_year": {"columns": ["age_group", "post_year", "median_follower_count"], "rows": [
    ["18-24", 2015, 2000000], ["18-24", 2020, 999],
    ["25-35", 2016, 718.5], ["25-35", 2018, 12000], ["25-35", 2020, 3000000000],
    ["36-50", 2016, 1234], ["36-50", 2018, 1501]]}
},
"input": {
  "records": {"pin": 167, "geo": 181, "user": 170},
  "rejected": {
    "pin": {"too_large": 1, "invalid_json": 3, "not_object": 1, "missing_key": 2, "bad_key": 5},
    "geo": {"too_large": 1, "invalid_utf8": 4, "invalid_json": 8, "not_object": 3, "missing_key": 3, "bad_key": 6},
    "user": {"invalid_json": 7, "not_object": 3, "missing_key": 1, "bad_key": 3}},
  "duplicates": {"pin": 2, "geo": 2, "user": 2},
  "posts": 152,
  "orphans": {"pin": 1, "geo": 2, "user": 2}}}`;

const expected = parseExact(EXPECTED);
const { json, input } = await runOracle(LAKE, undefined);
const actual = parseExact(json);
const diffs = compareDocs(expected, actual);
// lake listing (oracle-only fields): 28 objects, 4 ignored names
if (input.objects !== 28) diffs.push(`input.objects: ${input.objects}, expected 28`);
if (input.ignored_files !== 4) diffs.push(`input.ignored_files: ${input.ignored_files}, expected 4`);
if (diffs.length) {
  console.log(`check_edge: MISMATCH between the oracle and the hand-derived answers (${diffs.length}):`);
  for (const d of diffs) console.log(`  ${d}`);
  process.exit(1);
}
console.log(`check_edge: oracle matches the hand-derived edge answers (${Object.keys(expected.queries).length} queries, input counts)`);
