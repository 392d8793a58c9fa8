#!/usr/bin/env python3
"""Windows with controlled Kafka timestamps (SPEC 6), driven by test_windows.sh.

    windows_check.py <bootstrap> <http base url>

`pinpipe run` must be consuming <bootstrap> with
    analytics.windows=all,tumbling:1m,hopping:2m/1m  analytics.allowed.lateness=5s
    join.timeout=30s  dedup.ttl=2m  (analytics.retention: the default 24h)
and topics of one partition each. Posts are produced one step at a time with
confluent_kafka, each part with a chosen record timestamp, and the next step
waits until the answers count every record sent so far, so the order in which
the engine sees posts is the order below. Every expected value is derived by
hand in the comments (times in seconds after T0); nothing is computed by the
code under test. Prints one "ok"/"FAIL" line per check; exit 1 on a failure.
"""
import json
import sys
import time
import urllib.request

from confluent_kafka import Producer

T0 = 1767225600000  # 2026-01-01T00:00:00Z, a minute boundary (ms)
S = 1000

bootstrap, api = sys.argv[1], sys.argv[2]
producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
failed = 0
sent = 0


def check(name, got, want):
    global failed
    if got == want:
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}\n       got  {got}\n       want {want}")


def post(ind, category, country, t_pin, t_geo, t_user):
    """Produces a post's parts (a None time leaves the part out), keyed by
    ind like the emulator, each with its record timestamp (ms after T0)."""
    global sent
    parts = {
        "pin": {"index": ind, "unique_id": f"00000000-0000-4000-8000-{ind:012d}",
                "title": f"title {ind}", "description": "d", "poster_name": f"poster {ind}",
                "follower_count": f"{ind}k", "tag_list": "a,b", "is_image_or_video": "image",
                "image_src": "https://example.com/i.jpg", "downloaded": 1,
                "save_location": f"Local save in /data/{category}", "category": category},
        "geo": {"ind": ind, "timestamp": "2020-06-01 10:00:00", "latitude": 1.5,
                "longitude": 2.5, "country": country},
        "user": {"ind": ind, "first_name": "Ann", "last_name": f"Lee{ind}", "age": 30,
                 "date_joined": "2016-03-01 00:00:00"},
    }
    for topic, t in (("pin", t_pin), ("geo", t_geo), ("user", t_user)):
        if t is None:
            continue
        producer.produce(f"pinterest.{topic}", json.dumps(parts[topic]), key=str(ind),
                         timestamp=T0 + t)
        sent += 1
    left = producer.flush(20)
    if left:
        sys.exit(f"windows_check: {left} records not delivered")
    # The next post only once this one is consumed: the engine must see the
    # posts in this order (the three topics' partitions are fetched in any
    # order, so one later record could move stream time past a post's
    # join.timeout, or the watermark past its window).
    get("all")


def get(window, query="category_by_country"):
    """The answer for one window spec, once it counts every record sent."""
    url = f"{api}/v1/queries/{query}?window={window}"
    deadline = time.time() + 30
    d = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                d = json.load(r)
            if sum(d["input"]["records"].values()) == sent:
                return d
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    sys.exit(f"windows_check: {url} never counted {sent} records (last: {d and d['input']})")


def windows(d):
    """(start s, end s, open, posts, category_by_country rows) per window."""
    return [((w["start_ms"] - T0) // S, (w["end_ms"] - T0) // S, w["open"], w["posts"],
             w["queries"]["category_by_country"]["rows"]) for w in d["windows"]]


X, Y = "Xland", "Yland"

# P1 at 15 (parts 10, 12, 15) and P2 at 59.999 (the last ms of [0,60)).
post(1, "art", X, 10 * S, 12 * S, 15 * S)
post(2, "art", X, 50 * S, 55 * S, 59999)
# P3: parts straddle the boundary (58 and 40 before it, 60 on it): its time
# is the largest, 60.000 exactly, so it is in [60,120), not [0,60).
post(3, "travel", X, 58 * S, 60 * S, 40 * S)
# P4 at 64 (its pin at 40): watermark 64 - 5 = 59 < 60, [0,60) stays open.
# (A post's parts must lie within join.timeout, 30 s, of each other, in
# whatever order the three topics deliver them.)
post(4, "travel", X, 40 * S, 64 * S, 62 * S)

