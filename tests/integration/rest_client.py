#!/usr/bin/env python3
"""A REST Proxy v2 client written like the original posting emulator, for
tests/integration/test_rest.sh.

The original emulator (AiCore's user_posting_emulation.py) posted each record
of a post like this, and that code must work against pinpipe unchanged:

    payload = json.dumps({"records": [{"value": {...}}]}, default=str)
    headers = {'Content-Type': 'application/vnd.kafka.json.v2+json'}
    response = requests.request("POST", invoke_url, headers=headers, data=payload)

Commands (each prints one line per check, "ok   ..." or "FAIL ...", and
exits 1 when a check failed):

  post   --url U --prefix P --out DIR [--data F --order F] [--draws N]
         [--batch-draws N] [--token T]
      Posts the pin, geo and user records of the first N draws of the
      emulator's posting order, one record per request exactly as above;
      then the next --batch-draws draws as multi-record requests (10 records
      each) from 4 threads at once. Checks every answer's Confluent shape
      (offsets, error_code null, schema ids null), that a post's three
      records land in one partition (keyed by index/ind), and that offsets
      grow per partition. Writes DIR/sent.tsv ("topic key partition offset
      value", the value as Kafka must hold it) and DIR/expect.json (the
      input counts pinpipe must report). Without --data (the real records
      are not on this machine), posts are generated.
  errors --url U --prefix P --max-body N
      Malformed bodies, content types, unknown topics, bad partitions and an
      oversized body get the SPEC 8 status and the Confluent error shape.
  auth   --url U --prefix P --token T
      Without a token and with a wrong one: 401 40101; with it: 200.
  keys   --file F
      Every line "topic key partition offset value" of a kcat dump has the
      key of the value's index/ind (decimal), as pinpipe emulate and the
      proxy key records.
"""
import argparse
import collections
import json
import os
import random
import sys
import threading

import requests

V2_JSON = "application/vnd.kafka.json.v2+json"
failures = 0


def check(cond, name, detail=""):
    global failures
    if cond:
        print("ok   " + name)
    else:
        failures += 1
        print("FAIL " + name + (": " + detail if detail else ""))
    return cond


def key_field(topic):
    return "index" if topic == "pin" else "ind"


