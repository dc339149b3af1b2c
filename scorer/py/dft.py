"""The scorer's chemistry: 3D embedding and single-point gap calculations.

Used by the worker (one job at a time) and by the level calibration script.
"""
import os
import time

import numpy as np
from pyscf import dft, gto
from rdkit import Chem
from rdkit.Chem import AllChem

HARTREE_TO_EV = 27.211386245988
DEFAULT_SEED = 0xF00D

# name -> (exchange-correlation functional, basis, density fitting)
# 'b3lypg' is B3LYP with VWN3 correlation, as Gaussian (and so QM9) uses it.
LEVELS = {
    "qm9": ("b3lypg", "6-31g(2df,p)", True),
    "fast": ("b3lypg", "3-21g", True),
    "tiny": ("b3lypg", "sto-3g", False),
}


# The DFT engine: gpu4pyscf where it imports and sees a CUDA device, else
# PySCF on the CPU. MOLGAP_DFT_ENGINE=cpu forces the CPU; =gpu makes a missing
# GPU an error instead of a fallback.
_engine = None


def select_engine(env=None):
    """("gpu4pyscf" | "cpu", why). Never raises unless a GPU is demanded."""
    env = os.environ if env is None else env
    wanted = env.get("MOLGAP_DFT_ENGINE", "auto").lower()
    if wanted not in ("auto", "cpu", "gpu"):
        raise ValueError(f"MOLGAP_DFT_ENGINE={wanted!r}: use auto, cpu or gpu")
    if wanted == "cpu":
        return "cpu", "MOLGAP_DFT_ENGINE=cpu"
    try:
        import gpu4pyscf  # noqa: F401
        import cupy

        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # ImportError, or CUDA present but unusable
        why = f"gpu4pyscf unavailable ({type(e).__name__}: {e})"
        if wanted == "gpu":
            raise RuntimeError(f"MOLGAP_DFT_ENGINE=gpu but {why}") from e
        return "cpu", why
    if devices < 1:
        if wanted == "gpu":
            raise RuntimeError("MOLGAP_DFT_ENGINE=gpu but CUDA sees no device")
        return "cpu", "CUDA sees no device"
    return "gpu4pyscf", f"{devices} CUDA device(s)"


def engine_name():
    global _engine
    if _engine is None:
        _engine = select_engine()[0]
    return _engine


def _to_host(array):
    """A NumPy array from a NumPy or CuPy one."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


# Conformers relaxed per molecule; the lowest in force-field energy is used.
CONFORMERS = 4


def embed(smiles, seed):
    """3D geometry: ETKDG conformers from a fixed seed, each relaxed with
    MMFF94 (UFF where MMFF lacks parameters); the lowest-energy one.

    One conformer is not enough: ETKDG can leave the spiro carbon of a
    spiropentane inverted (both rings in one plane), a geometry over
    100 kcal/mol above the right one whose DFT gap comes out 7 eV too small.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse {smiles!r}")
    mol = Chem.AddHs(mol)
    # Strained cages (QM9 has many) can defeat one ETKDG attempt; retry with
    # further seeds derived from the job's seed, then from random coordinates.
    for attempt in range(6):
        params = AllChem.ETKDGv3()
        params.randomSeed = seed + attempt
        params.useRandomCoords = attempt >= 3
        params.maxIterations = 2000
        if AllChem.EmbedMolecule(mol, params) == 0:
            break
    else:
        raise ValueError("RDKit could not embed the molecule in 3D (6 attempts)")
    # More conformers where they come easily; a molecule that was hard to
    # embed keeps the one it has.
    params = AllChem.ETKDGv3()
    params.randomSeed = seed + 1000
    params.maxIterations = 200
    extra = Chem.Mol(mol)
    ids = AllChem.EmbedMultipleConfs(extra, CONFORMERS - 1, params)
    for conf_id in ids:
        mol.AddConformer(extra.GetConformer(conf_id), assignId=True)
    if AllChem.MMFFHasAllMoleculeParams(mol):
        energies = AllChem.MMFFOptimizeMoleculeConfs(mol, mmffVariant="MMFF94", maxIters=2000)
        relaxation = "MMFF94"
    else:
        energies = AllChem.UFFOptimizeMoleculeConfs(mol, maxIters=2000)
        relaxation = "UFF"
    conformers = list(mol.GetConformers())
    best = min(range(len(conformers)), key=lambda i: energies[i][1])
    pos = conformers[best].GetPositions()
    atoms = [(a.GetSymbol(), tuple(pos[i])) for i, a in enumerate(mol.GetAtoms())]
    # The same geometry with its bonds (V2000 mol block, hydrogens explicit),
    # for SDF files chemists can open.
    molblock = Chem.MolToMolBlock(mol, confId=conformers[best].GetId())
    return atoms, relaxation, molblock


