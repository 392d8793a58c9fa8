-- pinpipe benchmark: the whole `pinpipe query` job in DuckDB, straight from the raw lake.
--
-- Reads the lake's raw objects (<lake>/topics/<topic>/**/<topic>+<partition>+<offset>.json[.zst])
-- with DuckDB's own JSON reader (zstd decompression, newline-delimited records, the threads the
-- runner sets: 2 in the benchmark), applies the cleaning rules of docs/semantics.md that affect the
-- nine answers, rejects malformed records, keeps the first record per key per topic in (partition,
-- offset) order, joins pin, geo and user on the key and answers the nine queries of SPEC 5 with exact
-- medians and the tie rules.
--
-- Written as a DuckDB user would write it to be fast: only the columns the queries need are read
-- (as JSON values, so that a field's JSON type can be checked without parsing the record twice);
-- dedup and join are one hash aggregate over the three topics with one arg_min per field; text is
-- unescaped for the dedup winners only, and the remaining cleaning (timestamps, ages, follower
-- counts) runs on the joined posts only (dedup depends on the key and the position alone, so
-- cleaning the other fields after dedup changes nothing).
--
-- Set by bench/duckdb_job.mjs before this file runs:
--   pin_files, geo_files, user_files   LIST of globs of each topic's objects
--   pin_topic, geo_topic, user_topic   the topic names (e.g. 'pinterest.pin'), checked in file names
--
-- Output: tables q_<query name> (SPEC 5 columns; numbers as BIGINT, medians as VARCHAR text such as
-- '5500.5'; plus pos, the row order) and input_counts(what, kind, n) with posts and duplicates.
--
-- Macros marked "(oracle)" are copied from tests/oracle/spec.sql (the reference implementation of
-- docs/semantics.md); the others are the same rules rewritten for the JSON-typed columns that
-- read_json yields (a JSON value's text, re-serialised by yyjson: a string starts with '"', an
-- integer is '-?[0-9]+', a float always has '.' or 'e', JSON null and a missing field are SQL NULL).
--
-- Record position. read_json gives no line number, but WITH ORDINALITY numbers the records of one
-- read_json call in scan order, which is the glob's file order and, within a file, line order (the
-- ordinality is a streaming row_number() over the order-preserving scan). The dedup order
-- (partition, start offset, line) is therefore (partition, start offset, ordinality), partition and
-- start offset parsed from the file name. Exact, and cheap: the scan stays parallel across files.
--
-- Differences from the full reject rules, none of which an emulator lake without --malformed has
-- (see bench/README.md): DuckDB's reader (yyjson) accepts trailing commas and NaN/Infinity, which
-- pinpipe rejects as invalid_json; after a line that is not one complete JSON object (truncated,
-- trailing garbage, a bare scalar such as -Infinity), it may lose the next line too, which pinpipe
-- reads as a record of its own; a record between 1 MiB and DuckDB's maximum_object_size (16 MiB) is
-- not rejected as too_large. Duplicate field names resolve to the first occurrence in both.

-- Timestamps with an offset are converted to UTC through TIMESTAMPTZ.
SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------------------------------
-- Keys, positions and values

-- A key or age: a JSON integer in int64 range, or a JSON string of ASCII digits in int64 range.
-- (try_cast alone would round '1.5' to 2: the integer shape is checked first.)
CREATE OR REPLACE TEMP MACRO int_of(j) AS
  CASE WHEN starts_with(j, '"')
       THEN CASE WHEN regexp_full_match(j, '"[0-9]+"') THEN try_cast(j[2:-2] AS BIGINT) END
       WHEN regexp_full_match(j, '-?[0-9]+') THEN try_cast(j AS BIGINT) END;

-- (topic, partition, start offset) of an object from its file name
-- <topic>+<partition>+<startOffset>.json[.zst]; the directories above do not matter.
CREATE OR REPLACE TEMP MACRO obj_name(f) AS
  regexp_extract(f, '([^/]*)\+([0-9]+)\+([0-9]+)\.json(\.zst)?$', ['topic', 'part', 'off']);

-- Dedup order of a record: (partition, start offset, ordinality) packed into one HUGEINT
-- (31 + 63 + 32 bits), NULL for an object whose name does not follow the pattern (ignored).
CREATE OR REPLACE TEMP MACRO rec_pos(f, ord, topic) AS
  CASE WHEN ord >= 4294967296 THEN error('duckdb_job: more than 2^32 records in one topic')
       WHEN obj_name(f).topic = topic
        AND try_cast(obj_name(f).part AS HUGEINT) <= 2147483647
        AND try_cast(obj_name(f).off AS HUGEINT) <= 9223372036854775807
       THEN (obj_name(f).part::HUGEINT << 95) + (obj_name(f).off::HUGEINT << 32) + ord END;

