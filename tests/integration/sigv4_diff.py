#!/usr/bin/env python3
"""Differential test of pp_sigv4 against botocore's S3SigV4Auth.

    sigv4_diff.py <sigv4_sign driver> [--count N] [--seed S]

Generates N random S3 requests (seeded, so a failure reproduces), signs
each with botocore (Debian's python3-botocore) and with the C driver
(tests/integration/sigv4_sign.c), and requires every Authorization header,
x-amz-date, x-amz-content-sha256 and the presence of x-amz-security-token
to be equal. On the first mismatch prints the request and both canonical
requests, and exits 1.

The requests are built the way botocore builds S3 requests: the key in the
path encoded with botocore.utils.percent_encode(key, safe='/~') (its
greedy-label rule), the query with percent_encode on names and values,
parameters without value ("?uploads") written bare, the host from the URL
(botocore.auth._host_from_url) or an explicit Host header. Payload signing
is chosen per request through the client config (s3.payload_signing_enabled),
so both the body hash and UNSIGNED-PAYLOAD are covered.
"""
import argparse
import datetime
import json
import random
import subprocess
import sys
import types

import botocore.auth
import botocore.credentials
import botocore.utils
from botocore.awsrequest import AWSRequest

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
RESERVED = "!*'()~+=&$@,;:?#[]%"
UNICODE = ["é", "ü", "ß", "ñ", "中", "文", "日本", "Ω", "😀", "🚀", "\u00a0", "\u200b", "ф"]
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"]
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "us-gov-west-1",
           "cn-north-1", "sa-east-1", "auto", "garage"]
HOSTS = ["s3.amazonaws.com", "s3.eu-west-1.amazonaws.com", "mybucket.s3.us-east-2.amazonaws.com",
         "127.0.0.1:9000", "minio.internal:9000", "localhost:4566", "s3.example.test"]
BUCKETS = ["bucket", "my.bucket-1", "lake", "a" * 63]


def rand_text(rng, max_len, pools):
    """A string of up to max_len pieces drawn from the given pools."""
    n = rng.randrange(0, max_len + 1)
    out = []
    for _ in range(n):
        pool = rng.choice(pools)
        piece = rng.choice(pool)
        out.append(piece)
    return "".join(out)


def rand_key(rng):
    """An object key: empty, short, long (to S3's 1,024 bytes), with spaces,
    unicode, reserved and unreserved characters, slashes and dot segments."""
    pools = [UNRESERVED, UNRESERVED, RESERVED, " ", "/", UNICODE, ["//", "./", "../", "%20", "+"]]
    r = rng.random()
    if r < 0.05:
        return ""
    if r < 0.12:
        key = rand_text(rng, 600, pools)
        return key.encode("utf-8")[:1024].decode("utf-8", "ignore")
    return rand_text(rng, 40, pools)


def rand_b64(rng, lo, hi):
    return "".join(rng.choice(BASE64) for _ in range(rng.randrange(lo, hi))) + rng.choice(["", "=", "=="])


def rand_params(rng):
    """Query parameters as (name, value or None) pairs, S3's and odd ones."""
    params = []
    kind = rng.random()
    if kind < 0.3:
        params.append(("list-type", "2"))
        if rng.random() < 0.8:
            params.append(("prefix", rand_key(rng)))
        if rng.random() < 0.5:
            params.append(("delimiter", rng.choice(["/", "|", " ", ""])))
        if rng.random() < 0.4:
            params.append(("continuation-token", rand_b64(rng, 10, 120)))
        if rng.random() < 0.3:
            params.append(("max-keys", str(rng.randrange(0, 1001))))
        if rng.random() < 0.2:
            params.append(("start-after", rand_key(rng)))
        if rng.random() < 0.2:
            params.append(("encoding-type", "url"))
    elif kind < 0.4:
        params.append(("uploads", None))
    elif kind < 0.55:
        params.append(("partNumber", str(rng.randrange(1, 10001))))
        params.append(("uploadId", rand_b64(rng, 20, 90)))
    elif kind < 0.6:
        params.append(("uploadId", rand_b64(rng, 20, 90)))
    elif kind < 0.65:
        params.append((rng.choice(["lifecycle", "versioning", "acl", "tagging", "delete"]), None))
    elif kind < 0.72:
        # Odd names and values, a repeated name, an empty value.
        for _ in range(rng.randrange(1, 5)):
            name = rand_text(rng, 8, [UNRESERVED, RESERVED, UNICODE, " "]) or "n"
            params.append((name, rng.choice([None, "", rand_key(rng)])))
        if rng.random() < 0.5:
            params.append((params[0][0], rand_key(rng)))
    rng.shuffle(params)
    return params


