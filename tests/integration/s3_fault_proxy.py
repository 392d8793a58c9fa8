#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between pinpipe and an S3 server (s3rver).

  s3_fault_proxy.py <listen port> <upstream port> <control port>

Listens on 127.0.0.1:<listen port> and forwards each HTTP/1.1 request to
127.0.0.1:<upstream port>, keeping connections alive, unless the current
fault says otherwise. Prints "ready <listen port> <control port>" once both
ports listen. The control port takes plain GET requests:

  /fault?kind=K[&every=N][&count=M]   from now on, every N-th request (1: all)
                                      gets fault K, at most M times (then it
                                      passes again); answers the new state
  /stats                              counters as JSON, with "keys": per
                                      access key id of the requests'
                                      Authorization, {"requests", "faulted"}

Faults (K):
  pass            forward everything
  500             answer 500 InternalError (S3's XML error body)
  503             answer 503 ServiceUnavailable
  slowdown        answer 503 SlowDown (S3's throttling answer)
  expired         answer 400 ExpiredToken (temporary credentials S3 says
                  have expired)
  stall           read the request and never answer (until the client
                  gives up and closes, which is counted)
  reset-request   read the headers and half of the body, then reset the
                  connection (RST: SO_LINGER 0)
  reset-response  forward the request (the object is written), then send
                  half of the answer's head and reset the connection
  down            refuse connections (the listening socket is closed) and
                  reset the open ones; every=/count= do not apply

Requests must carry Content-Length (no chunked bodies): pinpipe's do.
"""
import http.client
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERRORS = {
    "500": (500, "Internal Server Error", "InternalError",
            "We encountered an internal error. Please try again."),
    "503": (503, "Service Unavailable", "ServiceUnavailable",
            "Service is unable to handle request."),
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "expired": (400, "Bad Request", "ExpiredToken", "The provided token has expired."),
}
KINDS = ("pass", "stall", "reset-request", "reset-response", "down") + tuple(ERRORS)
# Headers that belong to one hop, not to the request or answer.
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "content-length"}
# A stalled request is held at most this long (the test ends long before).
STALL_MAX_S = 300


class Proxy:
    def __init__(self, port, upstream):
        self.port = port
        self.upstream = upstream
        self.lock = threading.Lock()
        self.kind, self.every, self.left, self.seen = "pass", 1, None, 0
        self.stats = {"requests": 0, "forwarded": 0, "stalls_given_up_by_client": 0,
                      "faults": {k: 0 for k in KINDS}, "keys": {}}
        self.conns = set()
        self.listener = None
        self.open_listener()

    def open_listener(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.listener = s
        threading.Thread(target=self.accept_loop, args=(s,), daemon=True).start()

    def accept_loop(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: "down"
            with self.lock:
                self.conns.add(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def set_fault(self, kind, every, count):
        with self.lock:
            was_down = self.kind == "down"
            self.kind, self.every, self.left, self.seen = kind, every, count, 0
            if kind == "down" and not was_down:
                self.stats["faults"]["down"] += 1
                # shutdown wakes the thread blocked in accept(); close alone
                # would not, and it would go on accepting.
                self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                for c in list(self.conns):
                    reset(c)
            elif kind != "down" and was_down:
                self.open_listener()

    def decide(self):
        """The fault for the next request (and counts it)."""
        with self.lock:
            self.stats["requests"] += 1
            kind = self.kind
            if kind in ("pass", "down"):
                return kind
            self.seen += 1
            if self.seen % self.every != 0 or self.left == 0:
                return "pass"
            if self.left is not None:
                self.left -= 1
            self.stats["faults"][kind] += 1
            return kind

    def count_key(self, headers, kind):
        """Counts the request under the access key id of its signature."""
        auth = next((v for n, v in headers if n.lower() == "authorization"), "")
        key = auth.partition("Credential=")[2].partition("/")[0] or "(unsigned)"
        with self.lock:
            k = self.stats["keys"].setdefault(key, {"requests": 0, "faulted": 0})
            k["requests"] += 1
            if kind != "pass":
                k["faulted"] += 1

    def count(self, name):
        with self.lock:
            self.stats[name] += 1

    def serve(self, conn):
        rfile = conn.makefile("rb")
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        try:
            while self.one_request(conn, rfile, upstream):
                pass
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            upstream.close()
            rfile.close()
            with self.lock:
                self.conns.discard(conn)
            conn.close()

    def one_request(self, conn, rfile, upstream):
        """Serves one request; False when the connection is done."""
        line = rfile.readline(65536)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            h = rfile.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = int(next((v for n, v in headers if n.lower() == "content-length"), "0"))
        kind = self.decide()
        self.count_key(headers, kind)
        if kind == "down":  # the request raced the listener's closing
            reset(conn)
            return False
        if kind == "reset-request":
            rfile.read(length // 2)
            reset(conn)
            return False
        body = rfile.read(length)
        if len(body) != length:
            return False
        if kind in ERRORS:
            status, reason, code, message = ERRORS[kind]
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                   "<Message>%s</Message><RequestId>proxy</RequestId></Error>"
                   % (code, message)).encode()
            conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
                         b"Content-Length: %d\r\n\r\n%s"
                         % (status, reason.encode(), len(xml), xml))
            return True
        if kind == "stall":
            conn.settimeout(STALL_MAX_S)
            try:
                while conn.recv(65536):
                    pass
                self.count("stalls_given_up_by_client")
            except OSError:
                self.count("stalls_given_up_by_client")
            return False
        upstream.request(method, target, body=body,
                         headers={n: v for n, v in headers if n.lower() not in HOP})
        resp = upstream.getresponse()
        data = resp.read()
        self.count("forwarded")
        head = "HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason)
        for n, v in resp.getheaders():
            if n.lower() not in HOP:
                head += "%s: %s\r\n" % (n, v)
        head = (head + "Content-Length: %d\r\n\r\n" % len(data)).encode("latin-1")
        if kind == "reset-response":
            conn.sendall(head[: len(head) // 2])
            time.sleep(0.05)  # let the client read it before the reset
            reset(conn)
            return False
        conn.sendall(head + data)
        return True


def reset(conn):
    """Closes with an RST instead of a FIN."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass


def control_handler(proxy):
    class Control(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            status = 200
            if url.path == "/fault" and q.get("kind") in KINDS:
                count = q.get("count")
                proxy.set_fault(q["kind"], max(1, int(q.get("every", "1"))),
                                None if count is None else int(count))
                out = {"kind": proxy.kind, "every": proxy.every, "count": proxy.left}
            elif url.path == "/stats":
                with proxy.lock:
                    out = json.loads(json.dumps(proxy.stats))
                out["kind"] = proxy.kind
            else:
                status, out = 400, {"error": "GET /fault?kind=%s[&every=N][&count=M] or /stats"
                                    % "|".join(KINDS)}
            body = (json.dumps(out) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    return Control


def main():
    port, upstream, control_port = (int(a) for a in sys.argv[1:4])
    proxy = Proxy(port, upstream)
    control = ThreadingHTTPServer(("127.0.0.1", control_port), control_handler(proxy))
    print("ready %d %d" % (port, control_port), flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