def single_point(atoms, charge, level):
    return single_point_at(atoms, charge, *LEVELS[level])


# SCF attempts, most robust last: plain DIIS; then a level shift with damping
# from the last density; then second-order (Newton) SCF. An SCF that none of
# them converges is an error, never a result.
SCF_ATTEMPTS = (
    ("diis", 100),
    ("level-shift 0.25 Ha, damping 0.5", 200),
    ("second-order (newton)", 50),
)


def _cycle_cap():
    """MOLGAP_SCF_MAX_CYCLE caps every attempt's iterations (tests use 0)."""
    cap = os.environ.get("MOLGAP_SCF_MAX_CYCLE")
    return None if cap is None else int(cap)


def single_point_at(atoms, charge, xc, basis, density_fit):
    mol = gto.M(atom=atoms, basis=basis, charge=charge, spin=0, unit="Angstrom", verbose=0)
    cap = _cycle_cap()
    dm = None
    tried = []
    for name, cycles in SCF_ATTEMPTS:
        mf = dft.RKS(mol)
        mf.xc = xc
        if density_fit:
            mf = mf.density_fit()
        if name.startswith("level-shift"):
            mf.level_shift = 0.25
            mf.damp = 0.5
        elif name.startswith("second-order"):
            mf = mf.newton()
        mf.conv_tol = 1e-9
        mf.max_cycle = cycles if cap is None else min(cycles, cap)
        if engine_name() == "gpu4pyscf":
            mf = mf.to_gpu()
        energy = mf.kernel(dm0=dm)
        tried.append(name)
        if mf.converged:
            break
        dm = _to_host(mf.make_rdm1())
    mo_occ, mo_energy = _to_host(mf.mo_occ), _to_host(mf.mo_energy)
    occupied = mo_occ > 0
    homo = float(np.max(mo_energy[occupied]))
    lumo = float(np.min(mo_energy[~occupied]))
    return {
        "energy_ha": float(energy),
        "homo_ha": homo,
        "lumo_ha": lumo,
        "gap_ha": lumo - homo,
        "homo_ev": homo * HARTREE_TO_EV,
        "lumo_ev": lumo * HARTREE_TO_EV,
        "gap_ev": (lumo - homo) * HARTREE_TO_EV,
        "converged": bool(mf.converged),
        "scf_attempts": tried,
        "method": f"RKS/{xc}",
        "basis": basis,
        "density_fitting": density_fit,
        "engine": engine_name(),
    }


def xtb_gap(atoms, charge):
    """GFN2-xTB (tblite) HOMO-LUMO gap, for comparison with the DFT levels."""
    from tblite.interface import Calculator

    numbers = np.array([Chem.GetPeriodicTable().GetAtomicNumber(s) for s, _ in atoms])
    positions = np.array([p for _, p in atoms]) / 0.529177210903  # bohr
    calc = Calculator("GFN2-xTB", numbers, positions, charge=charge)
    calc.set("verbosity", 0)
    res = calc.singlepoint()
    energies, occupations = res.get("orbital-energies"), res.get("orbital-occupations")
    homo = float(np.max(energies[occupations > 1e-3]))
    lumo = float(np.min(energies[occupations <= 1e-3]))
    return {"homo_ha": homo, "lumo_ha": lumo, "gap_ha": lumo - homo, "gap_ev": (lumo - homo) * HARTREE_TO_EV}


def xyz_block(atoms):
    lines = [str(len(atoms)), ""]
    lines += [f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in atoms]
    return "\n".join(lines)


def run(job):
    """Embeds and computes one job: {"smiles", "level", "charge"?, "seed"?}."""
    if job["level"] not in LEVELS:
        raise ValueError(f"unknown level {job['level']!r}")
    wall, cpu = time.perf_counter(), time.process_time()
    atoms, relaxation, molblock = embed(job["smiles"], job.get("seed", DEFAULT_SEED))
    embed_s = time.perf_counter() - wall
    result = single_point(atoms, job.get("charge", 0), job["level"])
    result.update(
        {
            "level": job["level"],
            "geometry": relaxation,
            "xyz": xyz_block(atoms),
            "molblock": molblock,
            "embed_s": embed_s,
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
        }
    )
    return result