-- A text column: a JSON string (unescaped), else NULL; the empty string is NULL.
CREATE OR REPLACE TEMP MACRO text_of(j) AS
  CASE WHEN starts_with(j, '"') THEN nullif(json_extract_string(j, '$'), '') END;

-- follower_str (and fc_int, fc_frac, fc_n, fc_value) come from tests/oracle/follower.sql.

-- follower_count: a JSON integer in int64 range as is, a JSON string by follower_str, else NULL.
-- (Slow per value, as DuckDB inlines the follower.sql macros: the job applies it once per distinct value.)
CREATE OR REPLACE TEMP MACRO follower_of(j) AS
  CASE WHEN starts_with(j, '"') THEN follower_str(json_extract_string(j, '$'))
       WHEN regexp_full_match(j, '-?[0-9]+') THEN try_cast(j AS BIGINT) END;

-- Timestamp string -> TIMESTAMP in UTC, or NULL. The whole string must be
-- DATE SEP TIME [.FRACTION] [ZONE], DATE YYYY-MM-DD (SEP ' ' or 'T') or YYYY:MM:DD (SEP ' '),
-- TIME HH:MM:SS, ZONE Z | +HH:MM | -HH:MM, with hour and zone hour 00-23 and zone minute 00-59
-- (one regular expression) and year 0001-9999; month 1-12, the day within the month (Gregorian leap
-- years), minute and second 0-59 are checked by DuckDB's TIMESTAMPTZ cast, which also subtracts the
-- offset (a string without one is UTC: TimeZone is UTC). The fraction is dropped: the instant is
-- truncated to the second (date_trunc on the UTC TIMESTAMP floors, also before 1970; the cast keeps at
-- most 6 fraction digits and never rounds up). The YYYY:MM:DD shape is rewritten to YYYY-MM-DD first
-- (same positions).
CREATE OR REPLACE TEMP MACRO ts_of(s) AS
  CASE WHEN regexp_full_match(s, '[0-9]{4}(-[0-9]{2}-[0-9]{2}[ T]|:[0-9]{2}:[0-9]{2} )([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?')
        AND substr(s, 1, 4) <> '0000'
       THEN date_trunc('second', make_timestamp(epoch_us(
              try_cast(substr(s, 1, 4) || '-' || substr(s, 6, 2) || '-' || substr(s, 9) AS TIMESTAMPTZ)))) END;

-- ---------------------------------------------------------------------------------------------
-- Read, reject, dedup and join in one pass: one hash aggregate over the valid records of the three
-- topics, grouped by key, keeps per topic the record with the smallest position (arg_min); a key
-- with a winner in all three topics is a joined post. A record is rejected (left out) when it is
-- not one valid JSON object (read_json's ignore_errors turns it into a row of NULLs; invalid UTF-8
-- included), lacks its key, or its key is not an integer in int64 range (int_of gives NULL).

