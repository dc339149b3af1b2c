#!/usr/bin/env python3
"""Scorer throughput on a Dask cluster against the local worker pool: the same
QM9 molecules at one level, scored by a fresh scorer (fresh job store) with
  - the local pool, 1 worker of one thread,
  - a Dask cluster of 1 node (one task of one thread),
  - the local pool, 2 workers of one thread each,
  - a Dask cluster of 2 nodes (one task of one thread each),
the nodes being `dask worker` processes on this machine. Prints molecules per
hour and the cluster's overhead against the local pool at the same
parallelism: 1 against 1 (a core left for the scheduler, the nanny and the
bridge, as on a cluster whose scheduler has its own machine) and 2 against 2
(everything on this machine's cores).

usage: scripts/bench_cluster.py [--level fast] [--repeats 2] [--scorer target/release/scorer]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scorer import MOLECULES, PYTHON, bench_service, parse_arguments  # noqa: E402

# Twelve QM9 molecules of 5 to 7 heavy atoms (the overhead benchmark's eight and four more).
BENCH_MOLECULES = MOLECULES + ["CC1=CC(=O)C1", "OC1COC1", "CN1CC1C", "N#CCC(C)O"]


# Nodes started as the README says: Dask's scratch space private, and the
# nanny's MALLOC_TRIM_THRESHOLD_ dropped (it costs PySCF 10-15% CPU).
NODE_ENV = dict(os.environ, DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON="{'MALLOC_TRIM_THRESHOLD_': None}")


class Cluster:
    """A scheduler and `nodes` one-task workers on this machine."""

    def __init__(self, nodes):
        self.dir = tempfile.mkdtemp(prefix="molgap-bench-cluster-")
        self.env = dict(NODE_ENV, DASK_TEMPORARY_DIRECTORY=self.dir)
        self.file = os.path.join(self.dir, "scheduler.json")
        self.procs = [self._dask("scheduler.log", "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", self.file)]
        while not os.path.exists(self.file):
            time.sleep(0.1)
        self.address = json.load(open(self.file))["address"]
        for i in range(nodes):
            self.procs.append(self._dask(f"node-{i}.log", "worker", "--scheduler-file", self.file, "--nworkers", "1", "--nthreads", "1",
                                         "--name", f"node-{i}", "--host", "127.0.0.1",
                                         "--local-directory", os.path.join(self.dir, f"node-{i}")))
        log = os.path.join(self.dir, "scheduler.log")
        while open(log).read().count("Register worker") < nodes:
            time.sleep(0.1)

    def _dask(self, log_name, *args):
        log = open(os.path.join(self.dir, log_name), "w")
        return subprocess.Popen([PYTHON, "-m", "dask", *args, "--no-dashboard"], stdout=subprocess.DEVNULL,
                                stderr=log, start_new_session=True, env=self.env)

    def stop(self):
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    args = parse_arguments(__doc__)
    molecules = BENCH_MOLECULES
    setups = ["local pool, 1 worker", "Dask, 1 node", "local pool, 2 workers", "Dask, 2 nodes"]
    seconds = {name: [] for name in setups}
    gaps = {}
    # Alternating runs, so a slow spell of the machine hits every setup.
    for _ in range(args.repeats):
        for name in setups:
            if name.startswith("local"):
                workers = name.split(", ")[1].split()[0]
                t, g, _ = bench_service(args.scorer, args.level,
                                        ("--workers", workers, "--threads-per-worker", "1"), molecules)
            else:
                cluster = Cluster(int(name.split()[1]))
                try:
                    t, g, _ = bench_service(args.scorer, args.level, ("--dask", cluster.address), molecules)
                finally:
                    cluster.stop()
            seconds[name].append(t)
            gaps[name] = g
            print(f"  {name}: {t:.1f} s", file=sys.stderr)
    n = len(molecules)
    print(f"scorer throughput, {n} QM9 molecules at level {args.level!r}, one thread per task, "
          f"{args.repeats} alternating runs (median)")
    print(f"{'setup':<24} {'runs s':<22} {'molecules/hour':>15}")
    median = {}
    for name in setups:
        runs = sorted(seconds[name])
        median[name] = runs[len(runs) // 2] if len(runs) % 2 else sum(runs[len(runs) // 2 - 1:len(runs) // 2 + 1]) / 2
        print(f"{name:<24} {' '.join(f'{t:.1f}' for t in seconds[name]):<22} {3600 * n / median[name]:>15.0f}")
    print(f"2 nodes / 1 node speed-up: {median['Dask, 1 node'] / median['Dask, 2 nodes']:.2f}x")
    for n, local, dask in ((1, "local pool, 1 worker", "Dask, 1 node"), (2, "local pool, 2 workers", "Dask, 2 nodes")):
        overhead = median[dask] / median[local] - 1
        per_job = (median[dask] - median[local]) * n / len(molecules)
        print(f"cluster overhead against the local pool, {n} against {n}: {100 * overhead:+.1f}% "
              f"({per_job:+.2f} s per job; target <= 5%)")
    diff = max(abs(a - b) for a, b in zip(gaps["local pool, 2 workers"], gaps["Dask, 2 nodes"]))
    print(f"max gap difference between the local pool and the cluster: {diff:.1e} eV")


if __name__ == "__main__":
    sys.exit(main())
