#!/usr/bin/env python3
"""Shares of molecules carrying the groups GDB-17 left out that need
aromaticity to state (a hydroxy on a ring C=C looks the same in Kekulé form
whether the ring is aromatic or not). Since 5 December the structural rules
state them (`ring_enol`, `non_aromatic_ring_n_n_bond`,
`fluorine_on_double_bond`, with chematic's port of RDKit's aromaticity);
this is the independent check with RDKit itself, whose SMARTS match only
non-aromatic atoms.

    trainer sample --n 10000 --seed 0 --out samples.smi
    .venv/bin/python extras/unruled_groups.py samples.smi [qm9.smi ...]
"""

import sys

from rdkit import Chem, RDLogger

GROUPS = {
    "enol in a non-aromatic ring": "[OX2H1]-[C;!a]=@[C;!a]",
    "imidic acid in a non-aromatic ring": "[OX2H1]-[C;!a]=@[N;!a]",
    "N-N bond in a non-aromatic ring": "[#7;!a]@[#7;!a]",
    "F on a non-aromatic double bond": "[#9]-[C;!a]=[*;!a]",
}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    RDLogger.DisableLog("rdApp.*")
    patterns = {name: Chem.MolFromSmarts(s) for name, s in GROUPS.items()}
    for path in sys.argv[1:]:
        counts = dict.fromkeys(GROUPS, 0)
        total = 0
        with open(path) as f:
            for line in f:
                fields = line.split()
                mol = Chem.MolFromSmiles(fields[0]) if fields else None
                if mol is None:
                    continue
                total += 1
                for name, pattern in patterns.items():
                    counts[name] += mol.HasSubstructMatch(pattern)
        print(f"{path}: {total} molecules")
        for name, count in counts.items():
            print(f"  {name:36s} {count:7d} {100 * count / max(total, 1):6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
