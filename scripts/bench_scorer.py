#!/usr/bin/env python3
"""Scorer overhead benchmark: wall time for the service (one worker) to score a
set of molecules, over a bare PySCF script scoring the same molecules with the
same code in one process. Both timings include Python start-up and imports.

usage: scripts/bench_scorer.py [--level fast] [--scorer target/release/scorer]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv/bin/python")
# QM9 molecules of 5 to 7 heavy atoms.
MOLECULES = ["CC(C)C#C", "O=CC1CCO1", "COC=NC", "C1CN=CO1", "CC(=O)NC", "OCC1CC1", "N#CC(O)C=O", "CC1(O)CC1"]


def call(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def bench_service(scorer, level, serve_args=("--workers", "1"), molecules=MOLECULES):
    """Seconds for a fresh scorer (fresh job store) to score `molecules`, with
    the gaps and canonical SMILES it returned."""
    db = os.path.join(tempfile.mkdtemp(), "bench.sqlite")
    proc = subprocess.Popen([scorer, "serve", "--port", "0", "--db", db, "--python", PYTHON, *serve_args],
                            stdout=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        base = banner.split("http://")[1].split()[0]
        start = time.perf_counter()
        jobs = call(f"http://{base}/v1/jobs", {"smiles": list(molecules), "level": level})["jobs"]
        gaps, canonical = [], []
        for job in jobs:
            while True:
                j = call(f"http://{base}/v1/jobs/{job['id']}?wait=30")
                if j["state"] in ("done", "failed"):
                    break
            assert j["state"] == "done", j
            gaps.append(j["result"]["gap_ev"])
            canonical.append(j["canonical"])
        return time.perf_counter() - start, gaps, canonical
    finally:
        proc.terminate()
        proc.wait()


def parse_arguments(doc):
    """The scorer benchmarks' options: level, scorer binary, repeats."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--level", default="fast")
    parser.add_argument("--scorer", default=os.path.join(ROOT, "target/release/scorer"))
    parser.add_argument("--repeats", type=int, default=2)
    return parser.parse_args()


def main():
    args = parse_arguments(__doc__)
    env = dict(os.environ, OMP_NUM_THREADS=str(os.cpu_count()))
    rows = []
    for _ in range(args.repeats):
        service, gaps, canonical = bench_service(args.scorer, args.level)
        # The service embeds the canonical SMILES; so does the baseline.
        out = subprocess.run([PYTHON, os.path.join(ROOT, "scorer/py/bare.py"), args.level, *canonical],
                             capture_output=True, text=True, check=True, env=env)
        bare = json.loads(out.stdout)
        diff = max(abs(a - b) for a, b in zip(gaps, bare["gaps_ev"]))
        rows.append((bare["seconds"], service, diff))
    print(f"scorer overhead, {len(MOLECULES)} QM9 molecules at level {args.level!r}, one worker")
    print(f"{'run':>4} {'bare PySCF s':>13} {'service s':>10} {'ratio':>7}  max gap difference eV")
    for i, (bare, service, diff) in enumerate(rows):
        print(f"{i + 1:>4} {bare:>13.2f} {service:>10.2f} {service / bare:>7.3f}  {diff:.1e}")
    bare_total = sum(r[0] for r in rows)
    service_total = sum(r[1] for r in rows)
    print(f"overall ratio {service_total / bare_total:.3f} (target <= 1.02)")


if __name__ == "__main__":
    sys.exit(main())
