#!/usr/bin/env python3
"""Hostile input for tests/integration/test_hostile.sh.

Kafka side (SPEC 2, 3, 7; docs/semantics.md, docs/sink.md):

  produce --bootstrap B --prefix P --phase before|hostile|after --expect F
      Produces one phase's records and appends one JSON line per record to F:
      its topic, partition, offset (from the delivery report), value (base64,
      null for a tombstone) and the expected outcome: "clean" with the
      expected cleaned columns, "reject" with the expected reason, or
      "ignored" (a topic pinpipe does not subscribe to). Phases "before" and
      "after" are complete, valid posts (ind 1..20 and 21..40); "hostile" is
      everything else (see HOSTILE below). Prints the number of records
      pinpipe must consume (not the ignored ones).
  check --lake L --expect F --prefix P --metrics M --queries Q
      After the run has stopped: every rejected record has exactly one dlq
      line with its reason and its exact bytes (raw or raw_base64), and the
      dlq holds nothing else; every accepted hostile record has its cleaned
      line with the expected columns; the raw objects of each partition hold
      its values in offset order; nothing of the ignored topics is in the
      lake; /metrics (M) counts records and rejects by topic and reason
      exactly; /v1/queries (Q) joined the 40 good posts and nothing else.

HTTP side:

  http --url U --max-body N --timeout S [--token T]
      Hostile clients against the HTTP API (what test_rest.sh's "errors" does
      not already cover): malformed request lines and headers, bodies that
      lie about their length, chunked bodies over the limit, a body of 10 MB,
      odd content types, a client sending one byte a second (cut by the
      server within its timeout while other clients are served), 1,000
      concurrent connections, and with --token: every route without, with a
      wrong, and with a malformed Authorization header.

Each check prints "ok   ..." or "FAIL ..."; the exit status is 1 when one
failed.
"""
import argparse
import base64
import collections
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

failures = 0


def check(cond, name, detail=""):
    global failures
    if cond:
        print("ok   " + name, flush=True)
    else:
        failures += 1
        print("FAIL " + name + (": " + str(detail) if detail else ""), flush=True)
    return cond


# ---- records ----------------------------------------------------------------

PIN_TEXT = ["unique_id", "title", "description", "poster_name", "tag_list", "is_image_or_video",
            "image_src", "save_location", "category"]
PIN_COLUMNS = ["ind", "unique_id", "title", "description", "follower_count", "poster_name",
               "tag_list", "is_image_or_video", "image_src", "save_location", "category"]
GEO_COLUMNS = ["ind", "country", "coordinates", "timestamp"]
USER_COLUMNS = ["ind", "user_name", "age", "date_joined"]
KEY = {"pin": "index", "geo": "ind", "user": "ind"}


def good_pin(ind):
    return {"index": ind, "unique_id": "u-%d" % ind, "title": "Title %d" % ind,
            "description": "About %d" % ind, "follower_count": "1.5k",
            "poster_name": "Poster %d" % ind, "tag_list": "a,b", "is_image_or_video": "image",
            "image_src": "https://i.example/%d.jpg" % ind, "downloaded": 1,
            "save_location": "Local save in /data/art", "category": "art"}


def good_geo(ind):
    return {"ind": ind, "timestamp": "2021-03-04 05:06:07", "latitude": 12.5,
            "longitude": -45.25, "country": "Iceland"}


def good_user(ind):
    return {"ind": ind, "first_name": "Ada", "last_name": "Lovelace", "age": 36,
            "date_joined": "2016-01-02 03:04:05"}


GOOD = {"pin": good_pin, "geo": good_geo, "user": good_user}


def cleaned_of_good(topic, ind):
    """The SPEC 2 cleaned columns of GOOD[topic](ind)."""
    if topic == "pin":
        return {"ind": ind, "unique_id": "u-%d" % ind, "title": "Title %d" % ind,
                "description": "About %d" % ind, "follower_count": 1500,
                "poster_name": "Poster %d" % ind, "tag_list": "a,b", "is_image_or_video": "image",
                "image_src": "https://i.example/%d.jpg" % ind, "save_location": "/data/art",
                "category": "art"}
    if topic == "geo":
        return {"ind": ind, "country": "Iceland", "coordinates": [12.5, -45.25],
                "timestamp": "2021-03-04T05:06:07"}
    return {"ind": ind, "user_name": "Ada Lovelace", "age": 36,
            "date_joined": "2016-01-02T03:04:05"}


