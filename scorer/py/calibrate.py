"""Calibrates the scorer's levels of theory on QM9 molecules spread over sizes.

For each molecule: the `qm9` level (B3LYP/6-31G(2df,p)) on QM9's own geometry
and on the RDKit+MMFF geometry the service uses, and each pre-screen candidate
on the RDKit geometry; gaps in eV and seconds per molecule. Prints a summary:
MAE against QM9's reference gaps, seconds per molecule, and each candidate's
Spearman rank correlation with the `qm9` level.

usage: calibrate.py WHEEL OUT.json [--per-size 3] [--seed 7]
Results are appended to OUT.json as they come, and a rerun skips molecules
already done, so an interrupted calibration resumes.
"""
import argparse
import csv
import io
import json
import os
import random
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import dft  # noqa: E402

CANDIDATES = {
    "b3lypg/sto-3g": ("b3lypg", "sto-3g", False),
    "b3lypg/3-21g": ("b3lypg", "3-21g", True),
    "b3lypg/6-31g": ("b3lypg", "6-31g", True),
}


def qm9_rows(wheel):
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(wheel) as z:
        for part in (1, 2, 3):
            with z.open(f"qm9pack/data/qm9_part{part}.csv") as f:
                yield from csv.DictReader(io.TextIOWrapper(f))


def pick(wheel, per_size, seed):
    by_size = {}
    for row in qm9_rows(wheel):
        heavy = sum(1 for e in json.loads(row["Elements"].replace("'", '"')) if e != "H")
        by_size.setdefault(heavy, []).append(row)
    rng = random.Random(seed)
    chosen = []
    for size in range(3, 10):
        chosen += rng.sample(by_size[size], per_size)
    return chosen


def timed(f, *args):
    start = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - start


def calibrate(row):
    elements = json.loads(row["Elements"].replace("'", '"'))
    coords = json.loads(row["XYZ_Ang"])
    qm9_geometry = list(zip(elements, map(tuple, coords)))
    rdkit_geometry, _, _ = dft.embed(row["SMILES"], dft.DEFAULT_SEED)
    out = {"index": int(row["Index"]), "smiles": row["SMILES"], "heavy_atoms": sum(e != "H" for e in elements),
           "reference_gap_ev": float(row["HOMO_LUMO_gap_au"]) * dft.HARTREE_TO_EV, "levels": {}}
    r, s = timed(dft.single_point, qm9_geometry, 0, "qm9")
    out["levels"]["qm9@qm9-geometry"] = {"gap_ev": r["gap_ev"], "seconds": s, "converged": r["converged"]}
    r, s = timed(dft.single_point, rdkit_geometry, 0, "qm9")
    out["levels"]["qm9@rdkit-geometry"] = {"gap_ev": r["gap_ev"], "seconds": s, "converged": r["converged"]}
    for name, spec in CANDIDATES.items():
        r, s = timed(dft.single_point_at, rdkit_geometry, 0, *spec)
        out["levels"][name] = {"gap_ev": r["gap_ev"], "seconds": s, "converged": r["converged"]}
    r, s = timed(dft.xtb_gap, rdkit_geometry, 0)
    out["levels"]["gfn2-xtb"] = {"gap_ev": r["gap_ev"], "seconds": s, "converged": True}
    return out


def spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def summarise(done):
    ref = np.array([d["reference_gap_ev"] for d in done])
    target = np.array([d["levels"]["qm9@rdkit-geometry"]["gap_ev"] for d in done])
    names = list(done[0]["levels"])
    print(f"{len(done)} QM9 molecules, {min(d['heavy_atoms'] for d in done)}-{max(d['heavy_atoms'] for d in done)} heavy atoms")
    print(f"{'level':<22} {'MAE vs QM9 eV':>14} {'s/molecule':>11} {'max s':>7} {'Spearman vs qm9@rdkit':>22} {'MAE after linear fit':>21}")
    summary = {}
    for name in names:
        gap = np.array([d["levels"][name]["gap_ev"] for d in done])
        secs = np.array([d["levels"][name]["seconds"] for d in done])
        slope, intercept = np.polyfit(gap, target, 1)
        fitted_mae = float(np.mean(np.abs(slope * gap + intercept - target)))
        row = {"mae_vs_qm9_ev": float(np.mean(np.abs(gap - ref))), "seconds_mean": float(secs.mean()),
               "seconds_max": float(secs.max()), "spearman_vs_qm9_level": spearman(gap, target),
               "mae_after_linear_fit_ev": fitted_mae, "linear_fit": [float(slope), float(intercept)]}
        summary[name] = row
        print(f"{name:<22} {row['mae_vs_qm9_ev']:>14.3f} {row['seconds_mean']:>11.1f} {row['seconds_max']:>7.1f} "
              f"{row['spearman_vs_qm9_level']:>22.3f} {fitted_mae:>21.3f}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel")
    parser.add_argument("out")
    parser.add_argument("--per-size", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    state = {"molecules": []}
    if os.path.exists(args.out):
        with open(args.out) as f:
            state = json.load(f)
    done = {d["index"] for d in state["molecules"]}
    for row in pick(args.wheel, args.per_size, args.seed):
        if int(row["Index"]) in done:
            continue
        try:
            result = calibrate(row)
        except Exception as e:  # report and go on: one molecule must not sink the run
            print(f"#{row['Index']} {row['SMILES']}: skipped, {type(e).__name__}: {e}", flush=True)
            continue
        state["molecules"].append(result)
        print(f"#{result['index']} {result['smiles']}: " + ", ".join(f"{k} {v['gap_ev']:.2f} eV {v['seconds']:.0f}s" for k, v in result["levels"].items()), flush=True)
        with open(args.out + ".partial", "w") as f:
            json.dump(state, f, indent=1)
        os.replace(args.out + ".partial", args.out)
    state["summary"] = summarise(state["molecules"])
    with open(args.out, "w") as f:
        json.dump(state, f, indent=1)


if __name__ == "__main__":
    main()
