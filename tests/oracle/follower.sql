-- follower_count string form, shared DuckDB macros: fc_int, fc_frac, fc_n, fc_value, follower_str.
-- Used by tests/oracle/oracle.mjs (run before spec.sql) and bench/duckdb_job.mjs (run before
-- bench/duckdb_job.sql); only builtins inside, so it needs nothing defined before it.
--
-- ^ *[0-9]+(\.[0-9]+)? *[kKmMbB]? *$, number x 10^(0|3|6|9), truncated toward zero, exact: integer
-- part x 10^n + the first n fraction digits (right-padded with zeros), in HUGEINT (an integer part
-- over 19 digits is out of range anyway). follower_str(s) -> BIGINT, NULL when not that form or over
-- int64.
CREATE OR REPLACE TEMP MACRO fc_int(s) AS ltrim(regexp_extract(s, '^ *([0-9]+)', 1), '0');
CREATE OR REPLACE TEMP MACRO fc_frac(s) AS regexp_extract(s, '\.([0-9]+)', 1);
CREATE OR REPLACE TEMP MACRO fc_n(s) AS
  CASE lower(regexp_extract(s, '([kKmMbB]) *$', 1)) WHEN 'k' THEN 3 WHEN 'm' THEN 6 WHEN 'b' THEN 9 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO fc_value(s) AS
  CASE WHEN length(fc_int(s)) <= 19 THEN
    coalesce(try_cast(nullif(fc_int(s), '') AS HUGEINT), 0)
      * CASE fc_n(s) WHEN 3 THEN 1000::HUGEINT WHEN 6 THEN 1000000::HUGEINT WHEN 9 THEN 1000000000::HUGEINT
                     ELSE 1::HUGEINT END
      + CASE WHEN fc_n(s) = 0 THEN 0::HUGEINT
             ELSE try_cast(rpad(left(fc_frac(s), fc_n(s)), fc_n(s), '0') AS HUGEINT) END
  END;
CREATE OR REPLACE TEMP MACRO follower_str(s) AS
  CASE WHEN regexp_full_match(s, ' *[0-9]+(\.[0-9]+)? *[kKmMbB]? *')
       AND fc_value(s) <= 9223372036854775807 THEN fc_value(s)::BIGINT END;
