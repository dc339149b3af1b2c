#!/usr/bin/env python3
"""The exhaustive carbon-only check behind the README's no-F search figures:
every saturated C9 skeleton (from `enumerate_hydrocarbons.py`), embedded in 3D
as the scorer embeds (`scorer/py/dft.py`: ETKDG conformers, MMFF94, the
scorer's seed), its GFN2-xTB gap for all, and B3LYP/3-21G (the scorer's
`fast` level) for the best by xTB, beside QM9's best skeletons and n-nonane.

    scripts/enumerate_hydrocarbons.py 9 > c9.smi
    for s in train valid test; do target/release/trainer export-split --split $s --out qm9_$s.smi; done
    cat qm9_*.smi > qm9.smi
    .venv/bin/python scripts/screen_hydrocarbons.py c9.smi qm9.smi --out results/c9_hydrocarbons

Writes OUT.csv (every skeleton: in QM9 or not, embedded or why not, xTB gap,
3-21G gap where computed) and OUT_summary.json. Deterministic: the embedding
uses the scorer's fixed seed.

The whole screen takes about 2.3 hours on two idle cores (1.3-1.4
core-seconds a skeleton: GFN2-xTB, and up to six failed embedding attempts
on cages RDKit cannot embed). An interrupted run resumes: the same command
skips the skeletons OUT_xtb.partial already holds. `--sample N` screens a seeded random N of the
skeletons instead, to time it or check the pipeline:

    .venv/bin/python scripts/screen_hydrocarbons.py c9.smi qm9.smi --sample 60 --top 0 --top-qm9 0 --out /tmp/c9_sample
"""

import argparse
import csv
import importlib.util
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One process per core does the parallel work; xTB's OpenMP threads on top
# of that only contend (half the CPU went to spinning with two per process).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def load_dft():
    spec = importlib.util.spec_from_file_location("dft", ROOT / "scorer/py/dft.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DFT = None


def start_worker():
    """Each pool process loads dft.py once."""
    global DFT
    DFT = load_dft()


def xtb_row(smiles):
    """(smiles, error, xTB gap in eV) for one skeleton."""
    try:
        atoms, _, _ = DFT.embed(smiles, DFT.DEFAULT_SEED)
        return smiles, "", DFT.xtb_gap(atoms, 0)["gap_ev"]
    except Exception as e:  # an unembeddable cage is a result, not a crash
        return smiles, str(e), None


def dft_gap(smiles):
    atoms, _, _ = DFT.embed(smiles, DFT.DEFAULT_SEED)
    return DFT.single_point(atoms, 0, "fast")["gap_ev"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("skeletons", help="canonical SMILES, one per line")
    parser.add_argument("qm9", help="QM9's canonical SMILES, one per line")
    parser.add_argument("--out", default="results/c9_hydrocarbons")
    parser.add_argument("--top", type=int, default=10, help="novel skeletons given B3LYP/3-21G")
    parser.add_argument("--top-qm9", type=int, default=3, help="QM9 skeletons given B3LYP/3-21G")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--sample", type=int, default=0,
                        help="screen a seeded random subset of this many skeletons (0 = all)")
    args = parser.parse_args()

    skeletons = [s for s in Path(args.skeletons).read_text().split() if s]
    if args.sample:
        skeletons = sorted(random.Random(0).sample(skeletons, min(args.sample, len(skeletons))))
    qm9 = set(Path(args.qm9).read_text().split())
    started = time.time()
    rows = {}
    # The xTB stage takes hours: each result is appended to OUT_xtb.partial as
    # it comes, and a run given the same OUT skips the skeletons already there.
    partial = Path(f"{args.out}_xtb.partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if partial.exists():
        kept = []
        for line in partial.read_text().splitlines():
            try:
                smiles, error, gap = json.loads(line)
            except ValueError:  # the line an interruption cut off is screened again
                continue
            done[smiles] = (error, gap)
            kept.append(line + "\n")
        partial.write_text("".join(kept))
        print(f"resuming: {len(done)} skeletons already screened in {partial}", file=sys.stderr)
    todo = [s for s in skeletons if s not in done]
    with open(partial, "a") as log, multiprocessing.Pool(args.processes, initializer=start_worker) as pool:
        for i, (smiles, error, gap) in enumerate(pool.imap(xtb_row, todo, chunksize=16), 1):
            log.write(json.dumps([smiles, error, gap]) + "\n")
            log.flush()
            done[smiles] = (error, gap)
            if i % 500 == 0 or i == len(todo):
                print(f"xTB {i}/{len(todo)} ({time.time() - started:.0f} s)", file=sys.stderr)
    for smiles in skeletons:
        error, gap = done[smiles]
        rows[smiles] = {"smiles": smiles, "in_qm9": smiles in qm9, "embed_error": error,
                        "xtb_gap_ev": gap, "b3lyp_321g_gap_ev": None}
    xtb_seconds = time.time() - started

    def best(in_qm9, n):
        pool = [r for r in rows.values() if r["in_qm9"] == in_qm9 and r["xtb_gap_ev"] is not None]
        return sorted(pool, key=lambda r: (-r["xtb_gap_ev"], r["smiles"]))[:n]

    chosen = best(False, args.top) + best(True, args.top_qm9)
    nonane = "CCCCCCCCC"
    if nonane in rows and rows[nonane] not in chosen:
        chosen.append(rows[nonane])
    with multiprocessing.Pool(args.processes, initializer=start_worker) as pool:
        for row, gap in zip(chosen, pool.map(dft_gap, [r["smiles"] for r in chosen])):
            row["b3lyp_321g_gap_ev"] = gap
            print(f"B3LYP/3-21G {row['smiles']}: {gap:.3f} eV", file=sys.stderr)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = ["smiles", "in_qm9", "embed_error", "xtb_gap_ev", "b3lyp_321g_gap_ev"]
    with open(f"{out}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in sorted(rows.values(), key=lambda r: (r["xtb_gap_ev"] is None, -(r["xtb_gap_ev"] or 0), r["smiles"])):
            writer.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    novel = [r for r in rows.values() if not r["in_qm9"]]
    dft_novel = [r for r in novel if r["b3lyp_321g_gap_ev"] is not None]
    dft_qm9 = [r for r in rows.values() if r["in_qm9"] and r["b3lyp_321g_gap_ev"] is not None]
    top = lambda rs: max(rs, key=lambda r: r["b3lyp_321g_gap_ev"], default=None)
    embedded = [r for r in rows.values() if r["xtb_gap_ev"] is not None]
    summary = {
        "skeletons": len(rows),
        "sampled": bool(args.sample),
        "in_qm9": sum(r["in_qm9"] for r in rows.values()),
        "novel": len(novel),
        "novel_embedded": sum(r["xtb_gap_ev"] is not None for r in novel),
        "best_novel_by_xtb": best(False, 5),
        "best_novel_by_b3lyp_321g": top(dft_novel),
        "best_qm9_by_b3lyp_321g": top(dft_qm9),
        "n_nonane": rows.get(nonane),
        "seconds": round(time.time() - started, 1),
        "xtb_stage_core_seconds_per_skeleton": round(xtb_seconds * args.processes / max(len(todo), 1), 2),
        "embedded": len(embedded),
        "command": " ".join(sys.argv),
    }
    Path(f"{out}_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ["skeletons", "in_qm9", "novel", "novel_embedded"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
