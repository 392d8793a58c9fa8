#!/usr/bin/env python3
"""What a Kafka broker holds in the three pinpipe topics, read with
confluent_kafka (no consumer group: partitions assigned, nothing committed).

    kafka_log.py end <bootstrap>
        prints the number of records in <prefix>.pin/.geo/.user (the sum of
        every partition's high watermark minus its low one)
    kafka_log.py dump <bootstrap> <lake dir> <expected lake dir>
        writes every record, per partition in offset order, as a lake of
        plain .json objects (<lake>/topics/<topic>/partition=<p>/
        <topic>+<p>+0000000000.json), so that `pinpipe query` answers over
        exactly what Kafka holds; then checks that each record of the
        expected lake (written by `pinpipe emulate --compression none`) is
        in the log, in its partition. Prints one summary line. A record the
        expected lake has and the log lacks is lost: exit 1. A value that
        holds a newline cannot be a lake line: exit 1. Records the log holds
        more than once (librdkafka 2.0.2's mock writes a retried batch
        again, docs/broker.md) are counted in the summary.

Options: --prefix P (default pinterest). Exit 2 on a usage error.

Also a module: committed_check.py and sink_check.py list the topics'
partitions and read them back with its functions.
"""
import collections
import glob
import os
import sys

from confluent_kafka import Consumer, TopicPartition

TOPICS = ("pin", "geo", "user")
TIMEOUT = 20


def partitions(consumer, topic):
    md = consumer.list_topics(topic, timeout=TIMEOUT)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        sys.exit(f"kafka_log: no topic {topic}")
    return sorted(t.partitions)


def topic_partitions(consumer, prefix):
    """[(topic, partition)] of the three topics."""
    return [(f"{prefix}.{t}", p) for t in TOPICS for p in partitions(consumer, f"{prefix}.{t}")]


def consumer_for(bootstrap):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": "kafka-log",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "auto.offset.reset": "earliest"})


def end(bootstrap, prefix):
    c = consumer_for(bootstrap)
    total = 0
    for topic, p in topic_partitions(c, prefix):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)
        total += hi - lo
    c.close()
    print(total)


def read_partition(c, topic, p):
    """[(offset, timestamp ms, value bytes)] of the partition's records, from
    its low watermark to its high one (when called), in offset order; exits
    on a read error or when nothing comes for TIMEOUT s."""
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)
    records = []
    if hi == lo:
        return records
    c.assign([TopicPartition(topic, p, lo)])
    while True:
        m = c.poll(TIMEOUT)
        if m is None:
            sys.exit(f"kafka_log: {topic} [{p}]: nothing read for {TIMEOUT} s")
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                if records and m.offset() >= hi:
                    break
                continue
            sys.exit(f"kafka_log: {topic} [{p}]: {m.error()}")
        records.append((m.offset(), m.timestamp()[1], m.value() or b""))
        if m.offset() + 1 >= hi:
            break
    c.unassign()
    return records


def dump(bootstrap, prefix, lake, expected):
    c = consumer_for(bootstrap)
    counts = {}
    copies = 0
    missing = 0
    for t in TOPICS:
        topic = f"{prefix}.{t}"
        counts[t] = 0
        for p in partitions(c, topic):
            values = [v for _, _, v in read_partition(c, topic, p)]
            counts[t] += len(values)
            d = os.path.join(lake, "topics", topic, f"partition={p}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{topic}+{p}+0000000000.json"), "wb") as f:
                for v in values:
                    if b"\n" in v:
                        sys.exit(f"kafka_log: {topic} [{p}]: a value holds a newline")
                    f.write(v + b"\n")
            want = collections.Counter()
            for name in glob.glob(os.path.join(expected, "topics", topic, f"partition={p}",
                                               "*.json")):
                with open(name, "rb") as f:
                    want.update(line.rstrip(b"\n") for line in f if line.strip())
            got = collections.Counter(values)
            missing += sum((want - got).values())
            copies += sum((got - want).values())
    c.close()
    total = sum(counts.values())
    print(f"log: {total} records (pin {counts['pin']}, geo {counts['geo']}, "
          f"user {counts['user']}); {missing} of the emulator's records missing; "
          f"{copies} written twice")
    return 1 if missing else 0


def main(argv):
    args = list(argv[1:])
    prefix = "pinterest"
    if "--prefix" in args:
        i = args.index("--prefix")
        prefix = args[i + 1]
        del args[i:i + 2]
    if len(args) == 2 and args[0] == "end":
        end(args[1], prefix)
        return 0
    if len(args) == 4 and args[0] == "dump":
        return dump(args[1], prefix, args[2], args[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
