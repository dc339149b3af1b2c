#!/usr/bin/env python3
"""Where a sample set's FCD comes from: FCD against the reference for all
samples, for those the training split holds and for the novel ones, beside
the same number of draws from the training split itself (FCD grows as the
set shrinks, so only sets of one size compare); and the share of molecules
with each of a few groups and ring sizes (RDKit SMARTS) in the samples and
the reference.

    trainer sample --n 10000 --seed 0 --out samples.smi
    trainer export-split --split test --out test.smi
    trainer export-split --split train --out train.smi
    python extras/fcd_breakdown.py samples.smi test.smi train.smi [--json F]
"""

import argparse
import json
import random
import sys

import numpy as np
from rdkit import Chem, RDLogger

GROUPS = {
    "acyclic": None,
    "aromatic ring": "[a]",
    "3-membered ring": "[r3]",
    "4-membered ring": "[r4]",
    "5-membered ring": "[r5]",
    "6-membered ring": "[r6]",
    "triple bond": "*#*",
    "nitrile": "C#N",
    "carbonyl": "[CX3]=O",
    "amide": "C(=O)N",
    "hydroxyl": "[OX2H]",
    "primary amine": "[NX3H2]",
    "tertiary amine (non-aromatic)": "[NX3H0;!a]([#6])([#6])[#6]",
    "N in a ring": "[#7;R]",
    "O in a ring": "[#8;R]",
    "fluorine": "F",
}


def read_molecules(path):
    molecules = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            mol = Chem.MolFromSmiles(fields[0]) if fields else None
            if mol is not None:
                molecules.append(mol)
    return molecules


def shares(molecules):
    patterns = {k: v and Chem.MolFromSmarts(v) for k, v in GROUPS.items()}
    out = {}
    for name, pattern in patterns.items():
        if pattern is None:
            hits = sum(m.GetRingInfo().NumRings() == 0 for m in molecules)
        else:
            hits = sum(m.HasSubstructMatch(pattern) for m in molecules)
        out[name] = hits / len(molecules)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples")
    parser.add_argument("reference", help="the FCD reference (the test split)")
    parser.add_argument("train", help="the training split, for novelty and draws")
    parser.add_argument("--json", help="write the figures here as JSON")
    parser.add_argument("--seed", type=int, default=0, help="for the training-split draws")
    args = parser.parse_args()
    RDLogger.DisableLog("rdApp.*")
    from fcd import calculate_frechet_distance, get_predictions, load_ref_model

    samples = read_molecules(args.samples)
    reference = read_molecules(args.reference)
    train = sorted({Chem.MolToSmiles(m) for m in read_molecules(args.train)})
    train_set = set(train)
    smiles = [Chem.MolToSmiles(m) for m in samples]
    held = np.array([s in train_set for s in smiles])

    model = load_ref_model()
    ref = get_predictions(model, [Chem.MolToSmiles(m) for m in reference])
    ref_stats = (ref.mean(0), np.cov(ref.T))

    def fcd(activations):
        return float(
            calculate_frechet_distance(
                activations.mean(0), np.cov(activations.T), *ref_stats
            )
        )

    acts = get_predictions(model, smiles)
    rng = random.Random(args.seed)
    figures = {"samples": len(smiles), "fcd": {"all samples": fcd(acts)}}
    for name, rows in [("held by the training split", held), ("novel", ~held)]:
        n = int(rows.sum())
        draws = [train[rng.randrange(len(train))] for _ in range(n)]
        figures["fcd"][f"{name} ({n})"] = fcd(acts[rows])
        figures["fcd"][f"{n} draws from the training split"] = fcd(
            get_predictions(model, draws)
        )
    sample_shares, reference_shares = shares(samples), shares(reference)
    figures["shares"] = {
        name: {"samples": sample_shares[name], "reference": reference_shares[name]}
        for name in GROUPS
    }
    for name, value in figures["fcd"].items():
        print(f"FCD, {name:40s} {value:.3f}")
    print(f"{'share of molecules with':32s} {'samples':>8s} {'reference':>10s}")
    for name, pair in figures["shares"].items():
        print(f"  {name:30s} {100 * pair['samples']:7.2f}% {100 * pair['reference']:9.2f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