def load_posts(args):
    """The (ind, topic, record) triples to post, in posting order."""
    if args.data and os.path.exists(args.data) and os.path.exists(args.order):
        by_key = {}
        with open(args.data, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                topic = rec.pop("topic")
                by_key[(topic, rec[key_field(topic)])] = rec
        order = []
        with open(args.order, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    order.append(int(line))
        source = "real records"
    else:
        # Generated posts of the same shape, with escapes and repeats.
        rng = random.Random(7)
        order = [rng.randint(0, 500) for _ in range(args.draws + args.batch_draws)]
        by_key = {}
        for ind in set(order):
            by_key[("pin", ind)] = {"index": ind, "unique_id": "u%d" % ind,
                                    "title": "caf\u00e9 \u00a0 \"q\" & (p) %d" % ind,
                                    "follower_count": "%dk" % (ind % 90),
                                    "category": "art"}
            by_key[("geo", ind)] = {"ind": ind, "timestamp": "2020-01-02 03:04:05",
                                    "latitude": -1.5, "longitude": 2.25, "country": "C\u00f4te"}
            by_key[("user", ind)] = {"ind": ind, "first_name": "A", "last_name": "B",
                                     "age": 20 + ind % 40, "date_joined": "2016-05-06 07:08:09"}
        source = "generated records"
    return by_key, order, source


def post_records(url, headers, records):
    payload = json.dumps({"records": [{"value": r} for r in records]}, default=str)
    return requests.request("POST", url, headers=headers, data=payload, timeout=30)


def offsets_of(resp, n, name):
    """The (partition, offset) of each record of a 200 answer, or None."""
    try:
        body = resp.json()
    except ValueError:
        check(False, name, "not JSON: %r" % resp.text[:200])
        return None
    ok = (resp.status_code == 200 and set(body) == {"offsets", "key_schema_id", "value_schema_id"}
          and body["key_schema_id"] is None and body["value_schema_id"] is None
          and len(body["offsets"]) == n
          and all(set(o) == {"partition", "offset", "error_code", "error"}
                  and isinstance(o["partition"], int) and isinstance(o["offset"], int)
                  and o["error_code"] is None and o["error"] is None for o in body["offsets"]))
    if not ok:
        check(False, name, "%d %s" % (resp.status_code, resp.text[:300]))
        return None
    return [(o["partition"], o["offset"]) for o in body["offsets"]]


def cmd_post(args):
    by_key, order, source = load_posts(args)
    headers = {"Content-Type": V2_JSON}
    if args.token:
        headers["Authorization"] = "Bearer " + args.token
    base = args.url.rstrip("/")
    sent = []  # (topic, key, partition, offset, value)
    post_partition = {}
    last_offset = {}
    shape_ok = True
    copartitioned = True
    increasing = True

    def note(topic, rec, po):
        nonlocal copartitioned, increasing
        ind = rec[key_field(topic)]
        partition, offset = po
        value = json.dumps(rec, separators=(",", ":"), default=str)
        sent.append((topic, str(ind), partition, offset, value))
        if post_partition.setdefault(ind, partition) != partition:
            copartitioned = False
        if offset <= last_offset.get((topic, partition), -1):
            increasing = False
        last_offset[(topic, partition)] = offset

    # One record per request, sequentially: the original emulator.
    for ind in order[:args.draws]:
        for topic in ("pin", "geo", "user"):
            rec = by_key.get((topic, ind))
            if rec is None:
                continue
            resp = post_records("%s/topics/%s.%s" % (base, args.prefix, topic), headers, [rec])
            po = offsets_of(resp, 1, "post %s %d" % (topic, ind))
            if po is None:
                shape_ok = False
                break
            note(topic, rec, po[0])
        if not shape_ok:
            break
    n_single = len(sent)
    check(shape_ok, "%d single-record posts of %s: 200 with Confluent-shaped offsets"
          % (n_single, source))

    # Multi-record requests from 4 threads at once.
    batch = order[args.draws:args.draws + args.batch_draws]
    jobs = []
    for i in range(0, len(batch), 10):
        for topic in ("pin", "geo", "user"):
            recs = [by_key[(topic, ind)] for ind in batch[i:i + 10] if (topic, ind) in by_key]
            if recs:
                jobs.append((topic, recs))
    results = [None] * len(jobs)
    lock = threading.Lock()
    next_job = [0]

    def worker():
        while True:
            with lock:
                j = next_job[0]
                next_job[0] += 1
            if j >= len(jobs):
                return
            topic, recs = jobs[j]
            resp = post_records("%s/topics/%s.%s" % (base, args.prefix, topic), headers, recs)
            results[j] = (resp.status_code, resp)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batch_ok = True
    seen = set((row[0], (row[2], row[3])) for row in sent)
    for (topic, recs), res in zip(jobs, results):
        po = offsets_of(res[1], len(recs), "batch post %s" % topic) if res else None
        if po is None:
            batch_ok = False
            continue
        for rec, p in zip(recs, po):
            ind = rec[key_field(topic)]
            value = json.dumps(rec, separators=(",", ":"), default=str)
            sent.append((topic, str(ind), p[0], p[1], value))
            if post_partition.setdefault(ind, p[0]) != p[0]:
                copartitioned = False
            if (topic, p) in seen:
                batch_ok = False
            seen.add((topic, p))
    if jobs:
        check(batch_ok, "%d multi-record posts from 4 threads: 200, every (partition, offset) "
              "answered once" % len(jobs))
    check(copartitioned, "a post's pin, geo and user records share a partition (keyed by "
          "index/ind)")
    check(increasing, "offsets grow per partition in posting order")

    with open(os.path.join(args.out, "sent.tsv"), "w", encoding="utf-8") as f:
        for row in sent:
            f.write("%s.%s\t%s\t%d\t%d\t%s\n" % (args.prefix, row[0], row[1], row[2], row[3],
                                                 row[4]))
    counts = collections.Counter(row[0] for row in sent)
    keys = collections.defaultdict(set)
    for row in sent:
        keys[row[0]].add(row[1])
    expect = {
        "records": sum(counts.values()),
        "pin": counts["pin"], "geo": counts["geo"], "user": counts["user"],
        "duplicates": {t: counts[t] - len(keys[t]) for t in ("pin", "geo", "user")},
        "posts": len(keys["pin"] & keys["geo"] & keys["user"]),
        "requests": n_single + len(jobs),
    }
    with open(os.path.join(args.out, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(expect, f)


def error_answer(resp, status, code, name):
    try:
        body = resp.json()
    except ValueError:
        body = None
    ok = (resp.status_code == status and isinstance(body, dict)
          and set(body) == {"error_code", "message"} and body["error_code"] == code
          and isinstance(body["message"], str) and body["message"] != ""
          and resp.headers.get("Content-Type", "").startswith("application/json"))
    check(ok, "%s: %d %d" % (name, status, code), "%d %s" % (resp.status_code, resp.text[:200]))


def cmd_errors(args):
    base = args.url.rstrip("/")
    pin = "%s/topics/%s.pin" % (base, args.prefix)
    good = json.dumps({"records": [{"value": {"index": 1}}]})

    def post(url, data, content_type=V2_JSON):
        headers = {"Content-Type": content_type} if content_type else {}
        return requests.request("POST", url, headers=headers, data=data, timeout=30)

    for ctype in ("text/plain", "application/vnd.kafka.binary.v2+json",
                  "application/vnd.kafka.avro.v2+json", "application/x-www-form-urlencoded",
                  None):
        error_answer(post(pin, good, ctype), 415, 41501, "content type %s" % ctype)
    malformed = {
        "truncated JSON": "{\"records\": [",
        "record without value": json.dumps({"records": [{"value": {"index": 1}}, {"key": 1}]}),
        "no records": "{}",
        "empty records": "{\"records\": []}",
        "records not an array": "{\"records\": {\"value\": 1}}",
        "not an object": "[{\"value\": 1}]",
        "trailing garbage": good + " x",
        "invalid UTF-8": b"{\"records\": [{\"value\": \"\xff\"}]}",
        "deep nesting": "{\"records\": [{\"value\": " + "[" * 3000 + "]" * 3000 + "}]}",
    }
    for name, body in malformed.items():
        error_answer(post(pin, body), 422, 42201, name)
    error_answer(post(pin, json.dumps({"records": [{"partition": -1, "value": 1}]})), 422, 42202,
                 "negative partition")
    error_answer(post(pin, json.dumps({"records": [{"partition": 9999, "value": 1}]})), 404, 40402,
                 "partition not found")
    error_answer(post("%s/topics/%s.other" % (base, args.prefix), good), 404, 40401,
                 "unknown topic")
    error_answer(post("%s/topics/nope" % base, good), 404, 40401, "unknown topic without prefix")
    big = json.dumps({"records": [{"value": {"index": 1, "pad": "x" * args.max_body}}]})
    error_answer(post(pin, big), 413, 41301, "body over http.max.body.bytes")
    resp = requests.request("GET", pin, timeout=30)
    check(resp.status_code == 405 and "POST" in resp.headers.get("Allow", ""),
          "GET /topics/<topic>: 405 with Allow: POST", "%d" % resp.status_code)


def cmd_auth(args):
    url = "%s/topics/%s.user" % (args.url.rstrip("/"), args.prefix)
    payload = json.dumps({"records": [{"value": {"ind": 424242, "age": 30}}]}, default=str)
    headers = {"Content-Type": V2_JSON}
    # The original client, unchanged, against a server with a token.
    error_answer(requests.request("POST", url, headers=headers, data=payload, timeout=30),
                 401, 40101, "no token")
    headers["Authorization"] = "Bearer wrong-" + args.token
    error_answer(requests.request("POST", url, headers=headers, data=payload, timeout=30),
                 401, 40101, "wrong token")
    headers["Authorization"] = "Bearer " + args.token
    resp = requests.request("POST", url, headers=headers, data=payload, timeout=30)
    check(offsets_of(resp, 1, "with the token") is not None, "with the token: 200")


def cmd_keys(args):
    bad = []
    n = 0
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            topic, key, _partition, _offset, value = line.rstrip("\n").split("\t", 4)
            field = "index" if topic.endswith(".pin") else "ind"
            n += 1
            if key != str(int(json.loads(value)[field])):
                bad.append(line[:200])
    check(n > 0 and not bad, "%d records keyed by their index/ind" % n,
          "%d of %d differ, e.g. %s" % (len(bad), n, bad[:1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["post", "errors", "auth", "keys"])
    ap.add_argument("--url")
    ap.add_argument("--prefix", default="pinterest")
    ap.add_argument("--out")
    ap.add_argument("--data")
    ap.add_argument("--order")
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--batch-draws", type=int, default=100)
    ap.add_argument("--token")
    ap.add_argument("--max-body", type=int, default=1 << 20)
    ap.add_argument("--file")
    args = ap.parse_args()
    {"post": cmd_post, "errors": cmd_errors, "auth": cmd_auth, "keys": cmd_keys}[args.command](args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
