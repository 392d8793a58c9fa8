#!/usr/bin/env bash
# Generates tests/data/edge_lake/: a small hand-made lake (topic prefix "edge") that exercises every
# rule of docs/semantics.md that changes one of the nine answers or the input counts.
# What each part tests and the expected answers (derived by hand) are in tests/data/README.md;
# tests/oracle/check_edge.mjs checks the oracle against them.
#
# Usage: bash tests/data/make_edge_lake.sh      (needs bash, coreutils and the zstd CLI)
#
# Record blocks (key ranges):
#   1..23     main posts (countries, categories, ties, ages, medians, dedup, duplicate fields)
#   201..250  follower_count forms, one post each, country "Fnn" (top_user_by_country shows the value)
#   301..350  geo timestamp forms, one post each, category "ts" (category_by_year counts them)
#   401..426  date_joined / user_name forms (users_joined_by_year counts them)
#   900.. and a few more: orphans, size limits, extreme keys; rejects use keys 950..990 or none.
# Start offsets are assigned in writing order per (topic, partition): each object starts where the
# previous object of that partition ended.
set -euo pipefail
shopt -s lastpipe  # "... | obj" runs obj in this shell, so NEXT keeps its updates
cd "$(dirname "$0")"
OUT=edge_lake
rm -rf "$OUT"
mkdir -p "$OUT"
T=$OUT/topics
declare -A NEXT

