-- pinpipe oracle: cleaning, rejects, dedup, join and the nine queries of SPEC 5, in DuckDB SQL,
-- following docs/semantics.md to the letter.
--
-- Input (filled by oracle.mjs from the lake, one row per record):
--   raw(kind VARCHAR      -- 'pin' | 'geo' | 'user'
--       obj BIGINT        -- object number in the listing (tie-break only)
--       part BIGINT       -- partition, from the object's file name
--       start_off BIGINT  -- object start offset, from the file name
--       idx BIGINT        -- line index in the object (record offset = start_off + idx)
--       line VARCHAR      -- the record text; NULL when not UTF-8 or too large
--       utf8_ok BOOLEAN   -- the bytes are valid UTF-8
--       nbytes BIGINT)    -- record length in bytes (without the '\n')
--
-- Output tables: q_<query name> (columns named and ordered as in SPEC 5, all VARCHAR: oracle.mjs
-- prints the numeric columns as JSON numbers; plus pos, the row order), q_order(name, pos) and
-- input_counts(what, kind, reason, n).
--
-- DuckDB quirks handled here (DuckDB 1.5, JSON extension = yyjson with lenient flags):
--   * json_valid() accepts trailing commas ([1,] {"a":1,}) and NaN / Infinity / inf literals:
--     strict_json() rejects them after blanking out the string literals.
--   * json_type() says UBIGINT for every positive integer (even 5) and DOUBLE for integers beyond
--     uint64 or int64 min: int64 range is checked on the integer text.
--   * duplicate object keys: json_extract() returns the FIRST occurrence (checked), as the rules want.
--   * a JSON value that is null comes back as the JSON text 'null' (json_type 'NULL'), a missing
--     one as SQL NULL: both are handled explicitly.
--   * median() of BIGINT is computed in DOUBLE (inexact above 2^53): medians are computed exactly
--     from the two middle values in HUGEINT instead.
--   * VARCHAR comparison (ORDER BY, min) is byte order (no collation is set), as the rules want.

-- ---------------------------------------------------------------------------------------------
-- Helpers

-- One strict RFC 8259 JSON value: yyjson's validity, minus its extensions (trailing commas,
-- NaN/Infinity). After string literals and true/false/null are replaced by 0, a strict document has
-- no letter other than e/E (exponents) and no ',' before ']' or '}'.
CREATE OR REPLACE TEMP MACRO strict_json(s) AS
  json_valid(s) AND NOT regexp_matches(
    regexp_replace(regexp_replace(s, '"([^"\\]|\\.)*"', '0', 'g'), 'true|false|null', '0', 'g'),
    '[A-DF-Za-df-z]|,[ \t\n\r]*[\]}]');

-- Text of an integer in int64 range -> BIGINT; anything else -> NULL.
CREATE OR REPLACE TEMP MACRO int64_of_text(t) AS
  CASE WHEN try_cast(t AS HUGEINT) BETWEEN -9223372036854775808 AND 9223372036854775807
       THEN try_cast(t AS BIGINT) END;

-- A JSON integer in int64 range, or a JSON string of ASCII digits in int64 range -> BIGINT, else NULL.
-- (Used for keys and age. Digits may have leading zeros: strip them before the range check.)
CREATE OR REPLACE TEMP MACRO int_field(j, p) AS
  CASE json_type(j, p)
    WHEN 'BIGINT' THEN int64_of_text(json_extract(j, p)::VARCHAR)
    WHEN 'UBIGINT' THEN int64_of_text(json_extract(j, p)::VARCHAR)
    WHEN 'VARCHAR' THEN
      CASE WHEN regexp_full_match(json_extract_string(j, p), '[0-9]+')
           THEN CASE WHEN ltrim(json_extract_string(j, p), '0') = '' THEN 0::BIGINT
                     WHEN length(ltrim(json_extract_string(j, p), '0')) <= 19
                     THEN int64_of_text(ltrim(json_extract_string(j, p), '0')) END
      END
  END;