def enc(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


class Cases:
    """Hostile records: (topic, value bytes or None, outcome, detail, name)."""

    def __init__(self):
        self.items = []
        self.next_ind = 900000

    def ind(self):
        # Every hostile record has its own ind: none of them completes a
        # post, so the joined posts are exactly the 40 good ones.
        self.next_ind += 1
        return self.next_ind

    def reject(self, topic, value, reason, name, partition=None):
        self.items.append((topic, value, "reject", reason, name, partition))

    def clean(self, topic, value, cleaned, name):
        self.items.append((topic, value, "clean", cleaned, name, None))

    def ignored(self, topic, value, name):
        self.items.append((topic, value, "ignored", None, name, None))


def hostile_cases(prefix):
    c = Cases()
    # Not JSON (SPEC 3: invalid_json), on every topic.
    for topic, v in (("pin", b'{"index": %d, "title": "x"' % c.ind()),
                     ("geo", b'{"ind": %d,}' % c.ind()),
                     ("user", b'not json at all'),
                     ("pin", b'{"index": %d} trailing' % c.ind()),
                     ("geo", b"{'ind': %d}" % c.ind()),
                     ("user", b'{"ind": %d, "age": NaN}' % c.ind()),
                     ("pin", b'{"index": %d, "title": "\\x41"}' % c.ind()),  # bad escape
                     ("geo", b'{"ind": %d, "country": "\\ud800"}' % c.ind()),  # lone surrogate
                     ("user", b'{"ind": %d}\n{"ind": %d}' % (c.ind(), c.ind()))):  # two values
        c.reject(topic, v, "invalid_json", "not JSON: %r" % v[:30])
    # Not UTF-8 (invalid_utf8; the dlq keeps the bytes as raw_base64).
    for topic, v in (("pin", b'{"index": %d, "title": "caf\xe9"}' % c.ind()),
                     ("geo", b'{"ind": %d, "country": "\xc0\xaf"}' % c.ind()),  # overlong
                     ("user", b'{"ind": %d, "first_name": "\xed\xa0\x80"}' % c.ind()),  # surrogate
                     ("pin", b'\xff\xfe{"index": %d}' % c.ind()),
                     ("geo", b'{"ind": %d, "country": "\xf4\x90\x80\x80"}' % c.ind())):  # > U+10FFFF
        c.reject(topic, v, "invalid_utf8", "invalid UTF-8: %r" % v[:30])
    # NUL bytes: raw ones are control characters, invalid in a JSON string
    # and outside one; an escaped \u0000 is valid JSON and stays in the text.
    for topic, v in (("pin", b'{"index": %d, "title": "a\x00b"}' % c.ind()),
                     ("geo", b'{"ind": %d}\x00' % c.ind()),
                     ("user", b'\x00'),
                     ("user", b'\x00' * 100)):
        c.reject(topic, v, "invalid_json", "raw NUL bytes: %r" % v[:30])
    ind = c.ind()
    rec = good_pin(ind)
    rec["title"] = "a\u0000b"
    want = cleaned_of_good("pin", ind)
    want["title"] = "a\u0000b"
    c.clean("pin", enc(rec), want, "an escaped \\u0000 in a title is kept")
    # Nesting: 10,000 deep is refused (PP_JSON_MAX_DEPTH is 1024), inside an
    # object and as the whole value; 1,000 deep in an unread field is valid.
    ind = c.ind()
    c.reject("pin", b'{"index": %d, "x": ' % ind + b"[" * 10000 + b"]" * 10000 + b"}",
             "invalid_json", "10,000-deep arrays in a field")
    ind = c.ind()
    c.reject("geo", b'{"ind": %d, "x": ' % ind + b'{"a":' * 10000 + b"1" + b"}" * 10000 + b"}",
             "invalid_json", "10,000-deep objects in a field")
    c.reject("user", b"[" * 10000 + b"]" * 10000, "invalid_json", "10,000-deep arrays")
    ind = c.ind()
    rec = good_geo(ind)
    deep = b'{"ind": %d, "x": ' % ind + b"[" * 1000 + b"]" * 1000 + b","
    c.clean("geo", deep + enc(rec)[1:], cleaned_of_good("geo", ind),
            "1,000-deep arrays in an unread field")
    # Sizes: input.max.record.bytes is 1 MiB (default). A record a little
    # over it is too_large with its bytes in the dlq (raw_base64); one over
    # the pipeline's batch (1 MiB + 4 KiB) too, now that the Kafka source
    # carries it whole (4 MiB: the development broker keeps the newest
    # 5 MiB of a partition, so it cannot hold a 10 MB record at all).
    ind = c.ind()
    pad = (1 << 20) + 100
    c.reject("geo", b'{"ind": %d, "country": "' % ind + b"x" * pad + b'"}', "too_large",
             "a 1 MiB + 100 B record")
    ind = c.ind()
    big = (4 << 20) - 4096
    c.reject("user", b'{"ind": %d, "first_name": "' % ind + b"y" * big + b'"}', "too_large",
             "a 4 MiB record", partition=0)
    ind = c.ind()
    rec = good_pin(ind)
    rec["description"] = "z" * ((1 << 20) - 4096)
    want = cleaned_of_good("pin", ind)
    want["description"] = rec["description"]
    c.clean("pin", enc(rec), want, "a record just under 1 MiB is cleaned")
    # Numbers out of range. A JSON number that no double holds (1e400) is
    # valid JSON (RFC 8259's grammar): as a key it is bad_key like any
    # float, in a number column it is null, in an unread field it is
    # ignored. Integers past int64 likewise.
    c.reject("pin", b'{"index": 1e400}', "bad_key", "index 1e400")
    c.reject("geo", b'{"ind": -1e400}', "bad_key", "ind -1e400")
    c.reject("user", b'{"ind": 99999999999999999999}', "bad_key", "ind 2^66")
    c.reject("pin", b'{"index": 9223372036854775808}', "bad_key", "index 2^63")
    c.reject("geo", b'{"ind": -9223372036854775809}', "bad_key", "ind -2^63 - 1")
    c.reject("user", b'{"ind": "99999999999999999999"}', "bad_key", "ind \"2^66\"")
    c.reject("pin", b'{"index": 1' + b"0" * 400 + b'}', "bad_key", "index 10^400")
    ind = c.ind()
    c.clean("user", enc({"ind": ind, "age": 1})[:-1].replace(b'"age":1', b'"age":1e400') + b"}",
            {"ind": ind, "user_name": None, "age": None, "date_joined": None}, "age 1e400")
    ind = c.ind()
    c.clean("user", b'{"ind": %d, "age": 123456789012345678901234567890}' % ind,
            {"ind": ind, "user_name": None, "age": None, "date_joined": None}, "age 10^29")
    ind = c.ind()
    c.clean("pin", b'{"index": %d, "follower_count": 99999999999999999999}' % ind,
            dict({k: None for k in PIN_COLUMNS}, ind=ind), "follower_count 2^66")
    ind = c.ind()
    c.clean("pin", b'{"index": %d, "follower_count": "99999999999b"}' % ind,
            dict({k: None for k in PIN_COLUMNS}, ind=ind), "follower_count \"99999999999b\"")
    ind = c.ind()
    c.clean("geo", b'{"ind": %d, "latitude": 1e400, "longitude": 2, "country": "X"}' % ind,
            {"ind": ind, "country": "X", "coordinates": None, "timestamp": None},
            "latitude 1e400")
    ind = c.ind()
    c.clean("geo", b'{"ind": %d, "latitude": 1e-400, "longitude": -1E+2}' % ind,
            {"ind": ind, "country": None, "coordinates": [0.0, -100.0], "timestamp": None},
            "latitude 1e-400 (underflows to 0)")
    ind = c.ind()
    c.clean("pin", b'{"index": %d, "zz": [1e400, -1e999, 1' % ind + b"0" * 500 + b']}',
            dict({k: None for k in PIN_COLUMNS}, ind=ind), "huge numbers in an unread field")
    # Duplicate keys: the first occurrence wins (docs/semantics.md).
    ind, ind2 = c.ind(), c.ind()
    c.clean("pin", b'{"index": %d, "index": %d, "title": "first", "title": "second", '
            b'"category": "a", "category": 5}' % (ind, ind2),
            dict({k: None for k in PIN_COLUMNS}, ind=ind, title="first", category="a"),
            "duplicate keys: the first wins")
    ind = c.ind()
    c.clean("user", b'{"ind": %d, "ind": "x", "age": null, "age": 40}' % ind,
            {"ind": ind, "user_name": None, "age": None, "date_joined": None},
            "duplicate keys: a first null wins")
    ind = c.ind()
    c.reject("geo", b'{"ind": null, "ind": %d}' % ind, "missing_key",
             "duplicate key field: a first null wins")
    # Wrong types on every field of every record type.
    wrong = [("a number", 12), ("a float", 1.5), ("a bool", True), ("an object", {"a": 1}),
             ("an array", [1]), ("a string", "nope")]
    for topic, columns in (("pin", PIN_COLUMNS), ("geo", GEO_COLUMNS), ("user", USER_COLUMNS)):
        fields = [f for f in GOOD[topic](0) if f not in (KEY[topic], "downloaded")]
        for field in fields:
            for what, value in wrong:
                ind = c.ind()
                rec = GOOD[topic](ind)
                rec[field] = value
                want = cleaned_of_good(topic, ind)
                valid = wrong_type_valid(topic, field, value)
                if valid is not None:
                    want.update(valid)
                c.clean(topic, enc(rec), want, "%s %s is %s" % (topic, field, what))
        # The key itself: null is missing, any other non-integer is bad_key.
        for what, value in wrong + [("a negative string", "-5"), ("a spaced string", " 5"),
                                    ("an empty string", ""), ("a float string", "5.0")]:
            if what == "a number":
                continue
            rec = GOOD[topic](0)
            rec[KEY[topic]] = value
            c.reject(topic, enc(rec), "bad_key", "%s %s is %s" % (topic, KEY[topic], what))
        rec = GOOD[topic](0)
        rec[KEY[topic]] = None
        c.reject(topic, enc(rec), "missing_key", "%s %s is null" % (topic, KEY[topic]))
        rec = GOOD[topic](0)
        del rec[KEY[topic]]
        c.reject(topic, enc(rec), "missing_key", "%s without %s" % (topic, KEY[topic]))
        if topic != "pin":
            rec = GOOD[topic](0)
            del rec["ind"]
            rec["index"] = c.ind()
            c.reject(topic, enc(rec), "missing_key", "%s keyed by index instead of ind" % topic)
    # Valid JSON that is not an object.
    for topic, v in (("pin", b"[1, 2]"), ("geo", b'"a string"'), ("user", b"42"),
                     ("pin", b"null"), ("geo", b"true"), ("user", b" [] ")):
        c.reject(topic, v, "not_object", "not an object: %r" % v)
    # Empty values and tombstones (a NULL value) on every topic: no JSON.
    for topic in ("pin", "geo", "user"):
        c.reject(topic, b"", "invalid_json", "%s: an empty value" % topic)
        c.reject(topic, None, "invalid_json", "%s: a tombstone" % topic)
        c.reject(topic, b"   \n\t ", "invalid_json", "%s: only whitespace" % topic)
    # Topics pinpipe does not subscribe to (it consumes exactly
    # <prefix>.pin/.geo/.user): never read, counted or written.
    for name in ("other", "pin.extra", "PIN", "pins"):
        c.ignored("%s.%s" % (prefix, name), enc(good_pin(c.ind())), "topic %s.%s" % (prefix, name))
    return c.items


def wrong_type_valid(topic, field, value):
    """The cleaned columns when field holds value (a type the field does not
    normally have): mostly null, except what SPEC 2 accepts."""
    isint = isinstance(value, int) and not isinstance(value, bool)
    if topic == "pin":
        if field == "follower_count":
            return {"follower_count": value if isint else None}
        if field == "save_location":
            return {"save_location": value if isinstance(value, str) else None}
        return {field: value if isinstance(value, str) else None}
    if topic == "geo":
        if field in ("latitude", "longitude"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                g = good_geo(0)
                g[field] = value
                return {"coordinates": [float(g["latitude"]), float(g["longitude"])]}
            return {"coordinates": None}
        if field == "timestamp":
            return {"timestamp": None}
        return {field: value if isinstance(value, str) else None}
    if field == "age":
        return {"age": value if isint else None}
    if field == "date_joined":
        return {"date_joined": None}
    first = value if field == "first_name" else "Ada"
    last = value if field == "last_name" else "Lovelace"
    parts = [p for p in (first, last) if isinstance(p, str) and p != ""]
    return {"user_name": " ".join(parts) if parts else None}


def cmd_produce(args):
    from confluent_kafka import Producer

    # The producer's own limit (1 MB by default) would refuse the 4 MiB record.
    p = Producer({"bootstrap.servers": args.bootstrap, "message.max.bytes": 16 << 20,
                  "linger.ms": 5})
    items = []
    if args.phase in ("before", "after"):
        base = 0 if args.phase == "before" else 20
        for ind in range(base + 1, base + 21):
            for topic in ("pin", "geo", "user"):
                items.append((topic, enc(GOOD[topic](ind)), "clean",
                              cleaned_of_good(topic, ind), "good %s %d" % (topic, ind), None))
    else:
        items = hostile_cases(args.prefix)
    reports = [None] * len(items)

    def on_delivery(i):
        def cb(err, msg):
            reports[i] = (err, msg.partition(), msg.offset())
        return cb

    for i, (topic, value, outcome, detail, name, partition) in enumerate(items):
        full = topic if outcome == "ignored" else "%s.%s" % (args.prefix, topic)
        # Good posts keyed by ind, as the emulator and the REST proxy key
        # them: the topics are co-partitioned (SPEC 9), and the parts of a
        # post meet only within one partition (docs/stream.md).
        kw = {} if partition is None else {"partition": partition}
        if outcome == "clean" and args.phase in ("before", "after"):
            kw["key"] = str(detail["ind"]).encode()
        p.produce(full, value=value, on_delivery=on_delivery(i), **kw)
        p.poll(0)
        # The 4 MiB record in a batch of its own, and the records around
        # it out of the way first: the broker's 5 MiB of retention per
        # partition holds it only if it is not shared.
        if value is not None and len(value) > (1 << 20):
            p.flush(30)
    left = p.flush(30)
    bad = [(items[i][4], r) for i, r in enumerate(reports) if r is None or r[0] is not None]
    if left or bad:
        sys.exit("hostile.py: %d undelivered, errors: %s" % (left, bad[:3]))
    consumed = 0
    with open(args.expect, "a", encoding="utf-8") as f:
        for (topic, value, outcome, detail, name, _), (_, part, off) in zip(items, reports):
            full = topic if outcome == "ignored" else "%s.%s" % (args.prefix, topic)
            f.write(json.dumps({"phase": args.phase, "topic": full, "short": topic,
                                "partition": part, "offset": off,
                                "value": None if value is None else
                                base64.b64encode(value).decode(),
                                "outcome": outcome, "detail": detail, "name": name}) + "\n")
            if outcome != "ignored":
                consumed += 1
    print(consumed)


# ---- checking the lake --------------------------------------------------------

def read_objects(root):
    """{(partition, start offset): [lines]} of the objects under root."""
    out = {}
    name_re = re.compile(r"\+(\d+)\+(\d+)\.json(\.zst)?$")
    for dirpath, _, files in os.walk(root):
        for f in files:
            m = name_re.search(f)
            if not m:
                out[("bad name", f)] = []
                continue
            path = os.path.join(dirpath, f)
            data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout \
                if f.endswith(".zst") else open(path, "rb").read()
            lines = data.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            out[(int(m.group(1)), int(m.group(2)))] = lines
    return out


def check_dlq_topic(args, by_pos, rejects):
    """errors.deadletterqueue.topic.name: each reject's line, with its bytes
    unless the line would pass the producer's message.max.bytes (1,000,000
    by default): then "raw":null and "raw_omitted_bytes"."""
    from confluent_kafka import Consumer, TopicPartition

    # Read to the end of every partition (watermarks), not until a quiet
    # spell: no group join to wait for.
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "hostile-dlq",
                  "enable.auto.commit": False})
    parts = sorted(c.list_topics(args.dlq_topic, timeout=10).topics[args.dlq_topic].partitions)
    ends = {p: c.get_watermark_offsets(TopicPartition(args.dlq_topic, p), timeout=10)[1]
            for p in parts}
    c.assign([TopicPartition(args.dlq_topic, p, 0) for p in parts])
    got, left, deadline = {}, {p for p in parts if ends[p] > 0}, time.monotonic() + 30
    while left and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        d = json.loads(m.value())
        got[(d["topic"], d["partition"], d["offset"])] = (d, len(m.value()))
        if m.offset() + 1 >= ends[m.partition()]:
            left.discard(m.partition())
    c.close()
    problems = []
    omitted = 0
    for e in rejects:
        key = (e["topic"], e["partition"], e["offset"])
        if key not in got:
            problems.append("%s: not in the topic" % e["name"])
            continue
        d, size = got[key]
        raw = e["bytes"] or b""
        if "raw_omitted_bytes" in d:
            omitted += 1
            if d["raw"] is not None or d["raw_omitted_bytes"] != len(raw) or \
                    len(base64.b64encode(raw)) < 1000000 - 200:
                problems.append("%s: raw omitted wrongly (%d bytes)" % (e["name"], len(raw)))
        elif (d["raw"].encode() if d["raw"] is not None else
              base64.b64decode(d["raw_base64"])) != raw or d["reason"] != e["detail"]:
            problems.append("%s: bytes or reason differ in the topic" % e["name"])
    for p in problems[:10]:
        print("    " + p)
    check(not problems and omitted == 2 and len(got) == len(rejects),
          "dead-letter topic: the %d rejects with their bytes, the %d larger than a message "
          "(1 MiB + 100 B, 4 MiB) without" % (len(rejects), omitted),
          "%d messages" % len(got))