CREATE OR REPLACE TEMP TABLE winners AS
WITH rec AS (
  SELECT 0 AS t, int_of("index") AS key, rec_pos(filename, ordinality, getvariable('pin_topic')) AS pos,
         category AS a, poster_name AS b, follower_count AS c, NULL::JSON AS d
  FROM read_json(getvariable('pin_files'), format = 'newline_delimited', records = true,
                 columns = {'index': 'JSON', 'category': 'JSON', 'poster_name': 'JSON', 'follower_count': 'JSON'},
                 filename = true, hive_partitioning = false, ignore_errors = true) WITH ORDINALITY
  UNION ALL
  SELECT 1, int_of(ind), rec_pos(filename, ordinality, getvariable('geo_topic')),
         country, "timestamp", NULL, NULL
  FROM read_json(getvariable('geo_files'), format = 'newline_delimited', records = true,
                 columns = {'ind': 'JSON', 'country': 'JSON', 'timestamp': 'JSON'},
                 filename = true, hive_partitioning = false, ignore_errors = true) WITH ORDINALITY
  UNION ALL
  SELECT 2, int_of(ind), rec_pos(filename, ordinality, getvariable('user_topic')),
         first_name, last_name, age, date_joined
  FROM read_json(getvariable('user_files'), format = 'newline_delimited', records = true,
                 columns = {'ind': 'JSON', 'first_name': 'JSON', 'last_name': 'JSON', 'age': 'JSON',
                            'date_joined': 'JSON'},
                 filename = true, hive_partitioning = false, ignore_errors = true) WITH ORDINALITY
)
-- One arg_min per field (positions are unique within a topic, so they all pick the same record):
-- about twice as fast as one arg_min over a STRUCT of the fields.
SELECT key,
       count(*) FILTER (WHERE t = 0) AS n_pin,
       count(*) FILTER (WHERE t = 1) AS n_geo,
       count(*) FILTER (WHERE t = 2) AS n_user,
       text_of(arg_min(a, pos) FILTER (WHERE t = 0)) AS category,
       text_of(arg_min(b, pos) FILTER (WHERE t = 0)) AS poster_name,
       arg_min(c, pos) FILTER (WHERE t = 0) AS follower_count,
       text_of(arg_min(a, pos) FILTER (WHERE t = 1)) AS country,
       text_of(arg_min(b, pos) FILTER (WHERE t = 1)) AS "timestamp",
       text_of(arg_min(a, pos) FILTER (WHERE t = 2)) AS first_name,
       text_of(arg_min(b, pos) FILTER (WHERE t = 2)) AS last_name,
       arg_min(c, pos) FILTER (WHERE t = 2) AS age,
       text_of(arg_min(d, pos) FILTER (WHERE t = 2)) AS date_joined
FROM rec
WHERE key IS NOT NULL AND pos IS NOT NULL
GROUP BY key;

