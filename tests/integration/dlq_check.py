#!/usr/bin/env python3
"""The dead-letter topic against the lake's dlq objects.

  dlq_check.py <bootstrap> <topic> <lake dir>

Every message of the topic is a dlq line; the distinct (topic, partition,
offset, reason) of the topic must equal those of the lake's dlq/ objects
(the topic is at least once, so repeats are allowed there).
"""
import json
import os
import subprocess
import sys

from confluent_kafka import Consumer


def main():
    bootstrap, topic, lake = sys.argv[1:4]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "dlq-check",
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got, idle, n = set(), 0, 0
    while idle < 25:
        m = c.poll(0.2)
        if m is None or m.error():
            idle += 1
            continue
        idle = 0
        n += 1
        d = json.loads(m.value())
        got.add((d["topic"], d["partition"], d["offset"], d["reason"]))
    c.close()
    want = set()
    for dirpath, _, files in os.walk(os.path.join(lake, "dlq")):
        for f in files:
            data = subprocess.run(["zstd", "-dc", os.path.join(dirpath, f)], capture_output=True,
                                  check=True).stdout
            for line in data.splitlines():
                d = json.loads(line)
                want.add((d["topic"], d["partition"], d["offset"], d["reason"]))
    print(f"{n} messages, {len(got)} distinct rejects in the topic, {len(want)} in the lake")
    sys.exit(0 if got == want and want else 1)


if __name__ == "__main__":
    main()
