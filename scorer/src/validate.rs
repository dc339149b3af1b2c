//! Input checks that run before any worker sees a molecule. The chemistry rules
//! are `model-core`'s valence table, the same one the data and the model use;
//! every molecule that passes is closed-shell by construction of that table.
//! `model-core`'s structural rules (strained multiple bonds, anti-Bredt
//! alkenes, peroxides) only warn: a chemist may well want such a molecule's
//! DFT gap, but should know it is one the generator would never propose.

use model_core::chem::{SmilesError, SmilesOptions, canonical_smiles, parse_smiles_with};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_heavy_atoms: usize,
    pub max_molecules_per_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_heavy_atoms: 12,
            max_molecules_per_request: 100,
        }
    }
}

/// A molecule that may be sent to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidMolecule {
    pub input: String,
    pub canonical: String,
    pub charge: i32,
    pub heavy_atoms: usize,
    /// Each structural rule the molecule breaks, with the atoms involved.
    pub warnings: Vec<String>,
}

pub fn validate_smiles(smiles: &str, limits: &Limits) -> Result<ValidMolecule, SmilesError> {
    let options = SmilesOptions {
        max_heavy_atoms: limits.max_heavy_atoms,
        ..SmilesOptions::default()
    };
    let molecule = parse_smiles_with(smiles, &options)?;
    Ok(ValidMolecule {
        input: smiles.to_string(),
        canonical: canonical_smiles(&molecule),
        charge: molecule.net_charge(),
        heavy_atoms: molecule.heavy_atom_count(),
        warnings: molecule
            .structural_violations()
            .iter()
            .map(|v| format!("breaks a structural rule: {v}"))
            .collect(),
    })
}