-- Joined posts, cleaned (only the columns the queries use). The cleaning expressions run once per
-- joined post in a materialised CTE (DuckDB inlines a macro or subquery expression into every
-- reference, and string functions are slower on a join's output). follower_count strings repeat (a
-- poster's count is on each of its posts: ~3,000 distinct values in 200,000 posts), so they are
-- converted once per distinct value and joined back.
CREATE OR REPLACE TEMP TABLE posts AS
WITH joined AS MATERIALIZED (
  SELECT country, category,
         nullif(poster_name, 'User Info Error') AS poster_name,
         follower_count AS fc_json,
         year(ts_of("timestamp")) AS post_year,
         first_name, last_name,
         int_of(age) AS age,
         ts_of(date_joined) AS date_joined
  FROM winners
  WHERE n_pin > 0 AND n_geo > 0 AND n_user > 0
), fc AS (
  SELECT fc_json, follower_of(fc_json) AS follower_count
  FROM (SELECT DISTINCT fc_json FROM joined)
)
SELECT p.country, p.category, p.poster_name, fc.follower_count, p.post_year,
       CASE WHEN p.first_name IS NULL THEN p.last_name
            WHEN p.last_name IS NULL THEN p.first_name
            ELSE p.first_name || ' ' || p.last_name END AS user_name,
       p.date_joined, year(p.date_joined) AS join_year,
       CASE WHEN p.age BETWEEN 18 AND 24 THEN '18-24'
            WHEN p.age BETWEEN 25 AND 35 THEN '25-35'
            WHEN p.age BETWEEN 36 AND 50 THEN '36-50'
            WHEN p.age >= 51 THEN '+50' END AS age_group
FROM joined p LEFT JOIN fc USING (fc_json);

-- ---------------------------------------------------------------------------------------------
-- The nine queries. Most popular: highest count, ties to the smaller name (byte order).
-- Exact median: (lower middle + upper middle) / 2, the lower middle being quantile_disc(x, 0.5) and
-- the upper one -quantile_disc(-x, 0.5), summed in HUGEINT; printed as an integer or with '.5'.

CREATE OR REPLACE TEMP MACRO median_text(lo, hi) AS
  CASE WHEN (lo::HUGEINT + hi::HUGEINT) % 2 = 0 THEN ((lo::HUGEINT + hi::HUGEINT) // 2)::VARCHAR
       ELSE CASE WHEN lo::HUGEINT + hi::HUGEINT < 0 THEN '-' ELSE '' END
            || (abs(lo::HUGEINT + hi::HUGEINT) // 2)::VARCHAR || '.5' END;

CREATE OR REPLACE TEMP TABLE popular AS
WITH c AS (
  SELECT q, gk, category, count(*) AS n
  FROM (SELECT 'country' AS q, country AS gk, category FROM posts WHERE country IS NOT NULL
        UNION ALL
        SELECT 'year', post_year::VARCHAR, category FROM posts WHERE post_year BETWEEN 2018 AND 2022
        UNION ALL
        SELECT 'age', age_group, category FROM posts WHERE age_group IS NOT NULL)
  WHERE category IS NOT NULL
  GROUP BY ALL
)
SELECT q, gk, category, n FROM c
QUALIFY row_number() OVER (PARTITION BY q, gk ORDER BY n DESC, category) = 1;

CREATE OR REPLACE TEMP TABLE q_category_by_country AS
SELECT gk AS country, category, n AS category_count, row_number() OVER (ORDER BY gk) AS pos
FROM popular WHERE q = 'country';

CREATE OR REPLACE TEMP TABLE q_category_by_year AS
SELECT gk::BIGINT AS post_year, category, n AS category_count, row_number() OVER (ORDER BY gk::BIGINT) AS pos
FROM popular WHERE q = 'year';

-- Per country the highest follower_count, then the smallest poster_name with it (two aggregates:
-- cheaper than a window over all posts).
CREATE OR REPLACE TEMP TABLE top_user AS
WITH p AS (
  SELECT country, poster_name, follower_count FROM posts
  WHERE country IS NOT NULL AND poster_name IS NOT NULL AND follower_count IS NOT NULL
), m AS (
  SELECT country, max(follower_count) AS follower_count FROM p GROUP BY country
)
SELECT country, min(poster_name) AS poster_name, follower_count
FROM p JOIN m USING (country, follower_count)
GROUP BY country, follower_count;

CREATE OR REPLACE TEMP TABLE q_top_user_by_country AS
SELECT country, poster_name, follower_count, row_number() OVER (ORDER BY country) AS pos FROM top_user;

CREATE OR REPLACE TEMP TABLE q_top_country_by_followers AS
SELECT country, follower_count, 1 AS pos FROM top_user ORDER BY follower_count DESC, country LIMIT 1;

CREATE OR REPLACE TEMP TABLE q_category_by_age_group AS
SELECT gk AS age_group, category, n AS category_count, row_number() OVER (ORDER BY gk) AS pos
FROM popular WHERE q = 'age';

CREATE OR REPLACE TEMP TABLE q_median_followers_by_age_group AS
SELECT age_group,
       median_text(quantile_disc(follower_count, 0.5), -quantile_disc(-follower_count::HUGEINT, 0.5))
         AS median_follower_count,
       row_number() OVER (ORDER BY age_group) AS pos
FROM posts WHERE age_group IS NOT NULL AND follower_count IS NOT NULL
GROUP BY age_group;

CREATE OR REPLACE TEMP TABLE q_users_joined_by_year AS
SELECT join_year AS post_year, count(DISTINCT (user_name, date_joined)) AS number_users_joined,
       row_number() OVER (ORDER BY join_year) AS pos
FROM posts WHERE join_year BETWEEN 2015 AND 2020 AND user_name IS NOT NULL
GROUP BY join_year;

CREATE OR REPLACE TEMP TABLE q_median_followers_by_join_year AS
SELECT join_year AS post_year,
       median_text(quantile_disc(follower_count, 0.5), -quantile_disc(-follower_count::HUGEINT, 0.5))
         AS median_follower_count,
       row_number() OVER (ORDER BY join_year) AS pos
FROM posts WHERE join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL
GROUP BY join_year;

CREATE OR REPLACE TEMP TABLE q_median_followers_by_age_group_and_join_year AS
SELECT age_group, join_year AS post_year,
       median_text(quantile_disc(follower_count, 0.5), -quantile_disc(-follower_count::HUGEINT, 0.5))
         AS median_follower_count,
       row_number() OVER (ORDER BY age_group, join_year) AS pos
FROM posts WHERE age_group IS NOT NULL AND join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL
GROUP BY age_group, join_year;

-- Counts that tests/oracle/compare.mjs checks against pinpipe's "input": joined posts and, per
-- topic, duplicates (valid records that lost to an earlier one with the same key).
CREATE OR REPLACE TEMP TABLE input_counts AS
SELECT 'posts' AS what, NULL AS kind, count(*) FILTER (WHERE n_pin > 0 AND n_geo > 0 AND n_user > 0) AS n
FROM winners
UNION ALL SELECT 'duplicates', 'pin', sum(n_pin - 1) FILTER (WHERE n_pin > 0) FROM winners
UNION ALL SELECT 'duplicates', 'geo', sum(n_geo - 1) FILTER (WHERE n_geo > 0) FROM winners
UNION ALL SELECT 'duplicates', 'user', sum(n_user - 1) FILTER (WHERE n_user > 0) FROM winners;
