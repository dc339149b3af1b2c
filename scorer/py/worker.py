"""A scorer worker: one long-lived process that computes HOMO-LUMO gaps.

Protocol: one JSON object per line. On start the worker prints
{"ready": true, "versions": {...}}. For each job line
{"job": ID, "smiles": S, "charge": Q, "level": NAME, "seed": N} it prints
{"job": ID, "ok": true, "result": {...}} or {"job": ID, "ok": false, "error": MSG}.
Anything else the libraries print goes to stderr, never to the protocol stream.

The scorer runs this under `python -I` with `dft` already installed as a module
(see scorer/src/workers.rs): nothing is imported from a directory on disk but
the interpreter's own site-packages.
"""
import json
import os
import sys

# Keep the protocol stream to ourselves: fd 1 goes to stderr from here on.
protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import pyscf  # noqa: E402
import rdkit  # noqa: E402

import dft  # noqa: E402


def main():
    versions = {"pyscf": pyscf.__version__, "rdkit": rdkit.__version__, "python": sys.version.split()[0],
                "engine": dft.engine_name()}
    protocol.write(json.dumps({"ready": True, "versions": versions}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            reply = {"job": job["job"], "ok": True, "result": dft.run(job)}
        except Exception as e:  # the job fails, the worker lives on
            reply = {"job": job["job"], "ok": False, "error": f"{type(e).__name__}: {e}"}
        protocol.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