-- A text column: a JSON string, else NULL; the empty string is NULL.
CREATE OR REPLACE TEMP MACRO text_field(j, p) AS
  CASE WHEN json_type(j, p) = 'VARCHAR' THEN nullif(json_extract_string(j, p), '') END;

-- follower_str (and fc_int, fc_frac, fc_n, fc_value) come from tests/oracle/follower.sql.

CREATE OR REPLACE TEMP MACRO follower_field(j, p) AS
  CASE json_type(j, p)
    WHEN 'BIGINT' THEN int64_of_text(json_extract(j, p)::VARCHAR)
    WHEN 'UBIGINT' THEN int64_of_text(json_extract(j, p)::VARCHAR)
    WHEN 'VARCHAR' THEN follower_str(json_extract_string(j, p))
  END;

-- Timestamp string -> TIMESTAMP in UTC, or NULL.
-- DATE SEP TIME [.FRACTION] [ZONE]; DATE YYYY-MM-DD (SEP ' ' or 'T') or YYYY:MM:DD (SEP ' ');
-- TIME HH:MM:SS; ZONE Z | +HH:MM | -HH:MM. Fraction truncated; offset subtracted.
CREATE OR REPLACE TEMP MACRO days_in_month(y, m) AS
  CASE WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
       WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END;

CREATE OR REPLACE TEMP MACRO ts_shape(s) AS
  regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?')
  OR regexp_full_match(s, '[0-9]{4}:[0-9]{2}:[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?');
CREATE OR REPLACE TEMP MACRO ts_num(s, pos) AS try_cast(substr(s, pos, 2) AS INTEGER);
CREATE OR REPLACE TEMP MACRO ts_year(s) AS try_cast(substr(s, 1, 4) AS INTEGER);
-- zone offset in minutes (0 for none or Z)
CREATE OR REPLACE TEMP MACRO ts_zh(s) AS coalesce(try_cast(regexp_extract(s, '[+-]([0-9]{2}):[0-9]{2}$', 1) AS INTEGER), 0);
CREATE OR REPLACE TEMP MACRO ts_zm(s) AS coalesce(try_cast(regexp_extract(s, '[+-][0-9]{2}:([0-9]{2})$', 1) AS INTEGER), 0);
CREATE OR REPLACE TEMP MACRO ts_valid(s) AS
  ts_shape(s)
  AND ts_year(s) BETWEEN 1 AND 9999 AND ts_num(s, 6) BETWEEN 1 AND 12
  AND ts_num(s, 9) BETWEEN 1 AND days_in_month(ts_year(s), ts_num(s, 6))
  AND ts_num(s, 12) <= 23 AND ts_num(s, 15) <= 59 AND ts_num(s, 18) <= 59
  AND ts_zh(s) <= 23 AND ts_zm(s) <= 59;
CREATE OR REPLACE TEMP MACRO ts_parse(s) AS
  make_timestamp(CASE WHEN ts_valid(s) THEN ts_year(s) END, ts_num(s, 6), ts_num(s, 9),
                 ts_num(s, 12), ts_num(s, 15), ts_num(s, 18)::DOUBLE)
  - to_minutes(CASE WHEN regexp_matches(s, '-[0-9]{2}:[0-9]{2}$') THEN -1 ELSE 1 END
               * (ts_zh(s) * 60 + ts_zm(s)));

CREATE OR REPLACE TEMP MACRO ts_field(j, p) AS
  CASE WHEN json_type(j, p) = 'VARCHAR' THEN ts_parse(json_extract_string(j, p)) END;

-- ---------------------------------------------------------------------------------------------
-- Rejects: checks in order too_large, invalid_utf8, invalid_json, not_object, missing_key, bad_key.

