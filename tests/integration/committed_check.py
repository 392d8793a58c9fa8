#!/usr/bin/env python3
"""Checks that a consumer group committed only records that are in the lake.

  committed_check.py <bootstrap> <prefix> <group> <lake dir>

For every partition of <prefix>.pin, .geo and .user, the group's committed
offset c must be covered by the raw objects of the lake directory: every
offset in [0, c) is a line of some object <topic>+<p>+<start>.json.zst
(the records start..start+lines-1). That is SPEC 7's commit rule seen from
outside: a stop that abandoned objects must not have committed their
records. Prints a summary (partitions, records committed) and exits 0, or
one line per failure and exits 1.
"""
import os
import re
import subprocess
import sys

from confluent_kafka import Consumer, TopicPartition

import kafka_log

NAME = re.compile(r"^(?P<topic>[^/+]+)\+(?P<p>\d+)\+(?P<off>\d+)\.json\.zst$")


def covered(lake, topic, p):
    """Sorted [(start, end)] record ranges of the partition's raw objects."""
    d = os.path.join(lake, "topics", topic, f"partition={p}")
    ranges = []
    for f in os.listdir(d) if os.path.isdir(d) else []:
        m = NAME.match(f)
        if not m:
            continue
        data = subprocess.run(["zstd", "-dc", os.path.join(d, f)], check=True,
                              capture_output=True).stdout
        start = int(m.group("off"))
        ranges.append((start, start + data.count(b"\n")))
    return sorted(ranges)


def main():
    bootstrap, prefix, group, lake = sys.argv[1:5]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    tps = c.committed([TopicPartition(t, p) for t, p in kafka_log.topic_partitions(c, prefix)],
                      timeout=10)
    c.close()
    errors = []
    committed = 0
    for tp in tps:
        if tp.offset < 0:  # nothing committed
            continue
        committed += tp.offset
        at = 0
        for start, end in covered(lake, tp.topic, tp.partition):
            if start <= at < end:
                at = end
        if at < tp.offset:
            errors.append(f"{tp.topic}[{tp.partition}]: committed {tp.offset}, but offset {at} "
                          f"is in no raw object")
    for e in errors:
        print("committed_check:", e)
    if errors:
        sys.exit(1)
    print(f"committed_check: {len(tps)} partitions, {committed} records committed, "
          f"all in the lake")


if __name__ == "__main__":
    main()
