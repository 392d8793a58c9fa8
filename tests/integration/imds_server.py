#!/usr/bin/env python3
"""A fake EC2 instance metadata service (IMDSv2) for test_awscred.sh.

    imds_server.py --port P --log FILE --secrets FILE [--first-expiry S]
                   [--later-expiry S] [--fail-after N] [--no-role]
                   [--bad-json] [--hang]

Speaks the part of IMDSv2 the credential chain uses:
  PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600)
      -> a session token (400 without the header);
  GET /latest/meta-data/iam/security-credentials/ -> the role's name
      (404 with --no-role);
  GET /latest/meta-data/iam/security-credentials/<role> -> JSON credentials
      (AccessKeyId ASIAFAKE...<n>, SecretAccessKey, Token, Expiration): the
      first expire --first-expiry seconds after the request (soon, to make
      the client refresh), later ones --later-expiry seconds after; after
      --fail-after answers, 500; --bad-json answers malformed JSON that
      still holds a secret.
Every GET must carry a valid X-aws-ec2-metadata-token: without it 401.
With --hang it accepts connections and never answers.

One line per request in --log ("PUT /latest/api/token 200"); every secret
and token it hands out, one per line, in --secrets (for the leak check).
Prints "listening on <port>" when ready.
"""
import argparse
import datetime
import http.server
import json
import secrets
import socket
import sys
import threading

ROLE = "pinpipe-role"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secrets", required=True)
    ap.add_argument("--first-expiry", type=int, default=600)
    ap.add_argument("--later-expiry", type=int, default=21600)
    ap.add_argument("--fail-after", type=int, default=-1)
    ap.add_argument("--no-role", action="store_true")
    ap.add_argument("--bad-json", action="store_true")
    ap.add_argument("--hang", action="store_true")
    args = ap.parse_args()

    if args.hang:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", args.port))
        s.listen(16)
        print("listening on %d" % args.port, flush=True)
        held = []
        while True:
            conn, _ = s.accept()
            held.append(conn)  # never answered, never closed

    lock = threading.Lock()
    state = {"tokens": set(), "served": 0}
    log = open(args.log, "a", buffering=1)
    secret_log = open(args.secrets, "a", buffering=1)

    def remember(value):
        secret_log.write(value + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def answer(self, status, body, note=""):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            log.write("%s %s %d%s\n" % (self.command, self.path, status, note))

        def do_PUT(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path != "/latest/api/token":
                return self.answer(404, "")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.answer(400, "", " (no or bad ttl)")
            token = "imds-" + secrets.token_urlsafe(24)
            with lock:
                state["tokens"].add(token)
            remember(token)
            self.answer(200, token)

        def do_GET(self):
            token = self.headers.get("X-aws-ec2-metadata-token")
            with lock:
                valid = token is not None and token in state["tokens"]
            if not valid:
                return self.answer(401, "", " (no token)" if token is None else " (bad token)")
            if self.path == CREDS_PATH:
                if args.no_role:
                    return self.answer(404, "")
                return self.answer(200, ROLE + "\n")
            if self.path != CREDS_PATH + ROLE:
                return self.answer(404, "")
            with lock:
                state["served"] += 1
                n = state["served"]
            if 0 <= args.fail_after < n:
                return self.answer(500, "", " (failing)")
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            expiry = args.first_expiry if n == 1 else args.later_expiry
            secret = "SECRET-%d-%s" % (n, secrets.token_urlsafe(30))
            session = "TOKEN-%d-%s" % (n, secrets.token_urlsafe(200))
            remember(secret)
            remember(session)
            body = json.dumps({
                "Code": "Success",
                "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIAFAKE%012d" % n,
                "SecretAccessKey": secret,
                "Token": session,
                "Expiration": (now + datetime.timedelta(seconds=expiry)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }, indent=2)
            if args.bad_json:
                body = body[:-3] + ",,}"
            self.answer(200, body, " (credentials %d)" % n)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on %d" % args.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