CREATE OR REPLACE TEMP TABLE rec AS
WITH r AS (
  SELECT *, CASE kind WHEN 'pin' THEN '$."index"' ELSE '$."ind"' END AS keypath
  FROM raw
), c AS (
  SELECT *,
    CASE WHEN nbytes > 1048576 THEN 'too_large'
         WHEN NOT utf8_ok THEN 'invalid_utf8'
         WHEN NOT strict_json(line) THEN 'invalid_json'
         WHEN json_type(line) <> 'OBJECT' THEN 'not_object'
    END AS reason0
  FROM r
)
SELECT kind, obj, part, start_off, idx, line, keypath,
  CASE WHEN reason0 IS NOT NULL THEN reason0
       WHEN coalesce(json_type(line, keypath), 'NULL') = 'NULL' THEN 'missing_key'
       WHEN int_field(line, keypath) IS NULL THEN 'bad_key'
  END AS reason,
  CASE WHEN reason0 IS NULL THEN int_field(line, keypath) END AS key
FROM c;

-- Dedup: within a topic the first valid record with a key wins, in (partition, start offset, line)
-- order (obj only breaks ties between two objects with the same partition and start offset).
CREATE OR REPLACE TEMP TABLE ranked AS
SELECT kind, key, line,
       row_number() OVER (PARTITION BY kind, key ORDER BY part, start_off, idx, obj) AS rn
FROM rec WHERE reason IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Cleaned winners (only the columns the queries use, plus the rest for documentation).

CREATE OR REPLACE TEMP TABLE pin AS
SELECT key AS ind,
       text_field(line, '$."unique_id"') AS unique_id,
       CASE WHEN text_field(line, '$."title"') = 'No Title Data Available' THEN NULL
            ELSE text_field(line, '$."title"') END AS title,
       CASE WHEN text_field(line, '$."description"') IN ('No description available Story format',
                                                       'No description available') THEN NULL
            ELSE text_field(line, '$."description"') END AS description,
       follower_field(line, '$."follower_count"') AS follower_count,
       CASE WHEN text_field(line, '$."poster_name"') = 'User Info Error' THEN NULL
            ELSE text_field(line, '$."poster_name"') END AS poster_name,
       CASE WHEN text_field(line, '$."tag_list"') = 'N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e' THEN NULL
            ELSE text_field(line, '$."tag_list"') END AS tag_list,
       text_field(line, '$."is_image_or_video"') AS is_image_or_video,
       CASE WHEN text_field(line, '$."image_src"') = 'Image src error.' THEN NULL
            ELSE text_field(line, '$."image_src"') END AS image_src,
       nullif(CASE WHEN starts_with(text_field(line, '$."save_location"'), 'Local save in ')
                   THEN substr(text_field(line, '$."save_location"'), 15)
                   ELSE text_field(line, '$."save_location"') END, '') AS save_location,
       text_field(line, '$."category"') AS category
FROM ranked WHERE kind = 'pin' AND rn = 1;

CREATE OR REPLACE TEMP TABLE geo AS
SELECT key AS ind,
       text_field(line, '$."country"') AS country,
       ts_field(line, '$."timestamp"') AS "timestamp"
FROM ranked WHERE kind = 'geo' AND rn = 1;

CREATE OR REPLACE TEMP TABLE usr AS
WITH u AS (
  SELECT key AS ind,
         text_field(line, '$."first_name"') AS first_name,
         text_field(line, '$."last_name"') AS last_name,
         int_field(line, '$."age"') AS age,
         ts_field(line, '$."date_joined"') AS date_joined
  FROM ranked WHERE kind = 'user' AND rn = 1
)
SELECT ind,
       CASE WHEN first_name IS NULL THEN last_name
            WHEN last_name IS NULL THEN first_name
            ELSE first_name || ' ' || last_name END AS user_name,
       age, date_joined
FROM u;