d = get("tumbling:1m")
check("4 posts: watermark = 64 s - 5 s", d["watermark_ms"] - T0, 59 * S)
check("4 posts: tumbling:1m, boundary-1ms in [0,60), boundary and straddling post in [60,120), "
      "both open", windows(d),
      [(0, 60, True, 2, [[X, "art", 2]]), (60, 120, True, 2, [[X, "travel", 2]])])
# hopping:2m/1m windows are [k*60, k*60+120): a post is in two of them.
# [0,120) holds P1..P4: art 2, travel 2, a tie that the smaller name wins.
check("4 posts: hopping:2m/1m", windows(get("hopping:2m/1m")),
      [(-60, 60, True, 2, [[X, "art", 2]]), (0, 120, True, 4, [[X, "art", 2]]),
       (60, 180, True, 2, [[X, "travel", 2]])])

# P5 at 65: watermark 60 reaches the end of [0,60) and [-60,60): closed.
post(5, "travel", X, 65 * S, 65 * S, 65 * S)
d = get("tumbling:1m")
check("P5: watermark 60 s", d["watermark_ms"] - T0, 60 * S)
check("P5: [0,60) closed (watermark >= end), [60,120) open", windows(d),
      [(0, 60, False, 2, [[X, "art", 2]]), (60, 120, True, 3, [[X, "travel", 3]])])
check("P5: hopping [-60,60) closed, the others open", windows(get("hopping:2m/1m")),
      [(-60, 60, False, 2, [[X, "art", 2]]), (0, 120, True, 5, [[X, "travel", 3]]),
       (60, 180, True, 3, [[X, "travel", 3]])])

# P6 at 50 < watermark 60: late. Counted in `all` and in late_posts, in no
# time window: not in closed [0,60), not even in [0,120), still open. (Its
# parts must still be within join.timeout of stream time, 65: parts stamped
# before 35 would time out at once and never join, docs/stream.md.)
post(6, "zoo", Y, 40 * S, 45 * S, 50 * S)
d = get("tumbling:1m")
check("late P6: late_posts 1, watermark unchanged", (d["late_posts"], d["watermark_ms"] - T0),
      (1, 60 * S))
check("late P6: not in its closed window", windows(d),
      [(0, 60, False, 2, [[X, "art", 2]]), (60, 120, True, 3, [[X, "travel", 3]])])
check("late P6: not in an open hopping window either", windows(get("hopping:2m/1m")),
      [(-60, 60, False, 2, [[X, "art", 2]]), (0, 120, True, 5, [[X, "travel", 3]]),
       (60, 180, True, 3, [[X, "travel", 3]])])
d = get("all")
check("late P6: counted in all", (d["windows"][0]["posts"],
                                  d["windows"][0]["queries"]["category_by_country"]["rows"]),
      (6, [[X, "travel", 3], [Y, "zoo", 1]]))

# P7 at exactly the watermark (60): on time, in [60,120) and [0,120).
post(7, "art", X, 60 * S, 60 * S, 60 * S)
d = get("tumbling:1m")
check("P7 at the watermark: on time", d["late_posts"], 1)
check("P7 at the watermark: in [60,120)", windows(d),
      [(0, 60, False, 2, [[X, "art", 2]]), (60, 120, True, 4, [[X, "travel", 3]])])
check("P7 at the watermark: hopping (art 3 = travel 3 in [0,120): art)",
      windows(get("hopping:2m/1m")),
      [(-60, 60, False, 2, [[X, "art", 2]]), (0, 120, True, 6, [[X, "art", 3]]),
       (60, 180, True, 4, [[X, "travel", 3]])])

# P8: pin and geo at 66, never a user. Waiting while stream time <= 66 + 30.
post(8, "food", X, 66 * S, 66 * S, None)
d = get("all")
check("P8 half-sent: waiting, no orphan yet", (d["input"]["orphans"], d["input"]["posts"]),
      ({"pin": 0, "geo": 0, "user": 0}, 7))
# P9 at 100 moves stream time past 96: P8's two parts are orphans.
post(9, "food", X, 100 * S, 100 * S, 100 * S)
d = get("all")
check("P9 at 100 s: P8's parts are orphans after join.timeout",
      d["input"]["orphans"], {"pin": 1, "geo": 1, "user": 0})