# obj TOPIC PARTITION SUBDIR EXT < content
#   writes stdin as the object <SUBDIR>/<TOPIC>+<PARTITION>+<start, 10 digits>.json[.zst]
#   EXT is "json" or "zst"; the start offset is the partition's next offset.
obj() {
  local topic=$1 part=$2 sub=$3 ext=$4
  local start=${NEXT[$topic/$part]:-0}
  local dir=$T/$topic/$sub
  mkdir -p "$dir"
  local file
  file=$dir/$(printf '%s+%s+%010d.json' "$topic" "$part" "$start")
  cat >"$file"
  local n
  n=$(tr -dc '\n' <"$file" | wc -c)
  if [ -s "$file" ] && [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" != '\n' ]; then n=$((n + 1)); fi
  NEXT[$topic/$part]=$((start + n))
  if [ "$ext" = zst ]; then zstd -q -f --rm "$file"; fi
}

# big KEYFIELD KEY TOTAL_BYTES [TAIL]: a JSON object of exactly TOTAL_BYTES bytes, no newline;
# TAIL (printf format) is inserted just before the closing quote.
big() {
  local pre="{\"$1\": $2, \"title\": \"" post='"}' tail=${4:-}
  local tail_len
  tail_len=$(printf "$tail" | wc -c)
  local n=$(($3 - ${#pre} - ${#post} - tail_len))
  printf '%s' "$pre"
  head -c "$n" /dev/zero | tr '\0' x
  printf "$tail"
  printf '%s' "$post"
}

# ---------------------------------------------------------------------------------------------
# Blocks generated from lists (the lists are the documentation: see README.md for expectations).

# follower_count values, JSON literals, for keys 201.. (country F01..F50); MISSING = no field
FOLLOWERS=(
  '"79k"' '"2M"' '"1.5k"' '"1.2345k"' '" 12 k "' '"3B"' '"1,000"' '"-5"' '1500.0' '437'
  '-20' '"437"' '"User Info Error"' '""' '"9223372036854775806"' '"9223372036854775808"'
  '9223372036854775808' '"0.9999k"' '"1.5 m"' '"007"' '"1.k"' '"k"' '"1e3"' '"5\t"' '"1.5kk"'
  'true' '"9223372036854775.806k"' '"9223372036854775.808k"' '"0.000000001b"' '"0.0000000009b"'
  '"  12K"' '"1.9999999999m"' '" "' '"1 000"' '"\u0031\u0032k"' '1e3' '"+5"' '"１２"'
  '"12\u00a0k"' '"01.50k"' '"1.5M"' '"2.5B"' 'null' '"9999999999b"' '-9223372036854775808' '"0"'
  '"12.5"' '".5k"' '"5."' 'MISSING'
)
# geo timestamp values, JSON literals, for keys 301..350
TIMESTAMPS=(
  '"2018-01-01T00:00:00"' '"2018-01-01 00:00:00Z"' '"2019:01:01 00:30:00+01:00"'
  '"2017-12-31T23:30:00-01:00"' '"2022-12-31 23:59:59.999999999"' '"2023-01-01T00:00:00.5+00:30"'
  '"2018-01-01 00:00:00+00:01"' '"2022:12:31 23:00:00-01:00"' '"2018:06:06T06:06:06"'
  '"2019-02-29 00:00:00"' '"1900-02-29 00:00:00"' '"2000-02-29 00:00:00"' '"2021-04-31 00:00:00"'
  '"2021-00-10 00:00:00"' '"2021-01-00 00:00:00"' '"2021-01-01 23:60:00"' '"2021-01-01 23:00:60"'
  '"2021-01-01 00:00:00+24:00"' '"2021-01-01 00:00:00+05:60"' '"2021-01-01 00:00:00+0100"'
  '"2021-01-01 00:00:00z"' '"2021-01-01t00:00:00"' '" 2021-01-01 00:00:00"' '"2021-01-01 00:00:00 "'
  '"2021-01-01 00:00:00."' '"2021-1-01 00:00:00"' '"0000-06-01 00:00:00"' '1609459200'
  '"2021-06-01 00:00"' '"2020-02-29T23:59:59.999+23:59"' '"2021-12-31 00:01:00-23:59"'
  '"2021-06-15 12:00:00"' '"2020-01-01 00:00:00+01:00"' '"2021-01-01 00:00:00 +01:00"'
  '"2021-01-01  00:00:00"' '"2021-01-01 00:00:00-00:00"' '"2020-07-01 00:00:00"'
  '"2019-06-01 00:00:00"' '"2021-02-29 00:00:00"' '"2021-01-01 00:00:00+01"'
  '"2021-01-01T00:00:00.000000000000000000001Z"' '"2021-01-01 12:00:00.5.5"'
  '"2021-06-01T12:00:00+00:00"' '"2021-06-31 00:00:00"' '"2021-01-32 00:00:00"'
  '"2021-01-01 -1:00:00"' '"２０２１-01-01 00:00:00"' '"2021/01/01 00:00:00"'
  '"2021:01:01T00:00:00Z"' '"2021:01:01 00:00:00Z"'
)
# user records for keys 401..426 (the fields after "ind")
JOINED=(
  '"first_name": "J1", "date_joined": "2015-01-01 00:00:00"'
  '"first_name": "J1", "date_joined": "2015-01-01 00:00:00"'
  '"first_name": "J1", "date_joined": "2015-01-01T00:00:00"'
  '"first_name": "J1", "date_joined": "2015-01-01 01:00:00+01:00"'
  '"first_name": "J1", "date_joined": "2015-01-01 00:00:00.7"'
  '"first_name": "J1", "date_joined": "2015-06-01 00:00:00"'
  '"first_name": "J7", "last_name": "Smith", "date_joined": "2016-01-01 00:00:00"'
  '"first_name": "J7 Smith", "last_name": null, "date_joined": "2016-01-01 00:00:00"'
  '"first_name": null, "last_name": null, "date_joined": "2016-06-06 00:00:00"'
  '"first_name": "", "last_name": "", "date_joined": "2016-06-06 00:00:00"'
  '"first_name": "User Info Error", "date_joined": "2017-01-01 00:00:00"'
  '"first_name": 5, "last_name": "Num", "date_joined": "2017-01-01 00:00:00"'
  '"first_name": "J13", "date_joined": "2014-12-31 23:59:59.999"'
  '"first_name": "J14", "date_joined": "2021-01-01 00:30:00+01:00"'
  '"first_name": "J15", "date_joined": "2020-12-31T23:30:00-00:30"'
  '"first_name": "J16", "date_joined": "2019:05:05 05:05:05"'
  '"first_name": "J17", "date_joined": "2019-02-29 05:05:05"'
  '"first_name": "J18", "date_joined": "2018-06-31 00:00:00"'
  '"first_name": "J19", "date_joined": 2018'
  '"first_name": "j20 \u00fcn\u00efcode", "date_joined": "2018-02-28 23:59:59Z"'
  '"first_name": "Ann ", "last_name": "Lee", "date_joined": "2019-01-01 00:00:00"'
  '"first_name": "Ann", "last_name": "Lee", "date_joined": "2019-01-01 00:00:00"'
  '"first_name": "J1", "date_joined": "2015-01-01 00:00:01"'
  '"first_name": "Åsa", "last_name": "Berg", "date_joined": "2020-05-05 00:00:00"'
  '"first_name": "\u00c5sa", "last_name": "Berg", "date_joined": "2020-05-05T00:00:00Z"'
  '"first_name": "J26", "last_name": "NoDate"'
)

f_pin() { for i in "${!FOLLOWERS[@]}"; do
  local v=${FOLLOWERS[$i]}
  if [ "$v" = MISSING ]; then echo "{\"index\": $((201 + i)), \"poster_name\": \"p\"}"
  else echo "{\"index\": $((201 + i)), \"poster_name\": \"p\", \"follower_count\": $v}"; fi
done; }
f_geo() { # country Fnn for posts $1..$2 (1-based)
  for i in $(seq "$1" "$2"); do printf '{"ind": %d, "country": "F%02d"}\n' $((200 + i)) "$i"; done; }
f_user() { for i in "${!FOLLOWERS[@]}"; do echo "{\"ind\": $((201 + i))}"; done; }
t_pin() { for i in $(seq "$1" "$2"); do echo "{\"index\": $((300 + i)), \"category\": \"ts\"}"; done; }
t_geo() { for i in "${!TIMESTAMPS[@]}"; do
  if [ $((i % 2)) = 0 ]; then echo "{\"ind\": $((301 + i)), \"timestamp\": ${TIMESTAMPS[$i]}}"
  else echo "{\"ind\": $((301 + i)), \"country\": null, \"timestamp\": ${TIMESTAMPS[$i]}}"; fi
done; }
t_user() { for i in "${!TIMESTAMPS[@]}"; do echo "{\"ind\": $((301 + i))}"; done; }
j_pin() { for i in "${!JOINED[@]}"; do echo "{\"index\": $((401 + i))}"; done; }
j_geo() { for i in "${!JOINED[@]}"; do echo "{\"ind\": $((401 + i))}"; done; }
j_user() { for i in $(seq "$1" "$2"); do echo "{\"ind\": $((400 + i)), ${JOINED[$((i - 1))]}}"; done; }

# ---------------------------------------------------------------------------------------------
# edge.pin

obj edge.pin 0 partition=0 json <<'EOF'
{"index": 1, "unique_id": "00000000-0000-4000-8000-000000000001", "title": "No Title Data Available", "description": "No description available Story format", "poster_name": "Bored Panda", "follower_count": "79k", "tag_list": "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e", "is_image_or_video": "image", "image_src": "Image src error.", "downloaded": 0, "save_location": "Local save in /data/art", "category": "art"}
{"category": "art", "index": 2, "poster_name": "iHeartDogs", "description": "No description available", "save_location": "Local save in ", "follower_count": "2M"}
EOF

# A TimeBasedPartitioner-style path holding offsets 2..4 of partition 0: its path sorts after
# partition=0/, but its records come before those of the next object (+5), which holds k5's loser.
obj edge.pin 0 year=2021/month=03 json <<'EOF'
{"index": 3, "category": "beauty", "poster_name": "Big Poster", "follower_count": 9223372036854775806}
{"index": 4, "category": "beauty", "poster_name": "Huge", "follower_count": "9999999999b"}
{"index": 5, "category": "diy", "poster_name": "User Info Error", "follower_count": "3B"}
EOF

# Offsets 5..34: main pins, k5's duplicate (loser), rejects (incl. an empty line in the middle).
obj edge.pin 0 partition=0 zst <<'EOF'
{"index": 5, "category": "travel", "poster_name": "Loser", "follower_count": "4B"}
{"index": "6", "category": "diy", "poster_name": "Crafty", "follower_count": "1.501k"}
{"index": 7, "category": "travel", "poster_name": "Wanderer", "follower_count": "1.2345k"}
{"index": 8, "category": "art", "poster_name": "Mr. \"Q\" & Co (Ltd)", "follower_count": " 12 k "}
{"index": 950, "title": "unterminated}
{"index": 9, "category": "art", "poster_name": "Zed", "follower_count": "1,000"}
{"index": 10, "category": "beauty", "poster_name": "alpha", "follower_count": "12 K"}

{"index": 11, "category": "Zeta", "poster_name": "Zeta", "follower_count": "9223372036854775807"}
{"index": 12, "category": "alpha", "poster_name": "alpha", "follower_count": 9223372036854775807}
[1, 2, 3]
{"index": 13, "category": "travel", "poster_name": "\u00c5sa", "follower_count": 9223372036854775807}
{"index": 14, "category": "art", "poster_name": "Nobody", "follower_count": "437", "category": "beauty"}
{"index": 15, "category": "beauty", "poster_name": "Numbers", "follower_count": 437}
{"ind": 951, "category": "art"}
{"index": 12.0, "category": "art"}
{"index": 16, "category": 5, "poster_name": "Globe", "follower_count": "-5"}
{"index": 17, "category": "", "poster_name": "Planet", "follower_count": 1500.0}
{"index": 18, "category": "travel", "poster_name": "Orbit", "follower_count": "0.9999k"}
{"index": "12a"}
{"index": 9223372036854775808}
{"index": 19, "category": "beauty", "poster_name": "alpha", "follower_count": "1k"}
{"index": 20, "category": true, "poster_name": 123, "follower_count": "5M"}
{"index": -9223372036854775809}
{"index": "9223372036854775808"}
{"index": 952, "x": Infinity}
{"index": null}
{"index": 21, "poster_name": "User Info Error ", "follower_count": 10}
{"index": 22, "poster_name": "user info error", "follower_count": 10}
{"index": 23, "poster_name": "User Info Error", "follower_count": 99}
EOF

f_pin | obj edge.pin 0 partition=0 json          # 35..84
t_pin 1 25 | obj edge.pin 0 partition=0 zst      # 85..109
j_pin | obj edge.pin 0 partition=0 json          # 110..135
# a one-record object without trailing newline (orphan 900: pin + geo, no user)
printf '%s' '{"index": 900, "category": "art", "poster_name": "Orphan", "follower_count": 1}' |
  obj edge.pin 0 partition=0 json                # 136
# 1 MiB + 1 byte: too_large (key 903: its geo and user become orphans)
{ big index 903 1048577; echo; } | obj edge.pin 0 partition=0 zst   # 137
# exactly 1 MiB, no trailing newline: valid (key 904 is a post)
big index 904 1048576 | obj edge.pin 0 partition=0 zst              # 138
obj edge.pin 0 partition=0 json <<'EOF'
{"index": "9223372036854775807"}
{"index": -7}
EOF

# partition 1: k11's duplicate at offset 0 (loses to partition 0's record at a higher offset)
obj edge.pin 1 partition=1 json <<'EOF'
{"index": 11, "category": "alpha", "poster_name": "alpha", "follower_count": "1k"}
EOF
t_pin 26 50 | obj edge.pin 1 partition=1 zst     # 1..25

# ignored objects (names not <topic>+<p>+<offset>.json[.zst])
echo 'not a record' >"$T/edge.pin/partition=0/notes.txt"
echo '{"index": 1, "category": "WRONG"}' >"$T/edge.pin/partition=0/edge.pin+0+0000000099.json.tmp"

# ---------------------------------------------------------------------------------------------
# edge.geo

{
cat <<'EOF'
{"ind": 1, "timestamp": "2018-03-01 10:00:00", "latitude": -88.8298, "longitude": -170.188, "country": "Bosnia & Herzegovina"}
EOF
printf '{"ind": 960, "country": "Bad\xff"}\n'
cat <<'EOF'
{"ind": 2, "timestamp": "2018:06:15 10:00:00", "country": "Bosnia & Herzegovina", "latitude": "12.5", "longitude": null}
{"ind": 1, "timestamp": "2018-03-01 10:00:00", "country": "\u00c5land"}
{"ind": 3, "timestamp": "2019-01-01 00:30:00+01:00", "country": "Bosnia & Herzegovina"}
{"ind": 4, "timestamp": "2019-07-01T08:00:00Z", "country": "Bosnia & Herzegovina"}
EOF
printf '\xfe\xff garbage\n'
cat <<'EOF'
{"ind": 5, "timestamp": "2022-05-05 10:00:00.999999Z", "country": "C\u00f4te d'Ivoire"}
{"ind": 6, "timestamp": "2017-12-31 23:59:59.9999", "country": "C\u00f4te d'Ivoire"}
{"ind": 7, "timestamp": "2021-13-01 00:00:00", "country": "C\u00f4te d'Ivoire"}
{"ind": 8, "country": "Nowhere", "timestamp": "2022-01-01 00:00:00",}
EOF
printf '{"ind": 961, "country": "\xc0\x80"}\n'
cat <<'EOF'
{"ind": 8, "timestamp": "2023-01-01 00:30:00+01:00", "country": "The \"Quoted\" Isles (West)"}
{"ind": 9, "country": "Nowhere", "timestamp": "2022-01-01 00:00:00", "latitude": NaN}
{"ind": 9, "timestamp": "2019-02-29 00:00:00", "country": "The \"Quoted\" Isles (West)"}
{"ind": 10, "timestamp": "2020-01-01 24:00:00", "country": "The \"Quoted\" Isles (West)"}
EOF
printf '{"ind": 962, "country": "\xed\xa0\x80"}\n'
cat <<'EOF'
{"ind": 11, "timestamp": "2020-02-29 12:00:00", "country": "Zimbabwe"}
{"ind": 12, "timestamp": "2022-12-31T23:30:00-01:00", "country": "Zimbabwe"}
{"ind": 13, "timestamp": "2021-01-01 00:30:00+01:00", "country": "\u00c5land"}
{"ind": 963} extra
-Infinity
{"ind": 14, "timestamp": "2020-03-03 03:03:03", "country": ""}
{"ind": 15, "timestamp": "2020-04-04 04:04:04", "country": 42, "ind": "x"}
{"ind": 964, "latitude": [1, 2,]}
EOF
printf '\xef\xbb\xbf{"ind": 965}\n'
cat <<'EOF'
{"ind": 16, "timestamp": "2021-06-06 06:06:06", "country": "Earth \ud83c\udf0d"}
{"ind": 17, "timestamp": "2021-07-07T07:07:07", "country": "Earth 🌍"}
"just a string"
42
null
{"ind": 18, "timestamp": "2018-12-31 23:30:00-01:00", "country": "Earth \uD83C\uDF0D"}
{"ind": null, "country": "X"}
{"country": "Y"}
{"index": 970}
{"ind": 19}
{"ind": 20, "timestamp": 20210101, "country": "Nonstring"}
{"ind": true}
{"ind": "-7"}
{"ind": " 12"}
{"ind": 1e2}
{"ind": {}}
{"ind": []}
{"ind": 21, "country": "Placeholders"}
{"ind": 22, "country": "Placeholders"}
{"ind": 23, "country": "Placeholders"}
EOF
printf '{"ind": 966, "country": "tab\tinside"}\n'
cat <<'EOF'
{"ind": 967}{"ind": 968}
EOF
} | obj edge.geo 0 partition=0 zst                # 0..47

t_geo | obj edge.geo 0 partition=0 json          # 48..97
j_geo | obj edge.geo 0 partition=0 zst           # 98..123
{
printf '{"ind": 900, "country": "Orphan", "timestamp": "2020-01-01 00:00:00"}\r\n'   # CR is JSON whitespace
cat <<'EOF'
{"ind": 903, "country": "Orphan"}
{"ind": 904}
{"ind": 9223372036854775807}
{"ind": -7}
EOF
} | obj edge.geo 0 partition=0 json              # 124..128
# too large AND invalid UTF-8: too_large is checked first
{ big ind 990 2000000 '\xff'; echo; } | obj edge.geo 0 partition=0 zst   # 129

f_geo 1 5 | obj edge.geo 1 partition=1 json      # 0..4
# TimeBasedPartitioner-style path, partition 1 offsets 5..50; the last record duplicates key 201
{ f_geo 6 50; echo '{"ind": 201, "country": "F01 LOSER"}'; } |
  obj edge.geo 1 year=2021/month=03 json

echo '{"ind": 1, "country": "WRONG TOPIC"}' >"$T/edge.geo/partition=0/edge.pin+0+0000000500.json"

# ---------------------------------------------------------------------------------------------
# edge.user

obj edge.user 0 partition=0 json <<'EOF'
{"ind": 1, "first_name": "Adam", "last_name": "Acosta", "age": 18, "date_joined": "2015-01-01 00:30:00+01:00"}
{"ind": 2, "first_name": "Beth", "last_name": "Brown", "age": 24, "date_joined": "2015-01-01 00:30:00"}
{'ind': 1}
{"ind": 3, "first_name": "Carl", "last_name": "Cook", "age": 66, "date_joined": "2014-06-01 00:00:00"}
{"ind": 4, "first_name": "Dana", "last_name": "Diaz", "age": 25, "date_joined": "2016-05-05 05:05:05"}
{"ind": 5, "first_name": "Eve", "last_name": "Evans", "age": 35, "date_joined": "2020-12-31 23:59:59.999"}
{"ind": "006", "first_name": "Finn", "last_name": "Fox", "age": 36, "date_joined": "2018-08-08T08:08:08.5+02:00"}
{"ind": null, "ind": 5, "first_name": "Eve", "last_name": "Again", "age": 99}
{"ind": 7, "first_name": "Gus", "last_name": "Gray", "age": 50, "date_joined": "2016-02-29 10:00:00"}
{"ind": "x", "ind": 7, "first_name": "Gus", "age": 20}
{"ind": 8, "first_name": "Hal", "last_name": "Hunt", "age": 25, "date_joined": "2019-01-01 00:30:00+01:00"}
{"ind": 9, "first_name": "Ida", "last_name": "Ito", "age": "40", "date_joined": "2018-01-01 10:00:00"}
{"ind": 10, "first_name": "Jon", "last_name": "Jay", "age": 40.0, "date_joined": "2017-06-06 06:06:06Z"}

{"ind": 11, "first_name": "Zed", "last_name": "Zulu", "age": 51, "date_joined": "2020-12-31 23:30:00-01:00"}
{"ind": 12, "first_name": "Amy", "last_name": null, "age": 17, "date_joined": "2019-02-29 10:00:00"}
{"ind": 13, "first_name": null, "last_name": "Solo", "age": null, "date_joined": "2017-03-03 03:03:03"}
{"ind": 6, "first_name": "Finn", "last_name": "Fox", "age": 70, "date_joined": "2010-01-01 00:00:00"}
[]
true
{"ind": 14, "first_name": "Kim", "last_name": "Kay", "age": 30, "date_joined": "2016-01-01 00:00:00"}
{"ind": 15, "first_name": "Lee", "last_name": "Lam", "age": -1, "date_joined": "2016-01-01 00:00:00"}
{"ind": 1}}
{"ind": 980, /* comment */ "age": 5}
{"ind": 16, "first_name": "Max", "last_name": "Moe", "age": 35, "date_joined": "2019-09-09 09:09:09"}
{"ind": 17, "first_name": "Ned", "last_name": "Noe", "age": 36, "date_joined": "2019-09-09 09:09:09"}
{"ind": 981, "age": 0x10}
{"ind": "981", "age": 01}
{"ind": 19, "first_name": "Dana", "last_name": "Diaz", "age": 28, "date_joined": "2016-05-05T05:05:05", "ind": "zz"}
{"ind": 20, "first_name": ["a"], "last_name": {"b": 1}, "age": "", "date_joined": ""}
"{\"ind\": 982}"
{"ind": "", "first_name": "Empty"}
{"ind": "１２"}
   
{"ind": 21}
{"ind": 22}
{"ind": 23}
EOF

f_user | obj edge.user 0 partition=0 zst         # 37..86
t_user | obj edge.user 0 partition=0 json        # 87..136
j_user 4 26 | obj edge.user 0 partition=0 json   # 137..159
obj edge.user 0 partition=0 zst <<'EOF'
{"ind": 903, "first_name": "Orphan"}
{"ind": 904}
{"ind": "9223372036854775807"}
{"ind": -7}
EOF

# partition 1: a one-record object ending in CR and no newline (orphan 901: user only),
# then an empty object (no record)
printf '{"ind": 901, "first_name": "Only", "last_name": "User", "age": 30, "date_joined": "2016-01-01 00:00:00"}\r' |
  obj edge.user 1 partition=1 json               # 0
obj edge.user 1 partition=1 zst </dev/null       # 1 (empty)

# partitions 2 and 10: k18's winner is in partition 2 at offset 3, its duplicate in partition 10 at
# offset 0 (partition number order, not offset or file-name order, decides)
{ j_user 1 3; echo '{"ind": 18, "first_name": "Oli", "last_name": "", "age": 24, "date_joined": "2020-02-29 23:30:00-01:00"}'; } |
  obj edge.user 2 partition=2 json               # 0..3
obj edge.user 10 partition=10 json <<'EOF'
{"ind": 18, "first_name": "Oli", "last_name": "Old", "age": 99, "date_joined": "2010-01-01 00:00:00"}
EOF

echo '{"ind": 1}' >"$T/edge.user/partition=0/edge.user+0+12a.json"

# ---------------------------------------------------------------------------------------------
# Not part of the three topics: must not be read.
mkdir -p "$T/edge.misc/partition=0" "$OUT/cleaned/pin/partition=0" "$OUT/dlq/edge.pin/partition=0"
echo '{"index": 1, "category": "WRONG"}' >"$T/edge.misc/partition=0/edge.misc+0+0000000000.json"
echo '{"ind": 1, "category": "WRONG"}' >"$OUT/cleaned/pin/partition=0/edge.pin+0+0000000000.json"
echo '{"topic": "edge.pin", "reason": "bad_key", "raw": "{}"}' >"$OUT/dlq/edge.pin/partition=0/edge.pin+0+0000000000.json"

echo "edge lake written to $(pwd)/$OUT:"
for k in "${!NEXT[@]}"; do echo "  $k: ${NEXT[$k]} records"; done | sort