-- Joined posts (inner join on the key), with the derived group keys.
CREATE OR REPLACE TEMP TABLE posts AS
SELECT p.ind, g.country, p.category, p.poster_name, p.follower_count,
       year(g."timestamp") AS post_year,
       u.user_name, u.date_joined, year(u.date_joined) AS join_year,
       CASE WHEN u.age BETWEEN 18 AND 24 THEN '18-24'
            WHEN u.age BETWEEN 25 AND 35 THEN '25-35'
            WHEN u.age BETWEEN 36 AND 50 THEN '36-50'
            WHEN u.age >= 51 THEN '+50' END AS age_group
FROM pin p JOIN geo g ON g.ind = p.ind JOIN usr u ON u.ind = p.ind;

-- ---------------------------------------------------------------------------------------------
-- Most popular category per group: highest count, ties to the smaller category (byte order).

CREATE OR REPLACE TEMP TABLE popular AS
WITH g AS (
  SELECT 'country' AS q, country AS gk, category FROM posts WHERE country IS NOT NULL AND category IS NOT NULL
  UNION ALL
  SELECT 'year', post_year::VARCHAR, category FROM posts
    WHERE post_year BETWEEN 2018 AND 2022 AND category IS NOT NULL
  UNION ALL
  SELECT 'age', age_group, category FROM posts WHERE age_group IS NOT NULL AND category IS NOT NULL
), c AS (
  SELECT q, gk, category, count(*) AS n FROM g GROUP BY ALL
)
SELECT q, gk, category, n FROM (
  SELECT *, row_number() OVER (PARTITION BY q, gk ORDER BY n DESC, category) AS rn FROM c
) WHERE rn = 1;