def rand_header_value(rng):
    """Printable ASCII with runs of spaces and tabs inside and around."""
    pieces = []
    for _ in range(rng.randrange(0, 6)):
        pieces.append(rng.choice([" ", "  ", "\t", " \t ", "   "]))
        pieces.append("".join(rng.choice(UNRESERVED + "!*'()+=&$@,;:?#[]%/\"<>") for _ in range(rng.randrange(1, 12))))
    if rng.random() < 0.5:
        pieces.append(rng.choice([" ", "\t", "  "]))
    return "".join(pieces)


def mixed_case(rng, name):
    return "".join(c.upper() if rng.random() < 0.3 else c for c in name)


def rand_headers(rng, method, body):
    headers = []
    if method in ("PUT", "POST") and rng.random() < 0.7:
        headers.append(("Content-Type", rng.choice(["application/json", "text/plain; charset=utf-8",
                                                    "application/octet-stream", "application/xml",
                                                    "application/x-ndjson;  charset = utf-8 "])))
    if method in ("PUT", "POST") and rng.random() < 0.3:
        headers.append(("Content-Length", str(len(body))))
    for _ in range(rng.randrange(0, 4)):
        headers.append((mixed_case(rng, "x-amz-meta-" + rand_text(rng, 10, [UNRESERVED.replace(".", "").replace("~", "")]) or "x-amz-meta-m"),
                        rand_header_value(rng)))
    if method == "GET" and rng.random() < 0.3:
        headers.append(("Range", "bytes=%d-%d" % (rng.randrange(0, 100), rng.randrange(100, 10000))))
    extras = [("x-amz-storage-class", "STANDARD_IA"), ("x-amz-acl", "bucket-owner-full-control"),
              ("Cache-Control", "max-age=3600,   public"), ("If-None-Match", "*"),
              ("x-amz-server-side-encryption", "aws:kms"), ("Content-Encoding", "zstd"),
              ("User-Agent", "pinpipe/0.1  (linux)"), ("Expect", "100-continue"),
              ("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")]
    for name, value in extras:
        if rng.random() < 0.1:
            headers.append((mixed_case(rng, name), value))
    if headers and rng.random() < 0.1:
        # The same name again, in another case: values joined by ','.
        name, _ = rng.choice(headers)
        if name.lower() not in ("user-agent", "expect", "x-amzn-trace-id"):
            headers.append((name.swapcase(), rand_header_value(rng)))
    return headers


def rand_time(rng):
    r = rng.random()
    if r < 0.02:
        return 0
    if r < 0.05:
        return 1582934399 + rng.choice([0, 1, 86400])  # around 2020-02-29
    return rng.randrange(946684800, 4102444800)  # 2000 .. 2099


def rand_request(rng):
    method = rng.choice(METHODS)
    body = ""
    if method in ("PUT", "POST") or rng.random() < 0.05:
        body = rand_text(rng, 300, [UNRESERVED, RESERVED, " \n\t", UNICODE])
    token = rand_b64(rng, 100, 900) if rng.random() < 0.4 else None
    return {
        "method": method,
        "scheme": rng.choice(["http", "https"]),
        "host": rng.choice(HOSTS),
        "explicit_host": rng.random() < 0.5,
        "bucket": rng.choice(BUCKETS) if rng.random() < 0.7 else None,
        "key": rand_key(rng),
        "params": rand_params(rng),
        "headers": None,  # filled below (depends on the body)
        "body": body,
        "unsigned": rng.random() < 0.3,
        "region": rng.choice(REGIONS),
        "time": rand_time(rng),
        "akid": rng.choice(["AKIA", "ASIA"]) + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "secret": "".join(rng.choice(BASE64) for _ in range(40)),
        "token": token,
    }


def url_of(r):
    enc = botocore.utils.percent_encode
    path = "/" + (r["bucket"] + "/" if r["bucket"] is not None else "") + r["key"]
    url = "%s://%s%s" % (r["scheme"], r["host"], enc(path, safe="/~"))
    query = []
    for name, value in r["params"]:
        query.append(enc(name) if value is None else "%s=%s" % (enc(name), enc(value)))
    if query:
        url += "?" + "&".join(query)
    return url, path


class RecordingAuth(botocore.auth.S3SigV4Auth):
    """botocore's S3 signer, keeping the canonical request it signed."""

    def canonical_request(self, request):
        self.last_canonical = super().canonical_request(request)
        return self.last_canonical


class FixedDatetime(datetime.datetime):
    fixed = None

    @classmethod
    def utcnow(cls):
        return cls.fixed


