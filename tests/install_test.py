#!/usr/bin/env python3
"""The install test: faultline installed as any C library is.

`meson install --destdir D` from the build directory, then, with nothing
but what was installed: the pub/sub demo (transport/demo/pubsub_demo.c)
compiled outside the tree with `pkg-config --cflags --libs
faultline-transport`, linked against the shared library and again
against the static one (`pkg-config --static`), each run to exchange
2,000 messages; the seven man pages in place; a program on the engine's
shared library (pkg-config
faultline); the queue target's adapter (fixtures/targets/queue.c) built
as a shared object from the installed headers, correct and leaky, each
run by the installed faultline on its installed fixture (the leak must
be found); every installed header compiled alone, and each shared library's
exported symbols checked against the headers (fl_ ones they declare,
nothing else); every installed program's --help; and the installed
faultline running the installed copy of a shipped scenario.  Prints TAP lines;
exit status 1 on any failure.

usage: install_test.py BUILDDIR SOURCEDIR
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, done  # noqa: E402
import tempfile



def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    return p.returncode, p.stdout


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    return None


ENGINE_C = r"""
#include <stdio.h>
#include "faultline/choice.h"

int
main(void)
{
	struct fl_choice *a, *b;
	uint64_t got[100];
	int same = 0;

	if (fl_choice_new_seeded(42, &a) != 0)
		return 1;
	for (int i = 0; i < 100; i++)
		got[i] = fl_choice_draw(a, 1000);
	if (fl_choice_new_replay(fl_choice_values(a), fl_choice_count(a), &b) != 0)
		return 1;
	for (int i = 0; i < 100; i++)
		same += fl_choice_draw(b, 1000) == got[i];
	printf("replayed %d draws\n", same);
	fl_choice_free(a);
	fl_choice_free(b);
	return same == 100 ? 0 : 1;
}
"""


def main():
    build, src = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="faultline-install-")
    try:
        dest = os.path.join(work, "dest")
        # meson install rewrites the build's install log, which `ninja
        # uninstall` reads: the user's own install must stay undoable.
        log = os.path.join(build, "meson-logs", "install-log.txt")
        kept = None
        if os.path.exists(log):
            with open(log, "rb") as f:
                kept = f.read()
        try:
            rc, out = run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                           "--quiet"])
        finally:
            if kept is not None:
                with open(log, "wb") as f:
                    f.write(kept)
            elif os.path.exists(log):
                os.unlink(log)
        if not check(rc == 0, "meson install --destdir", out):
            return
        pc = find(dest, "faultline-transport.pc")
        faultline = find(dest, "faultline")
        scenario = find(dest, "pubsub-smoke.yaml")
        check(pc is not None, "faultline-transport.pc installed")
        for prog in ("faultline", "faultline-driver", "faultline-node", "faultline-kv",
                     "faultline-stat"):
            path = find(dest, prog)
            ok = path is not None and os.access(path, os.X_OK)
            rc, out = run([path, "--help"]) if ok else (1, "not installed")
            check(ok and rc == 0, "%s installed, and its --help runs" % prog, out)
        check(scenario is not None and "share/faultline/scenarios" in scenario,
              "the shipped scenarios installed under share/faultline/scenarios", scenario)
        for page, sect in (("faultline.1", "man1"), ("faultline-driver.8", "man8"),
                           ("faultline-stat.1", "man1"), ("faultline-node.1", "man1"),
                           ("faultline-kv.1", "man1"), ("faultline-scenario.5", "man5"),
                           ("faultline-transport.3", "man3")):
            path = find(dest, page)
            check(path is not None and path.endswith("share/man/%s/%s" % (sect, page)),
                  "man page %s installed" % page, path)
        for h in ("client.h", "driver.h", "platform.h", "reqrep.h", "stats.h"):
            check(find(dest, h) is not None and "include/faultline" in find(dest, h),
                  "include/faultline/%s installed" % h)
        if pc is None:
            return
        libdir = None
        for d, _, files in os.walk(dest):
            if any(f.startswith("libfaultline-transport.so") for f in files):
                libdir = d
        check(libdir is not None and os.path.exists(os.path.join(libdir, "libfaultline-transport.a")),
              "libfaultline-transport.so and .a installed side by side", libdir)
        if libdir is None:
            return
        # Public API hygiene: every installed header compiles alone (it
        # includes what it needs), and each shared library exports only
        # fl_ symbols that the installed headers declare.
        incdir = os.path.dirname(find(dest, "client.h"))
        text = ""
        for h in sorted(os.listdir(incdir)):
            with open(os.path.join(incdir, h)) as f:
                text += f.read()
            if not h.endswith(".h"):
                continue
            p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror", "-fsyntax-only",
                                "-I", os.path.dirname(incdir), "-x", "c", "-"],
                               input="#include \"faultline/%s\"\n" % h, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            check(p.returncode == 0, "faultline/%s compiles alone" % h, p.stdout)
        for lib in ("libfaultline-transport.so", "libfaultline-harness.so"):
            rc, out = run(["nm", "-D", "--defined-only", os.path.join(libdir, lib)])
            syms = [l.split()[-1] for l in out.splitlines() if len(l.split()) == 3]
            stray = [x for x in syms if not x.startswith(("fl_", "__wrap_")) or
                     not re.search(r"\b%s\b" % re.escape(x), text)]
            check(rc == 0 and len(syms) > 50 and not stray,
                  "%s exports only the fl_ (and __wrap_) symbols the headers declare (%d)" %
                  (lib, len(syms)),
                  "not public: %s" % stray[:20])
        # pkg-config as a user's build would call it; the sysroot maps the
        # .pc's prefix into the DESTDIR.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc), PKG_CONFIG_SYSROOT_DIR=dest)
        demo = os.path.join(src, "transport", "demo", "pubsub_demo.c")
        # A copy outside the tree: no include path of the source tree can
        # be picked up by accident.
        shutil.copy(demo, os.path.join(work, "demo.c"))
        for static in (False, True):
            how = "static" if static else "shared"
            flags = ["--cflags", "--libs"] + (["--static"] if static else [])
            rc, cfl = run(["pkg-config"] + flags + ["faultline-transport"], env=env)
            if not check(rc == 0, "pkg-config %s faultline-transport (%s)" % (" ".join(flags), how),
                         cfl):
                continue
            args = cfl.split()
            if static:
                # the static library, by its path: -l would take the .so
                args = [a for a in args if a != "-lfaultline-transport"]
                args.insert(0, os.path.join(libdir, "libfaultline-transport.a"))
            exe = os.path.join(work, "demo-" + how)
            rc, out = run(["cc", "-std=gnu11", "-o", exe, os.path.join(work, "demo.c")] + args,
                          cwd=work)
            if not check(rc == 0, "the demo compiles and links outside the tree (%s)" % how,
                         out + "\n" + " ".join(args)):
                continue
            renv = dict(os.environ, LD_LIBRARY_PATH=libdir)
            rc, ldd = run(["ldd", exe], env=renv)
            linked = "libfaultline-transport.so" in ldd
            check(linked != static, "the %s demo links the %s library" % (how, how), ldd)
            rc, out = run([exe, "2000"], env=renv, cwd=work)
            check(rc == 0 and "received 2000" in out and "result ok" in out,
                  "the %s demo exchanges 2000 messages" % how, out)
        # The engine's library, shared: a seeded choice stream replayed
        # from its own values draws the same.
        with open(os.path.join(work, "engine.c"), "w") as f:
            f.write(ENGINE_C)
        rc, cfl = run(["pkg-config", "--cflags", "--libs", "faultline"], env=env)
        if check(rc == 0, "pkg-config --cflags --libs faultline", cfl):
            exe = os.path.join(work, "engine")
            rc, out = run(["cc", "-std=gnu11", "-o", exe, os.path.join(work, "engine.c")] +
                          cfl.split(), cwd=work)
            if check(rc == 0, "a program on the engine's library builds outside the tree", out):
                rc, out = run([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir))
                check(rc == 0 and out.strip() == "replayed 100 draws",
                      "it runs on the installed libfaultline-harness.so", out)
        # A target's adapter built outside the tree from the installed
        # headers alone (pkg-config faultline: target.h and the
        # transport's), run by the installed faultline: the correct queue
        # passes, the leaky one (-DQUEUE_LEAKY) fails as its fixture must.
        rc, cfl = run(["pkg-config", "--cflags", "faultline"], env=env)
        check(rc == 0 and "/include" in cfl, "pkg-config --cflags faultline", cfl)
        shutil.copy(os.path.join(src, "fixtures", "targets", "queue.c"),
                    os.path.join(work, "queue.c"))
        fixtures = os.path.dirname(find(dest, "target-queue-correct.yaml") or "/nonexistent")
        for variant, plant, want in (("correct", [], "20 runs: 20 passed"),
                                     ("leak", ["-DQUEUE_LEAKY"], "messages is 1")):
            so = os.path.join(work, "queue-%s.so" % variant)
            rc, out = run(["cc", "-std=gnu11", "-shared", "-fPIC", "-o", so,
                           os.path.join(work, "queue.c")] + plant + cfl.split(), cwd=work)
            if not check(rc == 0, "the queue target (%s) builds outside the tree" % variant,
                         out):
                continue
            rc, out = run([faultline, "run", os.path.join(fixtures, "target-queue-%s.yaml" % variant),
                           "--seed", "1", "-q", "--target", so, "--trace-dir",
                           os.path.join(work, "traces")], cwd=work)
            check(rc == (0 if variant == "correct" else 1) and want in out,
                  "the installed faultline runs it: %s" % want, out)
        if faultline is not None and scenario is not None:
            rc, out = run([faultline, "run", scenario, "--seed", "1", "--runs", "10", "-q",
                           "--trace-dir", os.path.join(work, "traces")], cwd=work)
            check(rc == 0 and "10 runs: 10 passed" in out,
                  "the installed faultline runs the installed pubsub-smoke", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
done()
