#!/usr/bin/env python3
"""Fréchet ChemNet Distance between sampled molecules and a reference set.

FCD (Preuer et al. 2018) is the field's standard distribution figure for
molecule generators. This uses the `fcd` package's ChemNet, as published
figures do. Molecules are canonicalised by RDKit; ones RDKit cannot read are
counted and left out.

    trainer sample --n 10000 --seed 0 --out samples.smi
    trainer export-split --split test --out test.smi
    python extras/fcd_score.py samples.smi test.smi [--json F]

The reference is any SMILES file; the figures in the README use the QM9
test split as `trainer export-split` writes it.
"""

import argparse
import json
import sys

from rdkit import Chem, RDLogger


def canonical(lines):
    RDLogger.DisableLog("rdApp.*")
    good, bad = [], 0
    for line in lines:
        smiles = line.strip().split()[0] if line.strip() else ""
        if not smiles:
            continue
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            bad += 1
        else:
            good.append(Chem.MolToSmiles(mol))
    return good, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", help="SMILES file, one per line")
    parser.add_argument("reference", help="reference SMILES file, one per line")
    parser.add_argument("--json", help="write the figures here as JSON")
    args = parser.parse_args()
    from fcd import get_fcd

    with open(args.samples) as f:
        samples, bad_samples = canonical(f)
    with open(args.reference) as f:
        reference, bad_reference = canonical(f)
    if not samples or not reference:
        print("both files need molecules RDKit can read", file=sys.stderr)
        return 2
    score = get_fcd(samples, reference)
    figures = {
        "fcd": score,
        "samples": len(samples),
        "samples_rdkit_rejected": bad_samples,
        "reference": len(reference),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