def parse_metrics(path):
    got = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.strip().rpartition(" ")
            got[name] = value
    return got


def cmd_check(args):
    expect = [json.loads(line) for line in open(args.expect, encoding="utf-8")]
    for e in expect:
        e["bytes"] = None if e["value"] is None else base64.b64decode(e["value"])
    by_pos = {(e["topic"], e["partition"], e["offset"]): e for e in expect}
    check(len(by_pos) == len(expect), "every produced record has its own (topic, partition, "
          "offset)")
    subscribed = {"%s.%s" % (args.prefix, t) for t in ("pin", "geo", "user")}

    # dlq: exactly the rejects, each with its reason and exact bytes.
    dlq_seen = set()
    dlq_problems = []
    for topic in sorted(subscribed):
        for (part, start), lines in sorted(read_objects(os.path.join(args.lake, "dlq", topic))
                                           .items()):
            for line in lines:
                try:
                    d = json.loads(line)
                except ValueError:
                    dlq_problems.append("not JSON: %r" % line[:80])
                    continue
                key = (d.get("topic"), d.get("partition"), d.get("offset"))
                e = by_pos.get(key)
                if e is None or e["outcome"] != "reject":
                    dlq_problems.append("%s: not a reject (%s)" % (key, e and e["name"]))
                    continue
                if key in dlq_seen:
                    dlq_problems.append("%s: twice in the dlq" % (key,))
                dlq_seen.add(key)
                raw = d["raw"].encode() if d.get("raw") is not None else \
                    base64.b64decode(d.get("raw_base64", ""))
                if list(d)[:6] != ["topic", "partition", "offset", "timestamp", "reason", "raw"]:
                    dlq_problems.append("%s: fields %s" % (e["name"], list(d)))
                if d["reason"] != e["detail"]:
                    dlq_problems.append("%s: reason %s, want %s" % (e["name"], d["reason"],
                                                                   e["detail"]))
                if raw != (e["bytes"] or b""):
                    dlq_problems.append("%s: dlq bytes differ (%d bytes, want %d)"
                                        % (e["name"], len(raw), len(e["bytes"] or b"")))
                text_ok = True
                try:
                    (e["bytes"] or b"").decode("utf-8")
                except UnicodeDecodeError:
                    text_ok = False
                if (d["raw"] is None) == (text_ok and d["reason"] != "too_large"):
                    dlq_problems.append("%s: raw/raw_base64 choice wrong" % e["name"])
    rejects = [e for e in expect if e["outcome"] == "reject"]
    missing = [e["name"] for e in rejects if (e["topic"], e["partition"], e["offset"])
               not in dlq_seen]
    for p in dlq_problems[:10]:
        print("    " + p)
    for m in missing[:10]:
        print("    not in the dlq: " + m)
    check(not dlq_problems and not missing,
          "dlq: each of the %d rejects once, with its reason and exact bytes, nothing else"
          % len(rejects))
    reasons = collections.Counter(e["detail"] for e in rejects)
    print("    rejects by reason: " + ", ".join("%s %d" % kv for kv in sorted(reasons.items())))

    # cleaned: each accepted record's line, columns as expected.
    cleaned = {}
    problems = []
    for short in ("pin", "geo", "user"):
        for _, lines in read_objects(os.path.join(args.lake, "cleaned", short)).items():
            for line in lines:
                d = json.loads(line)
                if (short, d["ind"]) in cleaned:
                    problems.append("cleaned %s ind %s twice" % (short, d["ind"]))
                cleaned[(short, d["ind"])] = d
    accepted = [e for e in expect if e["outcome"] == "clean"]
    for e in accepted:
        want = e["detail"]
        got = cleaned.get((e["short"], want["ind"]))
        if got is None:
            problems.append("%s: no cleaned line" % e["name"])
        elif got != want or list(got) != list(want):
            diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                    if got.get(k) != want.get(k)}
            problems.append("%s: cleaned columns differ (got, want): %s"
                            % (e["name"], str(diff)[:300]))
    if len(cleaned) != len(accepted):
        problems.append("%d cleaned lines, want %d" % (len(cleaned), len(accepted)))
    for p in problems[:10]:
        print("    " + p)
    check(not problems, "cleaned: the %d accepted records (%d hostile) with the expected columns"
          % (len(accepted), sum(1 for e in accepted if e["phase"] == "hostile")))

    # raw: per partition, the values in offset order (a '\n' becomes a space).
    problems = []
    for topic in sorted(subscribed):
        objs = read_objects(os.path.join(args.lake, "topics", topic))
        parts = collections.defaultdict(list)
        for e in expect:
            if e["topic"] == topic:
                parts[e["partition"]].append(e)
        for part, es in parts.items():
            es.sort(key=lambda e: e["offset"])
            want = [(e["bytes"] or b"").replace(b"\n", b" ") for e in es]
            got = [line for (p, _), lines in sorted(objs.items()) if p == part for line in lines]
            if got != want:
                n = sum(1 for a, b in zip(got, want) if a != b)
                problems.append("raw %s[%d]: %d lines, want %d (%d differ)"
                                % (topic, part, len(got), len(want), n))
    for p in problems[:10]:
        print("    " + p)
    check(not problems, "raw: every partition's values in offset order, the hostile ones too")

    if args.dlq_topic:
        check_dlq_topic(args, by_pos, rejects)

    ignored = sorted({e["topic"] for e in expect if e["outcome"] == "ignored"})
    leaked = [t for t in ignored for d in ("topics", "dlq")
              if os.path.exists(os.path.join(args.lake, d, t))]
    check(not leaked, "topics %s: nothing in the lake" % ", ".join(ignored), leaked)

    # /metrics: records and rejects by topic and reason, exactly.
    metrics = parse_metrics(args.metrics)
    problems = []
    for topic in sorted(subscribed):
        n = sum(1 for e in expect if e["topic"] == topic)
        got = metrics.get('pinpipe_records_total{topic="%s"}' % topic)
        if got != str(n):
            problems.append("records_total %s: %s, want %d" % (topic, got, n))
        by_reason = collections.Counter(e["detail"] for e in rejects if e["topic"] == topic)
        for reason in ("too_large", "invalid_utf8", "invalid_json", "not_object", "missing_key",
                       "bad_key"):
            got = metrics.get('pinpipe_rejected_total{topic="%s",reason="%s"}' % (topic, reason),
                              "0")
            if got != str(by_reason[reason]):
                problems.append("rejected_total %s %s: %s, want %d"
                                % (topic, reason, got, by_reason[reason]))
    for name in metrics:
        if any(t in name for t in ignored if t not in subscribed and '"%s"' % t in name):
            problems.append("a metric names an ignored topic: " + name)
    if metrics.get("pinpipe_posts_joined_total") != "40":
        problems.append("posts_joined_total %s, want 40" % metrics.get("pinpipe_posts_joined_total"))
    for p in problems:
        print("    " + p)
    check(not problems, "/metrics: records and rejects by topic and reason, 40 posts joined")

    q = json.load(open(args.queries, encoding="utf-8"))
    w = q["windows"][0]
    got = (q["input"]["posts"], w["posts"])
    check(got == (40, 40), "/v1/queries?window=all: the 40 good posts joined", got)
    rows = w["queries"]["category_by_country"]["rows"] if "category_by_country" in \
        w["queries"] else None
    check(rows is not None and any(r[0] == "Iceland" and r[1] == "art" and r[2] == 40
                                   for r in rows),
          "/v1/queries: category_by_country counts the 40 good posts", rows)


