#!/usr/bin/env python3
"""Checks for test_dashboard.sh, standard library only.

    dashboard_check.py dom <dom.html> <queries.json> <status.json> [<window>]
        the page after its scripts ran (chromium --dump-dom) against the
        API's own answers: state ok, no banner, the posts total, the window
        selector, and data in every chart.
    dashboard_check.py live <dom.html>
        the same for a stream still moving (pinpipe demo): state ok, no
        banner, posts counted, every chart has data.
    dashboard_check.py banner <dom.html> <text>
        the page shows its error banner, containing text.
    dashboard_check.py png <shot.png>
        a screenshot is not blank and has every chart's colour.

Prints one line per failed check and exits 1 if any failed.
"""
import html.parser
import json
import struct
import sys
import zlib

# The charts' colours (tools/dashboard/dashboard.js, COLOURS) and the
# fewest pixels of each a screenshot with data must have: bars cover
# thousands of pixels, the red median line only a few hundred.
COLOURS = {
    "blue": ((0x25, 0x63, 0xEB), 1000),
    "orange": ((0xEA, 0x58, 0x0C), 1000),
    "green": ((0x16, 0xA3, 0x4A), 1000),
    "violet": ((0x7C, 0x3A, 0xED), 1000),
    "teal": ((0x0D, 0x94, 0x88), 1000),
    "red": ((0xDC, 0x26, 0x26), 50),
}
CHARTS = ["trend", "categories", "countries", "years", "ages", "joined", "agejoin"]

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)


class Dom(html.parser.HTMLParser):
    """The attributes of body, of the elements with an id, and the options
    of the window selector, and the banner's text."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.ids = {}
        self.options = []
        self.banner_text = ""
        self._in_banner = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if "id" in a:
            self.ids[a["id"]] = a
        if tag == "option":
            self.options.append(a.get("value"))
        self._in_banner = a.get("id") == "banner"

    def handle_endtag(self, tag):
        self._in_banner = False

    def handle_data(self, data):
        if self._in_banner:
            self.banner_text += data


def read_dom(path):
    dom = Dom()
    with open(path, encoding="utf-8") as f:
        dom.feed(f.read())
    return dom


def check_dom(dom_path, queries_path, status_path, window="all"):
    dom = read_dom(dom_path)
    doc = json.load(open(queries_path))
    status = json.load(open(status_path))
    body = dom.body
    check(body.get("data-state") == "ok", "state %r, banner %r" % (body.get("data-state"), dom.banner_text))
    check("hidden" in dom.ids.get("banner", {}), "the error banner is shown: %r" % dom.banner_text)
    check(int(body.get("data-updates", "0")) >= 1, "no refresh completed")
    check(body.get("data-window") == window, "window %r, want %r" % (body.get("data-window"), window))
    check(body.get("data-posts") == str(doc["input"]["posts"]),
          "posts %r, the API says %d" % (body.get("data-posts"), doc["input"]["posts"]))
    check(body.get("data-windows") == str(len(doc["windows"])),
          "windows %r, the API has %d" % (body.get("data-windows"), len(doc["windows"])))
    check(dom.ids.get("s-records", {}).get("data-value") == str(status["records"]),
          "records %r, the API says %d" % (dom.ids.get("s-records", {}).get("data-value"), status["records"]))
    check(dom.options == status["windows"], "selector %r, the API keeps %r" % (dom.options, status["windows"]))

    # Points per chart, from the newest window as the page shows it.
    newest = doc["windows"][-1]["queries"]
    rows = {name: q["rows"] for name, q in newest.items()}
    want = {
        "categories": len({r[1] for r in rows["category_by_country"]}),
        "countries": min(10, len(rows["top_user_by_country"])),
        "years": len(rows["category_by_year"]),
        "ages": len(rows["median_followers_by_age_group"]),
        "joined": len(rows["users_joined_by_year"]) + len(rows["median_followers_by_join_year"]),
        "agejoin": len(rows["median_followers_by_age_group_and_join_year"]),
    }
    if window != "all":
        want["trend"] = len(doc["windows"])
    for chart in CHARTS:
        got = int(dom.ids.get(chart, {}).get("data-points", "0"))
        check(got > 0, "chart %s has no data" % chart)
        if chart in want:
            check(got == want[chart], "chart %s: %d points, want %d" % (chart, got, want[chart]))


def check_live(dom_path):
    dom = read_dom(dom_path)
    check(dom.body.get("data-state") == "ok",
          "state %r, banner %r" % (dom.body.get("data-state"), dom.banner_text))
    check("hidden" in dom.ids.get("banner", {}), "the error banner is shown: %r" % dom.banner_text)
    check(int(dom.body.get("data-posts", "0") or "0") > 0, "no posts shown")
    for chart in CHARTS:
        check(int(dom.ids.get(chart, {}).get("data-points", "0")) > 0, "chart %s has no data" % chart)


def check_banner(dom_path, text):
    dom = read_dom(dom_path)
    check(dom.body.get("data-state") == "error", "state %r, want error" % dom.body.get("data-state"))
    check("hidden" not in dom.ids.get("banner", {}), "the banner is hidden")
    check(text in dom.banner_text, "banner %r lacks %r" % (dom.banner_text, text))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(path):
    """(width, height, channels, rows): 8-bit RGB or RGBA, not interlaced,
    as Chromium writes them."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, colour))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        base = y * (stride + 1)
        ftype = raw[base]
        line = bytearray(raw[base + 1:base + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((x + p) & 0xFF for x, p in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], upleft)) & 0xFF
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def check_png(path):
    width, height, bpp, rows = decode_png(path)
    check(width >= 800 and height >= 600, "screenshot only %dx%d" % (width, height))
    counts = {}
    for line in rows:
        for i in range(0, len(line), bpp):
            px = (line[i], line[i + 1], line[i + 2])
            counts[px] = counts.get(px, 0) + 1
    total = width * height
    most = max(counts.values())
    check(len(counts) > 50, "blank: %d distinct colours" % len(counts))
    check(most < 0.9 * total, "blank: one colour covers %d%%" % (100 * most // total))
    for name, (rgb, least) in COLOURS.items():
        near = sum(n for px, n in counts.items() if all(abs(a - b) <= 6 for a, b in zip(px, rgb)))
        check(near >= least, "%s (#%02x%02x%02x): %d pixels, want >= %d" % ((name,) + rgb + (near, least)))
    print("screenshot %dx%d, %d colours" % (width, height, len(counts)))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "dom" and len(argv) in (5, 6):
        check_dom(*argv[2:])
    elif cmd == "live" and len(argv) == 3:
        check_live(argv[2])
    elif cmd == "banner" and len(argv) == 4:
        check_banner(*argv[2:])
    elif cmd == "png" and len(argv) == 3:
        check_png(argv[2])
    else:
        sys.exit(__doc__)
    for p in problems:
        print("    " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
