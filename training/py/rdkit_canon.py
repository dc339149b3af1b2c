"""RDKit reference for the canonical-SMILES checks and the SMILES benchmark.

Reads one SMILES per line from argv[1], writes RDKit's canonical SMILES one per
line to argv[2] (empty line where RDKit fails), and prints a JSON line with the
count and the seconds spent in MolFromSmiles + MolToSmiles.
"""
import json
import sys
import time

import rdkit
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")
with open(sys.argv[1]) as f:
    smiles = f.read().split("\n")
if smiles and smiles[-1] == "":
    smiles.pop()
start = time.perf_counter()
out = []
for s in smiles:
    m = Chem.MolFromSmiles(s)
    out.append(Chem.MolToSmiles(m) if m is not None else "")
seconds = time.perf_counter() - start
with open(sys.argv[2], "w") as f:
    f.write("\n".join(out) + "\n")
print(json.dumps({"n": len(smiles), "seconds": seconds, "rdkit": rdkit.__version__}))