-- Exact medians per group: the two middle values summed in HUGEINT (s = 2 x median).
CREATE OR REPLACE TEMP TABLE medians AS
WITH g AS (
  SELECT 'age' AS q, age_group AS g1, NULL::BIGINT AS g2, follower_count AS x FROM posts
    WHERE age_group IS NOT NULL AND follower_count IS NOT NULL
  UNION ALL
  SELECT 'join', NULL, join_year, follower_count FROM posts
    WHERE join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL
  UNION ALL
  SELECT 'age_join', age_group, join_year, follower_count FROM posts
    WHERE age_group IS NOT NULL AND join_year BETWEEN 2015 AND 2020 AND follower_count IS NOT NULL
), o AS (
  SELECT q, g1, g2, x,
         row_number() OVER (PARTITION BY q, g1, g2 ORDER BY x) AS rn,
         count(*) OVER (PARTITION BY q, g1, g2) AS n
  FROM g
), s AS (
  SELECT q, g1, g2,
         sum(x::HUGEINT) FILTER (WHERE rn = (n + 1) // 2) + sum(x::HUGEINT) FILTER (WHERE rn = n // 2 + 1) AS s
  FROM o GROUP BY q, g1, g2
)
SELECT q, g1, g2,
       CASE WHEN s % 2 = 0 THEN (s // 2)::VARCHAR
            ELSE CASE WHEN s < 0 THEN '-' ELSE '' END || (abs(s) // 2)::VARCHAR || '.5' END AS median
FROM s;

-- ---------------------------------------------------------------------------------------------
-- The nine queries (SPEC 5 order), all columns as VARCHAR text.

-- Each q_ table has a last column pos (row order); oracle.mjs reads ORDER BY pos and drops it.
-- (Sort keys are the typed source columns: ordering by the VARCHAR output columns would sort
-- numbers as text.)

CREATE OR REPLACE TEMP TABLE q_category_by_country AS
SELECT gk AS country, category, n::VARCHAR AS category_count, row_number() OVER (ORDER BY gk) AS pos
FROM popular WHERE q = 'country';

CREATE OR REPLACE TEMP TABLE q_category_by_year AS
SELECT gk AS post_year, category, n::VARCHAR AS category_count, row_number() OVER (ORDER BY gk::INTEGER) AS pos
FROM popular WHERE q = 'year';

CREATE OR REPLACE TEMP TABLE top_user AS
SELECT country, poster_name, follower_count FROM (
  SELECT country, poster_name, follower_count,
         row_number() OVER (PARTITION BY country ORDER BY follower_count DESC, poster_name) AS rn
  FROM posts
  WHERE country IS NOT NULL AND poster_name IS NOT NULL AND follower_count IS NOT NULL
) WHERE rn = 1;

CREATE OR REPLACE TEMP TABLE q_top_user_by_country AS
SELECT country, poster_name, follower_count::VARCHAR AS follower_count, row_number() OVER (ORDER BY country) AS pos
FROM top_user;

CREATE OR REPLACE TEMP TABLE q_top_country_by_followers AS
SELECT t.country, t.follower_count::VARCHAR AS follower_count, 1 AS pos
FROM top_user t ORDER BY t.follower_count DESC, t.country LIMIT 1;

CREATE OR REPLACE TEMP TABLE q_category_by_age_group AS
SELECT gk AS age_group, category, n::VARCHAR AS category_count, row_number() OVER (ORDER BY gk) AS pos
FROM popular WHERE q = 'age';

CREATE OR REPLACE TEMP TABLE q_median_followers_by_age_group AS
SELECT g1 AS age_group, median AS median_follower_count, row_number() OVER (ORDER BY g1) AS pos
FROM medians WHERE q = 'age';

CREATE OR REPLACE TEMP TABLE q_users_joined_by_year AS
SELECT join_year::VARCHAR AS post_year, count(DISTINCT (user_name, date_joined))::VARCHAR AS number_users_joined,
       row_number() OVER (ORDER BY join_year) AS pos
FROM posts
WHERE join_year BETWEEN 2015 AND 2020 AND user_name IS NOT NULL
GROUP BY join_year;

CREATE OR REPLACE TEMP TABLE q_median_followers_by_join_year AS
SELECT g2::VARCHAR AS post_year, median AS median_follower_count, row_number() OVER (ORDER BY g2) AS pos
FROM medians WHERE q = 'join';

CREATE OR REPLACE TEMP TABLE q_median_followers_by_age_group_and_join_year AS
SELECT g1 AS age_group, g2::VARCHAR AS post_year, median AS median_follower_count,
       row_number() OVER (ORDER BY g1, g2) AS pos
FROM medians WHERE q = 'age_join';

CREATE OR REPLACE TEMP TABLE q_order AS
SELECT * FROM (VALUES
  ('category_by_country', 1), ('category_by_year', 2), ('top_user_by_country', 3),
  ('top_country_by_followers', 4), ('category_by_age_group', 5), ('median_followers_by_age_group', 6),
  ('users_joined_by_year', 7), ('median_followers_by_join_year', 8),
  ('median_followers_by_age_group_and_join_year', 9)
) t(name, pos);

-- ---------------------------------------------------------------------------------------------
-- Input counts: records, rejected by reason, duplicates, posts, orphans (per topic kind).

CREATE OR REPLACE TEMP TABLE input_counts AS
WITH winners AS (
  SELECT kind, key FROM ranked WHERE rn = 1
), complete AS (
  SELECT key FROM winners GROUP BY key HAVING count(DISTINCT kind) = 3
)
SELECT 'records' AS what, kind, NULL AS reason, count(*) AS n FROM raw GROUP BY kind
UNION ALL
SELECT 'rejected', kind, reason, count(*) FROM rec WHERE reason IS NOT NULL GROUP BY kind, reason
UNION ALL
SELECT 'duplicates', kind, NULL, count(*) FROM ranked WHERE rn > 1 GROUP BY kind
UNION ALL
SELECT 'posts', NULL, NULL, (SELECT count(*) FROM posts)
UNION ALL
SELECT 'orphans', kind, NULL, count(*) FROM winners WHERE key NOT IN (SELECT key FROM complete) GROUP BY kind;
