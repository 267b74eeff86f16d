#!/usr/bin/env python3
"""Renders faultline's man pages from the Markdown in docs/.

Each page is a part of one document, so the page cannot drift from it:

  faultline(1)           docs/cli.md, up to "## faultline-driver"
  faultline-driver(8)    docs/cli.md, "## faultline-driver"
  faultline-stat(1)      docs/cli.md, "## faultline-stat"
  faultline-node(1)      docs/cli.md, "## faultline-node"
  faultline-kv(1)        docs/cli.md, "## faultline-kv"
  faultline-scenario(5)  docs/scenario-format.md
  faultline-transport(3) docs/transport.md

The part's first indented block is the SYNOPSIS (faultline-scenario has
none; faultline-transport's is how a program builds against it), the rest the DESCRIPTION, its headings sections of the page.  The
Markdown is the subset docs/ writes: headings, paragraphs, "- " lists
(continued by indented lines), indented and fenced code blocks, pipe
tables (a .TP entry a row), `code`, *emphasis*, **strong** and links.

usage: mkman.py DOCSDIR PAGE OUT [VERSION]   (PAGE: faultline.1, ...)
"""
import re
import sys

PAGES = {
    # page: (document, first heading, heading that ends it, NAME's text)
    "faultline.1": ("cli.md", "# The faultline CLI", "## faultline-driver",
                    "run, replay and shrink fault-injection scenarios against "
                    "shared-memory messaging"),
    "faultline-driver.8": ("cli.md", "## faultline-driver", "## faultline-stat",
                           "the faultline transport's media driver, as a daemon"),
    "faultline-stat.1": ("cli.md", "## faultline-stat", "## faultline-node",
                         "print the gauges of a faultline driver and its cluster nodes"),
    "faultline-node.1": ("cli.md", "## faultline-node", "## faultline-kv",
                         "one member of a faultline cluster, as a daemon"),
    "faultline-kv.1": ("cli.md", "## faultline-kv", None,
                       "a client of a faultline cluster's key-value service"),
    "faultline-scenario.5": ("scenario-format.md", "## Scenario files", None,
                             "the format of faultline's scenario files"),
    "faultline-transport.3": ("transport.md", "# The transport's C API", None,
                              "faultline's shared-memory transport: driver, publish/subscribe, "
                              "request/response, cluster"),
}


def esc(text):
    """Plain text as roff: backslashes, dashes kept as ASCII minus, and
    any other character than ASCII as its Unicode escape."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)


def inline(text):
    """One line of Markdown text, its inline markup as roff fonts."""
    out = []
    pos = 0
    pat = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pat.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + esc(m.group(3)) + "\\fR")
        else:
            out.append(esc(m.group(4)) + " (" + esc(m.group(5)) + ")")
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def line(text):
    """A text line as roff: one starting with . or ' is not a request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def fill(words):
    """Paragraph text, a sentence or so a line (roff fills it again)."""
    return [line(inline(w)) for w in words if w.strip()]


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def code(lines):
    body = [line(esc(l)) for l in lines]
    return [".PP", ".nf", ".RS 4"] + body + [".RE", ".fi"]


def convert(md, synopsis):
    """Markdown lines to roff lines; the first indented block to SYNOPSIS
    when synopsis is set."""
    out = []
    i = 0
    n = len(md)
    want_synopsis = synopsis
    started = False

    def section(title):
        out.append(".SH " + esc(title.upper()))

    while i < n:
        raw = md[i]
        if not raw.strip():
            i += 1
            continue
        if raw.startswith("    ") and not raw.startswith("    -"):
            block = []
            while i < n and (md[i].startswith("    ") or not md[i].strip()):
                block.append(md[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            if want_synopsis:
                section("Synopsis")
                out.extend([".nf"] + [line(esc(l)) for l in block] + [".fi"])
                want_synopsis = False
                section("Description")
                started = True
            else:
                out.extend(code(block))
            continue
        if not started:
            section("Description")
            started = True
            want_synopsis = False
        if raw.startswith("```"):
            block = []
            i += 1
            while i < n and not md[i].startswith("```"):
                block.append(md[i])
                i += 1
            i += 1
            out.extend(code(block))
            continue
        m = re.match(r"(#+)\s+(.*)", raw)
        if m:
            out.append((".SH " if len(m.group(1)) <= 2 else ".SS ") +
                       (esc(m.group(2).upper()) if len(m.group(1)) <= 2 else inline(m.group(2))))
            i += 1
            continue
        if raw.startswith("|"):
            rows = []
            while i < n and md[i].startswith("|"):
                rows.append(cells(md[i]))
                i += 1
            head = rows[0]
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            for r in body:
                out.append(".TP")
                out.append(line(inline(r[0])))
                rest = []
                for k in range(1, len(r)):
                    if len(r) > 2 and k < len(r) - 1:
                        rest.append("%s: %s." % (head[k], r[k]))
                    else:
                        rest.append(r[k])
                out.append(line(inline(" ".join(rest))))
            continue
        if re.match(r"- ", raw):
            out.append(".IP \\(bu 2")
            words = [raw[2:]]
            i += 1
            while i < n and md[i].startswith("  ") and not md[i].startswith("    -") and \
                    md[i].strip() and not md[i].lstrip().startswith("- "):
                words.append(md[i].strip())
                i += 1
            # a nested list item (indented "- ")
            out.extend(fill(words))
            while i < n and md[i].startswith("  ") and md[i].lstrip().startswith("- "):
                out.append(".RS 2")
                out.append(".IP \\(bu 2")
                words = [md[i].lstrip()[2:]]
                i += 1
                while i < n and md[i].startswith("    ") and md[i].strip() and \
                        not md[i].lstrip().startswith("- "):
                    words.append(md[i].strip())
                    i += 1
                out.extend(fill(words))
                out.append(".RE")
            continue
        words = []
        while i < n and md[i].strip() and not md[i].startswith(("#", "|", "```", "- ")) and \
                not (md[i].startswith("    ") and not words):
            words.append(md[i].strip())
            i += 1
        out.append(".PP")
        out.extend(fill(words))
    return out


def render(docs, page, version):
    doc, first, last, what = PAGES[page]
    with open("%s/%s" % (docs, doc)) as f:
        md = f.read().split("\n")
    start = md.index(first)
    end = md.index(last) if last is not None else len(md)
    part = md[start + 1:end]
    name, sect = page.rsplit(".", 1)
    head = [
        '.\\" Generated by docs/man/mkman.py from docs/%s: edit that, not this.' % doc,
        '.TH %s %s "" "faultline %s" "faultline manual"' % (esc(name.upper()), sect, version),
        ".SH NAME",
        "%s \\- %s" % (esc(name), esc(what)),
    ]
    return "\n".join(head + convert(part, synopsis=not page.startswith("faultline-scenario")) +
                     [".SH SEE ALSO", ", ".join(
                         "\\fB%s\\fR(%s)" % (esc(p.rsplit(".", 1)[0]), p.rsplit(".", 1)[1])
                         for p in sorted(PAGES) if p != page)]) + "\n"


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[2] not in PAGES:
        sys.stderr.write(__doc__)
        sys.exit(2)
    text = render(sys.argv[1], sys.argv[2], sys.argv[4] if len(sys.argv) == 5 else "")
    with open(sys.argv[3], "w") as f:
        f.write(text)


main()
