#!/usr/bin/env python3
"""Every saturated hydrocarbon with N carbons (default 9), one canonical
SMILES per line.

Carbon skeletons are the connected graphs on N vertices with no vertex of
degree above 4, from nauty's geng (Debian package `nauty`); hydrogens fill
the valences. This is the complete space the no-F gap search could reach with
carbon alone, so it settles what the search can find there:

    scripts/enumerate_hydrocarbons.py 9 > c9.smi
    target/release/trainer predict --file c9.smi > c9_predicted.tsv

Uses the project's RDKit (.venv) only to write canonical SMILES.
"""

import shutil
import subprocess
import sys

from rdkit import Chem


def graph6_edges(line: str) -> tuple[int, list[tuple[int, int]]]:
    """Vertex count and edges of a graph in graph6 format (n < 63)."""
    n = ord(line[0]) - 63
    bits = []
    for ch in line[1:]:
        value = ord(ch) - 63
        bits.extend((value >> k) & 1 for k in range(5, -1, -1))
    edges, k = [], 0
    for j in range(1, n):
        for i in range(j):
            if bits[k]:
                edges.append((i, j))
            k += 1
    return n, edges


def main() -> int:
    carbons = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    geng = shutil.which("nauty-geng") or shutil.which("geng")
    if geng is None:
        print("nauty's geng is missing: apt-get install nauty", file=sys.stderr)
        return 1
    graphs = subprocess.run(
        [geng, "-c", "-D4", "-q", str(carbons)], capture_output=True, text=True, check=True
    ).stdout.split()
    for line in graphs:
        n, edges = graph6_edges(line)
        mol = Chem.RWMol()
        for _ in range(n):
            mol.AddAtom(Chem.Atom(6))
        for a, b in edges:
            mol.AddBond(a, b, Chem.BondType.SINGLE)
        Chem.SanitizeMol(mol)
        print(Chem.MolToSmiles(mol))
    print(f"{len(graphs)} skeletons with {carbons} carbons", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