# P1 again at 101: within dedup.ttl of its first parts (10 + 120 >= 101):
# one duplicate per topic, no new post.
post(1, "art", X, 101 * S, 101 * S, 101 * S)
d = get("all")
check("P1 again within dedup.ttl: duplicates, counted once",
      (d["input"]["duplicates"], d["input"]["posts"]), ({"pin": 1, "geo": 1, "user": 1}, 8))

# P10 at 200: watermark 195 closes [60,120), [0,120) and [60,180).
post(10, "food", X, 200 * S, 200 * S, 200 * S)
# P2 again at 201: stream time 200 > 59.999 + 120, the end of its dedup.ttl,
# so its key was forgotten: a new post (docs/stream.md: counted twice).
post(2, "art", X, 201 * S, 201 * S, 201 * S)

# P11, every part at 160, arrives when stream time is 201: each part is
# already past join.timeout (160 + 30 < 201), so the post is never joined and
# is not a late post: its three parts are orphans (docs/stream.md). They are
# counted when the expiry queue reaches them, so P12 at 202 and P13 at 300
# follow; at 300 every entry stamped before 270 has expired.
post(11, "zoo", Y, 160 * S, 160 * S, 160 * S)
post(12, "food", X, 202 * S, 202 * S, 202 * S)
post(13, "food", X, 300 * S, 300 * S, 300 * S)

# Watermark 295: [180,240) closed; [180,300) still open (295 < 300).
d = get("tumbling:1m")
check("end: watermark 295 s", d["watermark_ms"] - T0, 295 * S)
check("end: tumbling:1m (closed windows kept)", windows(d),
      [(0, 60, False, 2, [[X, "art", 2]]), (60, 120, False, 5, [[X, "travel", 3]]),
       (180, 240, False, 3, [[X, "food", 2]]), (300, 360, True, 1, [[X, "food", 1]])])
check("end: hopping:2m/1m", windows(get("hopping:2m/1m")),
      [(-60, 60, False, 2, [[X, "art", 2]]), (0, 120, False, 7, [[X, "art", 3]]),
       (60, 180, False, 5, [[X, "travel", 3]]), (120, 240, False, 3, [[X, "food", 2]]),
       (180, 300, True, 3, [[X, "food", 2]]), (240, 360, True, 1, [[X, "food", 1]]),
       (300, 420, True, 1, [[X, "food", 1]])])
d = get("all")
i = d["input"]
# art: P1, P2, P7 and P2 again (4); food: P9, P10, P12, P13 (4): art wins.
check("end: all (P2 after dedup.ttl counted twice; P11 not a post)",
      (d["late_posts"], i["posts"], d["windows"][0]["posts"],
       d["windows"][0]["queries"]["category_by_country"]["rows"]),
      (1, 12, 12, [[X, "art", 4], [Y, "zoo", 1]]))
check("end: input counts (orphans: P8's pin and geo, P11's three parts)",
      (i["records"], i["duplicates"], i["orphans"]),
      ({"pin": 15, "geo": 15, "user": 14}, {"pin": 1, "geo": 1, "user": 1},
       {"pin": 2, "geo": 2, "user": 1}))
with urllib.request.urlopen(f"{api}/metrics", timeout=5) as r:
    metrics = r.read().decode()
check("end: metrics",
      sorted(line for line in metrics.splitlines()
             if line.startswith(("pinpipe_late_posts_total ", "pinpipe_posts_joined_total ",
                                 'pinpipe_orphans_total{topic="pinterest.pin"}'))),
      ["pinpipe_late_posts_total 1", 'pinpipe_orphans_total{topic="pinterest.pin"} 2',
       "pinpipe_posts_joined_total 12"])

# The 7 closed windows above are frozen in every shard that holds one.
frozen = {line.split()[0]: int(line.split()[1]) for line in metrics.splitlines()
          if line.startswith("pinpipe_window_frozen")}
check("end: closed windows frozen",
      (frozen.get("pinpipe_window_frozen", 0) >= 7, frozen.get("pinpipe_window_frozen_bytes", 0) > 0),
      (True, True))

print(f"windows_check: {failed} failed")
sys.exit(1 if failed else 0)
