#!/usr/bin/env python3
"""The install test: faultline installed as any C library is.

`meson install --destdir D` from the build directory, then, with nothing
but what was installed: the pub/sub demo (transport/demo/pubsub_demo.c)
compiled outside the tree with `pkg-config --cflags --libs
faultline-transport`, linked against the shared library and again
against the static one (`pkg-config --static`), each run to exchange
2,000 messages; every installed program's --help; and the installed
faultline running the installed copy of a shipped scenario.  Prints TAP
lines; exit status 1 on any failure.

usage: install_test.py BUILDDIR SOURCEDIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

failures = []


def check(ok, what, detail=""):
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok:
        failures.append(what)
        for line in str(detail).splitlines()[-30:]:
            print("#   " + line)
    return ok


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    return p.returncode, p.stdout


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    return None


def main():
    build, src = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="faultline-install-")
    try:
        dest = os.path.join(work, "dest")
        rc, out = run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                       "--quiet"])
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
        if faultline is not None and scenario is not None:
            rc, out = run([faultline, "run", scenario, "--seed", "1", "--runs", "10", "-q",
                           "--trace-dir", os.path.join(work, "traces")], cwd=work)
            check(rc == 0 and "10 runs: 10 passed" in out,
                  "the installed faultline runs the installed pubsub-smoke", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
sys.exit(1 if failures else 0)
