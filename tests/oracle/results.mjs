// The nine answers as JSON text, in the shape of `pinpipe query --format json`:
//   {"queries": {NAME: {"columns": [...], "rows": [[...], ...]}, ...}, "input": {...}}
// Used by tests/oracle/oracle.mjs and bench/duckdb_job.mjs (compared by tests/oracle/compare.mjs).

// The queries of SPEC 5, in order, with their columns.
export const COLUMNS = {
  category_by_country: ['country', 'category', 'category_count'],
  category_by_year: ['post_year', 'category', 'category_count'],
  top_user_by_country: ['country', 'poster_name', 'follower_count'],
  top_country_by_followers: ['country', 'follower_count'],
  category_by_age_group: ['age_group', 'category', 'category_count'],
  median_followers_by_age_group: ['age_group', 'median_follower_count'],
  users_joined_by_year: ['post_year', 'number_users_joined'],
  median_followers_by_join_year: ['post_year', 'median_follower_count'],
  median_followers_by_age_group_and_join_year: ['age_group', 'post_year', 'median_follower_count'],
};
export const QUERIES = Object.keys(COLUMNS);

// Query columns printed as JSON numbers; every other column is text.
export const NUMERIC = new Set(['category_count', 'follower_count', 'post_year', 'number_users_joined', 'median_follower_count']);

// JSON text of queries (NAME -> { columns, rows }, printed in its key order) and input (any JSON
// value). Numeric columns are printed verbatim (exact int64 and x.5 medians, from BigInt or string
// values); a null in a row is an error.
export function toJson(queries, input) {
  const parts = [];
  for (const [name, q] of Object.entries(queries)) {
    const rows = q.rows.map(
      (row) =>
        '[' +
        row
          .map((v, i) => {
            if (v === null) throw new Error(`${name}: null in a result row`);
            return NUMERIC.has(q.columns[i]) ? String(v) : JSON.stringify(v);
          })
          .join(', ') +
        ']',
    );
    parts.push(
      `  ${JSON.stringify(name)}: {"columns": ${JSON.stringify(q.columns)},\n    "rows": [` +
        (rows.length ? '\n      ' + rows.join(',\n      ') + '\n    ' : '') +
        ']}',
    );
  }
  return `{"queries": {\n${parts.join(',\n')}\n},\n"input": ${JSON.stringify(input)}}\n`;
}
