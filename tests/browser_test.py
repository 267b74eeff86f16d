#!/usr/bin/env python3
"""The timeline pages in a real browser (issue 18, docs/timeline.md).

Each fixture of a bug class (B1 to B5), a cluster run and a history that
is not linearizable is run with --html-dir (or check-history --html);
Debian's headless Chromium loads each page, and the test asserts on the
DOM it dumps: the headline names the run's property, a lane for every
actor (and node), the ops, one fault marker for each fault the report
says fired, the crash, the violation, the gauges, and the op panel
filled by the page's script (a #op=N link).  Every page must load with
no console message and no request leaving the file (Chromium's net log);
two pages made to break those rules prove the two checks can fail.  A
screenshot of each page goes to OUTDIR.

usage: browser_test.py BUILD_DIR SOURCE_DIR OUTDIR
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402

BUILD, SRC, OUTDIR = sys.argv[1], sys.argv[2], sys.argv[3]
FL = os.path.join(BUILD, "harness", "cli", "faultline")
SCN = os.path.join(SRC, "fixtures", "scenarios")

# name, scenario, the property its first failing run must break, runs,
# the gauge that shows the leak (ends above zero), or None
FIXTURES = [
    ("B1", "b1-image-leak.yaml", "image_refs", 5, "image refs"),
    ("B2", "b2-connect-leak.yaml", "no_orphaned_registrations", 20, "registrations"),
    ("B3", "b3-close-unsafe.yaml", "no_unexpected_signal", 200, None),
    ("B4", "b4-port-leak.yaml", "ports_zero", 50, "ports"),
    ("B5", "b5-free-after-send.yaml", "messages_freed_once", 5, None),
    ("cluster", "cluster-kv-stale-read.yaml", "linearizable", 50, None),
]

# Chromium without its own traffic (updates, sync, accounts): what the
# net log then holds of a page's origin is the page's.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--disable-extensions",
                  "--enable-logging=stderr", "--v=0"]


class Dom(html.parser.HTMLParser):
    """Every element's tag and attributes, and the text of those with an id."""

    def __init__(self):
        super().__init__()
        self.elems = []
        self.text = {}
        self._open = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elems.append((tag, a))
        self._open.append(a.get("id"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for i in self._open:
            if i:
                self.text[i] = self.text.get(i, "") + data

    def find(self, tag=None, cls=None, **attrs):
        out = []
        for t, a in self.elems:
            if tag and t != tag:
                continue
            if cls and cls not in (a.get("class") or "").split():
                continue
            if any(a.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            out.append(a)
        return out


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def load(browser, page, anchor="", shot=None, height=900):
    """Loads the page: (dom text, console lines, requests that left the
    file, seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        netlog = os.path.join(tmp, "net.json")
        cmd = [browser] + CHROMIUM_FLAGS + ["--user-data-dir=" + os.path.join(tmp, "profile"),
                                            "--log-net-log=" + netlog]
        if shot:
            cmd += ["--screenshot=" + shot, "--window-size=1400,%d" % height]
        else:
            cmd += ["--dump-dom"]
        t0 = time.monotonic()
        # a browser's start on a loaded machine: seconds; the timeout
        # only ends a hang
        p = subprocess.run(cmd + ["file://" + os.path.abspath(page) + anchor],
                           capture_output=True, text=True, timeout=300)
        secs = time.monotonic() - t0
        console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
        left = set()
        try:
            events = json.load(open(netlog)).get("events", [])
        except (OSError, ValueError):
            # Chromium ends the log's JSON only when it exits cleanly
            events = None
        for e in events or []:
            par = e.get("params") or {}
            url = par.get("url")
            if url and not url.startswith("file:") and \
                    "file://" in str(par.get("network_isolation_key", "")):
                left.add(url)
        if events is None:
            left.add("(no net log written)")
        return p.stdout, console, sorted(left), secs


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    return p.returncode, p.stdout + p.stderr


def actors_of(path):
    """The actor names a scenario file declares."""
    names, inside = [], False
    for line in open(path):
        if re.match(r"^actors:", line):
            inside = True
            continue
        if inside and re.match(r"^\S", line):
            break
        m = re.match(r"^  - name:\s*([\w.-]+)", line)
        if inside and m:
            names.append(m.group(1))
    return names


def main():
    browser = chromium()
    if not check(browser is not None, "Debian's chromium is installed (ci/setup)"):
        done()
    os.makedirs(OUTDIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="fl-browser-")
    seconds = 0.0

    # The two checks can fail: a console message, and a request out.
    neg = os.path.join(tmp, "neg.html")
    with open(neg, "w") as f:
        f.write("<!DOCTYPE html><html><body><p id='x'>x</p>"
                "<img src='http://127.0.0.1:9/x.png'>"
                "<script>console.error('planted');</script></body></html>")
    _, console, left, s = load(browser, neg)
    seconds += s
    check(any("planted" in l for l in console), "a page's console message is seen", console)
    check(any("127.0.0.1:9" in u for u in left), "a page's request out of the file is seen",
          left)

    pages = []  # (name, page, anchor, expectations)
    gauge_of = {f[0]: f[4] for f in FIXTURES}
    gauge_of["B1-show"] = gauge_of["B1"]
    for name, scn, prop, runs, _ in FIXTURES:
        path = os.path.join(SCN, scn)
        d = os.path.join(tmp, name)
        report = os.path.join(tmp, name + ".json")
        rc, out = run([FL, "run", path, "--seed", "1", "--runs", str(runs), "-q",
                       "--trace-dir", d + "-traces", "--json", report, "--html-dir", d,
                       "--html-max", "1"])
        if not check(rc == 1, "%s: the fixture fails (exit 1)" % name, out):
            continue
        failing = [r for r in json.load(open(report))["runs"] if r["verdict"] != "pass"]
        first = failing[0]
        if not check(first["property"] == prop and first.get("html"),
                     "%s: its first failing run breaks %s and has a page" % (name, prop),
                     first):
            continue
        pages_made = [r for r in failing if r.get("html")]
        check(len(pages_made) == 1 and len(os.listdir(d)) == 1,
              "%s: --html-max 1 made one page" % name, os.listdir(d))
        size = os.path.getsize(first["html"])
        check(size < 2 << 20, "%s: the page is under 2 MB (%d bytes)" % (name, size))
        print("# %s: %s, %d bytes" % (name, os.path.basename(first["html"]), size))
        pages.append((name, first["html"], path, first, prop))
        if first["property"] == "linearizable":
            hist = first["trace"] + ".history.edn"
            hpage = os.path.join(tmp, "history.html")
            hrc, hout = run([FL, "check-history", hist, "--html", hpage, "--json",
                             os.path.join(tmp, "history.json")])
            if check(hrc == 1 and os.path.exists(hpage),
                     "the cluster run's history is not linearizable and has a page", hout):
                pages.append(("history", hpage, hist, None, None))

    # faultline show draws the same run from its trace.
    b1 = [p for p in pages if p[0] == "B1"]
    if b1:
        shown = os.path.join(tmp, "b1-show.html")
        rc, out = run([FL, "show", b1[0][3]["trace"], "--html", shown])
        check(rc == 0 and os.path.exists(shown), "show TRACE --html writes the page", out)
        if os.path.exists(shown):
            pages.append(("B1-show", shown, b1[0][2], b1[0][3], b1[0][4]))

    for name, page, path, res, prop in pages:
        text = open(page).read()
        first_op = re.search(r'class="h?op [a-z]+" data-(?:i|op)="(\d+)"', text)
        anchor = "#op=" + first_op.group(1) if first_op else ""
        dom_text, console, left, s = load(browser, page, anchor)
        seconds += s
        dom = Dom()
        dom.feed(dom_text)
        check(not console, "%s: no console message" % name, console)
        check(not left, "%s: no request leaves the file" % name, left)
        h1 = dom.find("h1", id="headline")
        info = dom.text.get("info", "")
        if name == "history":
            hj = json.load(open(os.path.join(tmp, "history.json")))["histories"][0]
            check(h1 and h1[0].get("data-verdict") == "not linearizable",
                  "history: the headline says not linearizable", h1)
            check(len(dom.find("rect", cls="blocked")) == 1,
                  "history: one operation could not be placed")
            check(len(dom.find("rect", cls="lin")) == len(hj["failure"]["prefix"]),
                  "history: the ops linearized are the order found (%d)" %
                  len(hj["failure"]["prefix"]), len(dom.find("rect", cls="lin")))
            # A lane for each client process of the failing part (its
            # key's operations), counted from the history file itself.
            key, procs = hj["failure"].get("key", ""), set()
            for line in open(path):
                m = re.search(r":process (\d+)", line)
                k = re.search(r':key ("(?:[^"\\]|\\.)*"|[^,}\s]+)', line)
                if m and (not key or (k and k.group(1) == key)):
                    procs.add(m.group(1))
            check(len(procs) >= 2 and len(dom.find("g", cls="lane")) == len(procs),
                  "history: a lane for each of the part's %d processes" % len(procs),
                  len(dom.find("g", cls="lane")))
            check("process" in info, "history: the script shows the op linked to", info)
        else:
            check(h1 and h1[0].get("data-property") == prop and prop in dom.text.get(
                "headline", ""), "%s: the headline names %s" % (name, prop), h1)
            lanes = [a.get("data-name") for a in dom.find("g", cls="lane", data_kind="actor")]
            want = actors_of(path)
            check(sorted(lanes) == sorted(want), "%s: a lane for each actor %s" % (name, want),
                  lanes)
            ops = dom.find("rect", cls="op")
            check(len(ops) >= len(want), "%s: the ops are drawn (%d)" % (name, len(ops)))
            fired = sum((res.get("faults_fired") or {}).values())
            faults = dom.find("path", cls="fault")
            check(len(faults) == fired, "%s: a marker for each of the %d faults fired" % (
                name, fired), len(faults))
            check(len(dom.find("g", id="violation")) == 1, "%s: the violation is marked" % name)
            check(len(dom.find("g", cls="gauge")) >= 1, "%s: the gauges are drawn" % name)
            if gauge_of.get(name):
                g = dom.find("g", cls="gauge", data_name=gauge_of[name])
                check(g and int(g[0].get("data-max", "0")) > 0,
                      "%s: the %s gauge, the leak's, is drawn" % (name, gauge_of[name]), g)
            check("source: -" in info and "line " in info,
                  "%s: the script shows the op linked to, with its source line" % name, info)
            if res["verdict"] == "crash":
                check(len(dom.find("path", cls="crash")) >= 1 and
                      len(dom.find("rect", cls="crash")) >= 1,
                      "%s: the crash is marked, and the op it cut" % name)
            if name == "cluster":
                check(len(dom.find("g", cls="lane", data_kind="node")) >= 3,
                      "cluster: a lane for each node")
        shot = os.path.join(OUTDIR, name + ".png")
        _, console, left, s = load(browser, page, "", shot=shot, height=700)
        seconds += s
        ok = os.path.exists(shot) and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        check(ok and os.path.getsize(shot) > 10000,
              "%s: a screenshot (%s)" % (name, shot), console)
    print("# the browser's loads took %.1f s" % seconds)
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