def botocore_sign(r):
    url, _ = url_of(r)
    headers = {}
    request = AWSRequest(method=r["method"], url=url, data=r["body"].encode("utf-8"))
    for name, value in r["headers"]:
        request.headers[name] = value  # HTTPHeaders: a repeated name is added, not replaced
    if r["explicit_host"]:
        request.headers["Host"] = r["host"]
    request.context["client_config"] = types.SimpleNamespace(
        s3={"payload_signing_enabled": not r["unsigned"]})
    creds = botocore.credentials.Credentials(r["akid"], r["secret"], r["token"])
    auth = RecordingAuth(creds, "s3", r["region"])
    FixedDatetime.fixed = datetime.datetime.fromtimestamp(r["time"], datetime.timezone.utc).replace(tzinfo=None)
    saved = botocore.auth.datetime
    botocore.auth.datetime = types.SimpleNamespace(datetime=FixedDatetime)
    try:
        auth.add_auth(request)
    finally:
        botocore.auth.datetime = saved
    headers = {k.lower(): v for k, v in request.headers.items()}
    return headers, auth.last_canonical


def driver_line(r):
    _, path = url_of(r)
    line = {"method": r["method"], "path": path, "region": r["region"], "time": r["time"],
            "akid": r["akid"], "secret": r["secret"], "token": r["token"], "body": r["body"],
            "unsigned": r["unsigned"], "np": len(r["params"]), "nh": 0}
    headers = list(r["headers"])
    if r["explicit_host"]:
        headers.append(("Host", r["host"]))
    else:
        headers.append(("host", botocore.auth._host_from_url(url_of(r)[0])))
    for i, (name, value) in enumerate(r["params"]):
        line["p%dn" % i] = name
        line["p%dv" % i] = value
    for i, (name, value) in enumerate(headers):
        line["h%dn" % i] = name
        line["h%dv" % i] = value
    line["nh"] = len(headers)
    return json.dumps(line, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    requests = []
    for _ in range(args.count):
        r = rand_request(rng)
        r["headers"] = rand_headers(rng, r["method"], r["body"])
        requests.append(r)
    stdin = "".join(driver_line(r) + "\n" for r in requests)
    proc = subprocess.run([args.driver], input=stdin.encode("utf-8"), capture_output=True)
    if proc.returncode != 0:
        print("driver failed (exit %d): %s" % (proc.returncode, proc.stderr.decode()))
        return 1
    answers = proc.stdout.decode("utf-8").splitlines()
    if len(answers) != len(requests):
        print("driver answered %d lines for %d requests" % (len(answers), len(requests)))
        return 1

    stats = {"token": 0, "unsigned": 0, "query": 0, "long_key": 0, "unicode_key": 0,
             "empty_key": 0, "extra_headers": 0}
    for i, (r, answer) in enumerate(zip(requests, answers)):
        got = json.loads(answer)
        want, want_cr = botocore_sign(r)
        problems = []
        if "error" in got:
            problems.append("driver error: " + got["error"])
        else:
            if got["authorization"] != want["authorization"]:
                problems.append("Authorization differs")
            if got["amz_date"] != want["x-amz-date"]:
                problems.append("x-amz-date %s, botocore %s" % (got["amz_date"], want["x-amz-date"]))
            if got["content_sha256"] != want["x-amz-content-sha256"]:
                problems.append("x-amz-content-sha256 %s, botocore %s"
                                % (got["content_sha256"], want["x-amz-content-sha256"]))
            if got["token_line"] != ("x-amz-security-token" in want):
                problems.append("x-amz-security-token presence differs")
        if problems:
            print("MISMATCH at request %d (seed %d): %s" % (i, args.seed, "; ".join(problems)))
            print("request:", json.dumps({k: v for k, v in r.items() if k not in ("secret",)},
                                         ensure_ascii=False))
            print("url:", url_of(r)[0])
            print("--- pinpipe Authorization:\n%s" % got.get("authorization"))
            print("--- botocore Authorization:\n%s" % want.get("authorization"))
            print("--- pinpipe canonical request:\n%s" % got.get("canonical_request"))
            print("--- botocore canonical request:\n%s" % want_cr)
            return 1
        stats["token"] += r["token"] is not None
        stats["unsigned"] += r["unsigned"]
        stats["query"] += bool(r["params"])
        stats["long_key"] += len(r["key"].encode("utf-8")) > 200
        stats["unicode_key"] += any(ord(c) > 127 for c in r["key"])
        stats["empty_key"] += r["key"] == ""
        stats["extra_headers"] += len(r["headers"]) > 0
    print("%d requests (seed %d): every Authorization equals botocore %s's; covered: %s"
          % (len(requests), args.seed, botocore.__version__ if hasattr(botocore, "__version__") else "?",
             ", ".join("%s %d" % kv for kv in stats.items())))
    return 0


if __name__ == "__main__":
    import botocore  # noqa: F811 (for __version__)
    sys.exit(main())
