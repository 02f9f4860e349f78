#!/usr/bin/env python3
"""Regenerates scripts/cold-start.ld: the functions the Lambda runs from exec to its first
`GET /next`, as input-section patterns the linker gathers into one output section
(`.text.coldstart`) ahead of `.text`.

Why: the binary's code is ~13 MB, and the few hundred functions a cold start runs are
spread all over it; every 64 KB stretch of it that one of them lands in costs a page fault
(~50 before this layout, ~15 with it). Gathered together they fault in a few stretches.

How: the release binary runs under callgrind (`--demangle=no`) against a stub Runtime API
that answers nothing and stops it when `/next` is requested; every function of the binary
that ran is kept, in order of first appearance. Names become patterns by wildcarding what
changes from build to build: the hash of a legacy-mangled name (`17h<16 hex>E`), the
crate disambiguators and back-references of a v0-mangled one (`Cs…_`, `B…_`) and LTO's
numeric suffixes. One pattern can therefore match several instantiations of a generic
function — more code in the section, never less. Functions `#[cold]` puts in
`.text.unlikely.*` are matched there too.

Run it (`make cold-start-layout`; needs valgrind) after changes to what the cold start
runs: a stale layout only makes the cold start slower again, never wrong. The bench's
page-fault column shows it.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "scripts", "cold-start.ld")


def functions_run_to_next(binary):
    """Mangled names of the functions `binary` runs before it asks for its first event."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % listener.getsockname()[1],
        AWS_LAMBDA_FUNCTION_NAME="layout",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="layout",
        AWS_SECRET_ACCESS_KEY="layout",
        ARCHIVE_BUCKET="layout-archive",
        ALERT_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:layout",
    )
    # As deployed (and as the bench starts it): AWS's endpoints, the trust store `auto` picks.
    for var in ("TLS_ROOTS", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_STS"):
        env.pop(var, None)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--demangle=no", "--callgrind-out-file=" + out, binary],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        listener.settimeout(120)
        conn, _ = listener.accept()
        request = conn.recv(4096)
        if b"/next" not in request:
            sys.exit("cold-start-layout: expected GET /next, got %r" % request[:80])
        proc.send_signal(signal.SIGTERM)
        proc.communicate()
        names, seen = [], set()
        with open(out) as profile:
            for line in profile:
                m = re.match(r"c?fn=\(\d+\) (.+)$", line.strip())
                if m and m.group(1) not in seen:
                    seen.add(m.group(1))
                    names.append(m.group(1))
    return names


def defined_functions(binary):
    nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True)
    return {p[2] for p in (l.split(" ", 2) for l in nm.stdout.splitlines()) if len(p) == 3 and p[1] in "tTwW"}


def pattern(name):
    """The name with every part that varies between builds replaced by `*`."""
    name = re.sub(r"\.(llvm\.)?\d+$", "*", name)
    if name.startswith("_ZN"):
        return re.sub(r"17h[0-9a-f]{16}E$", "17h*", name)
    name = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
    return re.sub(r"B[0-9A-Za-z]*_", "B*_", name)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "eks-audit-watch")
    defined = defined_functions(binary)
    patterns = []
    for name in functions_run_to_next(binary):
        # Rust functions only: C code (aws-lc, libc start-up) keeps its own section names.
        if name in defined and name.startswith(("_ZN", "_R")):
            p = pattern(name)
            if p not in patterns:
                patterns.append(p)
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    with open(OUT, "w") as f:
        f.write("/* Written by scripts/cold-start-layout.py with %s; see there.\n" % rustc)
        f.write("   The functions the Lambda runs before its first GET /next, gathered ahead of .text\n")
        f.write("   so that a cold start faults in a few stretches of code, not one per function. */\n")
        f.write("SECTIONS {\n  .text.coldstart : {\n")
        for p in patterns:
            f.write("    *(.text.%s .text.unlikely.%s)\n" % (p, p))
        f.write("  }\n} INSERT BEFORE .text;\n")
    print("%s: %d patterns from %s" % (os.path.relpath(OUT, ROOT), len(patterns), binary))


if __name__ == "__main__":
    main()
