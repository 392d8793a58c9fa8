#!/usr/bin/env python3
"""SPEC 4's invariant, checked: the streaming all-time answers of `pinpipe run`
equal `pinpipe query` over the same records.

    compare_answers.py <stream.json> <batch.json> [--keep-orphans]

stream.json is the answer to GET /v1/queries?window=all, batch.json the output
of `pinpipe query --format json`. The stream's one `all` window and its input
counts are compared with the batch document by tests/oracle/compare.mjs (exact:
same rows in the same order, numbers as exact decimals, input counts).

Orphans are left out unless --keep-orphans: a part whose siblings were
replaced by malformed records is an orphan for the batch job at once, but for
the stream only after join.timeout (10 minutes of record time by default).

Exit status: 0 equal, 1 different (the differences are printed), 2 unreadable
input.
"""
import json
import os
import subprocess
import sys
import tempfile


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    keep_orphans = "--keep-orphans" in argv[1:]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(args[0]) as f:
            d = json.load(f)
        with open(args[1]) as f:
            batch = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"compare_answers: {e}\n")
        return 2
    if d.get("window") != "all" or len(d.get("windows", [])) != 1:
        sys.stderr.write(f"compare_answers: {args[0]} is not a window=all answer\n")
        return 2
    stream = {"queries": d["windows"][0]["queries"], "input": d["input"]}
    if not keep_orphans:
        for doc in (stream, batch):
            doc["input"].pop("orphans", None)
    compare = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle",
                           "compare.mjs")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, doc in (("batch.json", batch), ("stream.json", stream)):
            paths.append(os.path.join(tmp, name))
            with open(paths[-1], "w") as f:
                json.dump(doc, f)
        return subprocess.call(["node", compare] + paths)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
