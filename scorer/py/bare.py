"""The bare PySCF baseline for the scorer's overhead benchmark: the same
embedding and single point as the service's workers, in one plain process.

usage: bare.py LEVEL SMILES... ; prints {"seconds": wall time from start}
"""
import json
import os
import sys
import time

start = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dft  # noqa: E402

level, smiles = sys.argv[1], sys.argv[2:]
gaps = [dft.run({"smiles": s, "level": level})["gap_ev"] for s in smiles]
print(json.dumps({"seconds": time.perf_counter() - start, "gaps_ev": gaps}))
