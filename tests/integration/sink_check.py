#!/usr/bin/env python3
"""Checks a lake written by `pinpipe run` against the records in Kafka.

  sink_check.py <bootstrap> <prefix> <lake dir> <flush.size> [--time-format]

Reads every record of the three topics back from the broker (partition,
offset, timestamp, value), decompresses every object of the lake with the
zstd CLI, and checks SPEC 7:
  - raw: per partition, the objects in start-offset order hold exactly the
    partition's values in offset order (no loss, no duplicate, no gap), each
    named by the offset of its first record, at most flush.size records;
  - cleaned: one line per accepted record (the raw ones minus the rejects),
    with the SPEC 2 columns, in the same order;
  - dlq: one line per rejected record with topic, partition, offset,
    timestamp, reason and the original bytes (raw, or raw_base64);
  - with --time-format, keys are 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH
    of the record's Kafka timestamp (UTC).
Prints one line per failed check and exits 1; prints a summary otherwise.
"""
import base64
import datetime
import json
import os
import re
import subprocess
import sys

import kafka_log

COLUMNS = {
    "pin": ["ind", "unique_id", "title", "description", "follower_count", "poster_name",
            "tag_list", "is_image_or_video", "image_src", "save_location", "category"],
    "geo": ["ind", "country", "coordinates", "timestamp"],
    "user": ["ind", "user_name", "age", "date_joined"],
}


def read_topic(bootstrap, topic):
    """{partition: [(offset, timestamp_ms, value bytes)]} of the whole topic."""
    c = kafka_log.consumer_for(bootstrap)
    out = {p: kafka_log.read_partition(c, topic, p) for p in kafka_log.partitions(c, topic)}
    c.close()
    return out


def objects(lake, folder):
    """[(path relative to the lake, lines)] of every object under folder."""
    found = []
    root = os.path.join(lake, folder)
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            if f.startswith("."):
                found.append((os.path.relpath(path, lake), None))  # a leftover temp file
                continue
            data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout \
                if f.endswith(".zst") else open(path, "rb").read()
            lines = data.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            found.append((os.path.relpath(path, lake), lines))
    return found


def main():
    args = sys.argv[1:]
    time_format = "--time-format" in args
    args = [a for a in args if a != "--time-format"]
    bootstrap, prefix, lake, flush = args[0], args[1], args[2], int(args[3])
    errors = []
    totals = {"raw": 0, "cleaned": 0, "dlq": 0, "objects": 0}
    name_re = re.compile(r"^(?P<topic>[^/+]+)\+(?P<p>\d+)\+(?P<off>\d{10})\.json\.zst$")
    hour_re = re.compile(r"^year=(\d{4})/month=(\d\d)/day=(\d\d)/hour=(\d\d)$")

    for short in ("pin", "geo", "user"):
        topic = f"{prefix}.{short}"
        records = read_topic(bootstrap, topic)
        by_offset = {}
        for p, recs in records.items():
            for off, ts, val in recs:
                by_offset[(p, off)] = (ts, val)

        for kind, folder in (("raw", f"topics/{topic}"), ("cleaned", f"cleaned/{short}"),
                             ("dlq", f"dlq/{topic}")):
            per_part = {}
            for rel, lines in objects(lake, folder):
                totals["objects"] += 1
                if lines is None:
                    errors.append(f"{rel}: a temporary file was left behind")
                    continue
                d, name = os.path.split(rel)
                m = name_re.match(name)
                if not m or m.group("topic") != topic:
                    errors.append(f"{rel}: not a <topic>+<partition>+<offset>.json.zst name")
                    continue
                p, start = int(m.group("p")), int(m.group("off"))
                sub = d[len(folder) + 1:]
                if time_format:
                    hm = hour_re.match(sub)
                    if not hm:
                        errors.append(f"{rel}: path is not year=/month=/day=/hour=")
                        continue
                elif sub != f"partition={p}":
                    errors.append(f"{rel}: path is not partition={p}")
                if len(lines) > flush:
                    errors.append(f"{rel}: {len(lines)} records, flush.size is {flush}")
                per_part.setdefault(p, []).append((start, rel, lines, sub))
                totals[kind] += len(lines)

            for p, recs in records.items():
                objs = sorted(per_part.get(p, []))
                if kind == "raw":
                    # Concatenated in start order: the partition's values, in order.
                    want = [v.replace(b"\n", b" ") for _, _, v in recs]
                    got = [line for _, _, lines, _ in objs for line in lines]
                    if got != want:
                        layout = ", ".join(f"+{start}:{len(lines)}" for start, _, lines, _ in objs)
                        errors.append(f"raw {topic}[{p}]: {len(got)} lines in {len(objs)} objects,"
                                      f" want {len(want)} values in offset order"
                                      f" (objects start:records {layout}; offsets"
                                      f" {recs[0][0] if recs else '-'}..{recs[-1][0] if recs else '-'})")
                        continue
                    at = 0
                    for start, rel, lines, sub in objs:
                        if start != recs[at][0]:
                            errors.append(f"{rel}: named {start}, first record is offset {recs[at][0]}")
                        if time_format:
                            for off, ts, _ in recs[at:at + len(lines)]:
                                h = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
                                if h.strftime("year=%Y/month=%m/day=%d/hour=%H") != sub:
                                    errors.append(f"{rel}: offset {off} at {h} is not in {sub}")
                                    break
                        at += len(lines)
                    continue
                # cleaned and dlq: lines of their own records, in offset order
                lines = [line for _, _, ls, _ in objs for line in ls]
                for line in lines:
                    try:
                        doc = json.loads(line)
                    except ValueError:
                        errors.append(f"{kind} {topic}[{p}]: not JSON: {line[:80]!r}")
                        break
                    if kind == "cleaned":
                        if list(doc) != COLUMNS[short]:
                            errors.append(f"cleaned {topic}[{p}]: columns {list(doc)}")
                            break
                        continue
                    want_keys = ["topic", "partition", "offset", "timestamp", "reason", "raw"]
                    if list(doc)[:6] != want_keys or doc["topic"] != topic or doc["partition"] != p:
                        errors.append(f"dlq {topic}[{p}]: fields {list(doc)}")
                        break
                    ts, val = by_offset.get((p, doc["offset"]), (None, None))
                    raw = doc["raw"].encode() if doc["raw"] is not None else \
                        base64.b64decode(doc.get("raw_base64", ""))
                    if val is None or raw != val or doc["timestamp"] != ts:
                        errors.append(f"dlq {topic}[{p}] offset {doc['offset']}: bytes or "
                                      f"timestamp differ from the record")
                        break
                if kind == "dlq":
                    totals.setdefault("rejects", {})[topic] = \
                        totals.get("rejects", {}).get(topic, 0) + len(lines)
        raw_n = sum(len(r) for r in records.values())
        dlq_n = totals.get("rejects", {}).get(topic, 0)
        cleaned_n = sum(1 for rel, lines in objects(lake, f"cleaned/{short}") for _ in lines or [])
        if cleaned_n + dlq_n != raw_n:
            errors.append(f"{topic}: {cleaned_n} cleaned + {dlq_n} rejected != {raw_n} records")

    for e in errors[:20]:
        print("sink_check:", e)
    if errors:
        sys.exit(1)
    print(f"sink_check: {totals['objects']} objects; {totals['raw']} raw, {totals['cleaned']} "
          f"cleaned, {totals['dlq']} dlq lines; rejects {totals.get('rejects', {})}")


if __name__ == "__main__":
    main()