# ---- HTTP -------------------------------------------------------------------

def raw_request(port, data, timeout=10.0):
    """Sends bytes, returns (status or None, headers text, body) of the answer
    (the connection is closed by the server or times out). The bytes are
    sent by a thread while the answer is read: a server may answer (413)
    and close before it has read everything."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send():
        try:
            s.sendall(data)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    finally:
        s.close()
        sender.join(timeout)
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else None), head.decode("latin-1"), body


def error_shape(body, code):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return isinstance(d, dict) and set(d) == {"error_code", "message"} and d["error_code"] == code


def req(path, method="GET", body=b"", headers=(), version="HTTP/1.1"):
    h = "".join("%s\r\n" % x for x in headers)
    if body or method == "POST":
        if not any(x.lower().startswith("content-length") or
                   x.lower().startswith("transfer-encoding") for x in headers):
            h += "Content-Length: %d\r\n" % len(body)
    return ("%s %s %s\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (method, path, version, h)
            ).encode("latin-1") + body


def cmd_http(args):
    port = int(re.search(r":(\d+)$", args.url.rstrip("/")).group(1))
    auth = ("Authorization: Bearer " + args.token,) if args.token else ()
    v2 = "Content-Type: application/vnd.kafka.json.v2+json"
    topic = "/topics/%s.pin" % args.prefix
    good = json.dumps({"records": [{"value": {"index": 777001, "title": "http"}}]}).encode()

    # A slow client, started first and running while everything else does:
    # a request line sent one byte a second must be cut by the server within
    # its timeout (the whole request must arrive within it, docs/http.md).
    slow = {}

    def slowloris():
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        start = time.monotonic()
        msg = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        sent = 0
        try:
            for b in msg:
                s.sendall(bytes([b]))
                sent += 1
                time.sleep(1.0)
                if time.monotonic() - start > args.timeout + 15:
                    break
            slow["result"] = "sent everything"
        except OSError as e:
            slow["result"] = "cut: %s" % e.__class__.__name__
        # The server may cut it between two sends (the next send fails) or
        # while we sleep; either way reading now sees the end.
        try:
            s.settimeout(2)
            data = s.recv(1024)
            if slow.get("result") == "sent everything":
                slow["result"] = "answered %r" % data[:40]
        except OSError:
            pass
        slow["seconds"] = time.monotonic() - start
        slow["sent"] = sent
        s.close()

    slow_thread = threading.Thread(target=slowloris, daemon=True)
    slow_thread.start()
    time.sleep(0.5)

    # Malformed HTTP is answered by the server (4xx), never by a crash.
    cases = [
        # MHD closes on a request line without a version, answering nothing.
        ("garbage request line", b"HELLO\r\n\r\n", (400, None)),
        ("binary garbage", bytes(range(256)) * 4 + b"\r\n\r\n", (400,)),
        ("NUL in the path", b"GET /v1/\x00status HTTP/1.1\r\nHost: x\r\n\r\n", (400, 401, 404)),
        ("unknown HTTP version", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", (400, 505)),
        ("header without a colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", (400,)),
        ("64 KiB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 +
         b"\r\n\r\n", (400, 413, 431)),
        ("negative Content-Length", req(topic, "POST", b"", auth + (v2, "Content-Length: -1")),
         (400,)),
        ("non-numeric Content-Length", req(topic, "POST", b"", auth + (v2, "Content-Length: x")),
         (400,)),
        ("huge Content-Length", req(topic, "POST", b"", auth + (v2,
                                                                "Content-Length: 99999999999999999999")),
         (400, 413)),
        ("Content-Length over the limit", req(topic, "POST", b"{}", auth + (
            v2, "Content-Length: %d" % (args.max_body + 1))), (413,)),
        ("bad chunk size", req(topic, "POST", b"zz\r\nab\r\n0\r\n\r\n",
                               auth + (v2, "Transfer-Encoding: chunked")), (400,)),
    ]
    for name, data, want in cases:
        status, head, body = raw_request(port, data)
        check(status in want, "malformed HTTP, %s: %s" % (name, "/".join(map(str, want))),
              "%s %r" % (status, head[:80]))

    # Bodies: chunked over the limit, a body that stops short of its
    # Content-Length (cut by the timeout, tested below with the slow
    # client), a 10 MB body.
    chunk = b"x" * 4096
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                       for _ in range(args.max_body // 4096 + 2)) + b"0\r\n\r\n"
    status, _, body = raw_request(port, req(topic, "POST", chunked, auth + (
        v2, "Transfer-Encoding: chunked")))
    check(status == 413 and error_shape(body, 41301), "chunked body over the limit: 413 41301",
          "%s %r" % (status, body[:80]))
    ten_mb = b'{"records":[{"value":{"index":1,"pad":"' + b"p" * (10 << 20) + b'"}}]}'
    status, _, body = raw_request(port, req(topic, "POST", ten_mb, auth + (v2,)), timeout=30)
    check(status == 413 and error_shape(body, 41301), "a 10 MB body: 413 41301",
          "%s %r" % (status, body[:80]))
    # Bodies the proxy must refuse with 422 (what test_rest.sh does not
    # already send).
    bodies = {
        "empty body": b"",
        "NUL byte": b'{"records":[{"value":{"index":1,"t":"a\x00b"}}]}',
        "10,000-deep value": b'{"records":[{"value":' + b"[" * 10000 + b"]" * 10000 + b"}]}",
        "duplicate records, the first not an array": b'{"records":1,"records":[{"value":1}]}',
        "BOM": b'\xef\xbb\xbf{"records":[{"value":{"index":1}}]}',
        "UTF-16": '{"records":[{"value":{"index":1}}]}'.encode("utf-16"),
        "a string": b'"records"',
        "only whitespace": b" \r\n\t ",
    }
    for name, body_in in bodies.items():
        status, _, body = raw_request(port, req(topic, "POST", body_in, auth + (v2,)))
        check(status == 422 and error_shape(body, 42201), "body %s: 422 42201" % name,
              "%s %r" % (status, body[:100]))
    # Content types: odd spellings of the accepted ones work, others 415.
    types = {
        "application/vnd.kafka.json.v2+json; charset=utf-8": 200,
        "APPLICATION/JSON": 200,
        "application/json;charset=UTF-8": 200,
        "application/json; charset=latin-1": 415,
        "application/jsonx": 415,
        "application/vnd.kafka.json.v3+json": 415,
        "multipart/form-data; boundary=x": 415,
        "": 415,
    }
    for ctype, want in types.items():
        status, head, body = raw_request(port, req(topic, "POST", good, auth + (
            "Content-Type: " + ctype,)))
        ok = status == want and (want != 415 or error_shape(body, 41501))
        check(ok, "Content-Type %r: %d" % (ctype, want), "%s %r" % (status, body[:100]))
    # GET endpoints with hostile query strings and paths. %00 stays encoded
    # (a NUL would cut the path short: /v1/status%00.json was /v1/status).
    gets = {
        "/v1/queries?window=" + "%ff" * 1000: (400,),
        "/v1/queries?window=tumbling:0s": (400,),
        "/v1/queries?window=tumbling:99999999999999999999h": (400,),
        "/v1/queries/%00": (404,),
        "/v1/status%00.json": (404,),
        "/v1/queries?window=all%00x": (400,),
        "/v1/queries/" + "a" * 5000: (404,),
        "/v1/queries?window=all&window=all&" + "&".join("x%d=1" % i for i in range(300)): (200,),
        # More arguments than MHD's 32 KiB of memory per connection holds:
        # MHD closes the connection without an answer (docs/http.md).
        "/v1/status?" + "&".join("x%d=1" % i for i in range(1000)): (None,),
        "/v1/../v1/status": (200, 404),
        "/metrics?%": (200,),
        "/%2e%2e/%2e%2e/etc/passwd": (404,),
    }
    for path, want in gets.items():
        status, head, body = raw_request(port, req(path, headers=auth))
        check(status in want, "GET %s: %s" % (path[:50], "/".join(map(str, want))),
              "%s %r" % (status, body[:100]))
    status, _, _ = raw_request(port, req("/topics/%s.pin" % args.prefix, "DELETE", headers=auth))
    check(status == 405, "DELETE /topics/<topic>: 405", status)

    # 1,000 connections at once: each opens, all send a request together,
    # and every one is answered 200 (MHD takes 256 at a time; the others
    # wait in the listen backlog), while the server keeps answering.
    n = 1000
    socks = []
    open_errors = 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            socks.append(s)
        except OSError:
            open_errors += 1
    results = collections.Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(min(len(socks), 200) + 1)

    def worker(group):
        barrier.wait()
        for s in group:
            path = ("/healthz", "/v1/status", "/metrics", "/v1/queries?window=all",
                    "/nope")[hash(s) % 5]
            try:
                s.sendall(req(path, headers=auth))
                buf = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                m = re.match(rb"HTTP/1\.1 (\d{3})", buf)
                want = "404" if path == "/nope" else "200"
                r = "ok" if m and m.group(1).decode() == want else \
                    "status %s" % (m.group(1).decode() if m else "none")
            except OSError as e:
                r = e.__class__.__name__
            finally:
                s.close()
            with lock:
                results[r] += 1

    groups = [socks[i::200] for i in range(min(len(socks), 200))]
    threads = [threading.Thread(target=worker, args=(g,)) for g in groups]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    barrier.wait()
    # Meanwhile a fresh client is served.
    mid = raw_request(port, req("/healthz"), timeout=30)[0]
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - t0
    check(open_errors == 0 and results["ok"] == n,
          "1,000 concurrent connections: all answered with the right status (%.1f s)" % elapsed,
          "%d failed to open, %s" % (open_errors, dict(results)))
    check(mid == 200, "a new client during the 1,000: /healthz 200", mid)

    # With a token: every route refuses a missing, wrong or malformed one.
    if args.token:
        routes = [("GET", "/v1/queries"), ("GET", "/v1/queries/category_by_year"),
                  ("GET", "/v1/status"), ("GET", "/metrics"), ("POST", topic),
                  ("GET", "/nope"), ("DELETE", topic), ("GET", "/v1/status%00.json")]
        bad = [(), ("Authorization: Bearer",), ("Authorization: Bearer wrong",),
               ("Authorization: Bearer " + args.token + "x",),
               ("Authorization: Bearer " + args.token[:-1],),
               ("Authorization: Basic " + base64.b64encode(b"u:" + args.token.encode()).decode(),),
               ("Authorization: " + args.token,),
               ("Authorization: Bearer " + args.token + " x",),
               ("Authorization: Bearer\t" + args.token + "\x01",),
               ("Authorization: Bearer " + "a" * 4000,)]
        wrong = []
        for method, path in routes:
            for h in bad:
                body = good if method == "POST" else b""
                status, head, rbody = raw_request(port, req(path, method, body, h + (v2,)))
                if status != 401 or not error_shape(rbody, 40101) or \
                        "www-authenticate: bearer" not in head.lower():
                    wrong.append("%s %s %r: %s" % (method, path, h[:1], status))
        check(not wrong, "token: %d routes x %d bad Authorization headers: 401 40101 with "
              "WWW-Authenticate" % (len(routes), len(bad)), wrong[:5])
        # Public by design: health, and the dashboard's page and assets,
        # which hold no data (docs/dashboard.md).
        for path in ("/healthz", "/readyz", "/"):
            status, _, _ = raw_request(port, req(path))
            check(status == 200, "token: %s stays public" % path, status)
        status, _, _ = raw_request(port, req("/v1/status", headers=auth))
        check(status == 200, "token: the right one opens /v1/status", status)
        status, _, _ = raw_request(port, req("/v1/status", headers=(
            "authorization: bearer " + args.token,)))
        check(status == 200, "token: the scheme is case-insensitive", status)

    slow_thread.join(args.timeout + 30)
    secs = slow.get("seconds", -1)
    check(slow.get("result", "").startswith("cut") or slow.get("sent", 0) < 200 and
          not slow.get("result", "").startswith("answered"),
          "a client sending one byte a second is cut (after %.1f s, %d bytes)"
          % (secs, slow.get("sent", 0)), slow)
    check(0 < secs <= args.timeout + 3, "... within the %d s timeout (+3 s)" % args.timeout, secs)
    status, _, _ = raw_request(port, req("/healthz"))
    check(status == 200, "after all that: /healthz 200", status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["produce", "check", "http"])
    ap.add_argument("--bootstrap")
    ap.add_argument("--prefix", default="pinterest")
    ap.add_argument("--phase", choices=["before", "hostile", "after"])
    ap.add_argument("--expect")
    ap.add_argument("--lake")
    ap.add_argument("--metrics")
    ap.add_argument("--queries")
    ap.add_argument("--dlq-topic")
    ap.add_argument("--url")
    ap.add_argument("--token")
    ap.add_argument("--max-body", type=int, default=1 << 20)
    ap.add_argument("--timeout", type=int, default=30)
    args = ap.parse_args()
    {"produce": cmd_produce, "check": cmd_check, "http": cmd_http}[args.command](args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
