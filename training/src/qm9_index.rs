//! What QM9 holds, indexed once for every question asked of it: is a
//! molecule in QM9 (and with which gap), in the training split or held out,
//! and are its ring systems ones QM9 has.

use std::collections::{HashMap, HashSet};

use model_core::chem::Molecule;
pub use model_core::chem::frameworks::RingFrameworks;
use model_core::data::{Qm9Dataset, Split};

#[derive(Clone, Debug, Default)]
pub struct Qm9Index {
    /// QM9's HOMO-LUMO gap (eV) by canonical SMILES, for every molecule.
    pub gaps: HashMap<String, f64>,
    /// Canonical SMILES of the training split.
    pub train: HashSet<String>,
    /// Canonical SMILES of the validation and test splits.
    pub held_out: HashSet<String>,
    /// Generic ring-system frameworks (`model_core::chem::rings`).
    pub frameworks: RingFrameworks,
}

impl Qm9Index {
    pub fn from_dataset(dataset: &Qm9Dataset) -> Qm9Index {
        let canonical = |splits: &[Split]| {
            splits
                .iter()
                .flat_map(|s| dataset.split_records(*s))
                .map(|r| r.canonical.clone())
                .collect()
        };
        Qm9Index {
            gaps: dataset
                .records
                .iter()
                .map(|r| (r.canonical.clone(), r.gap_ev()))
                .collect(),
            train: canonical(&[Split::Train]),
            held_out: canonical(&[Split::Valid, Split::Test]),
            frameworks: dataset.ring_frameworks(),
        }
    }

    /// An index of these molecules (gap 0) and their frameworks, as a test's
    /// stand-in for QM9.
    pub fn of_molecules(molecules: &[Molecule]) -> Qm9Index {
        Qm9Index {
            gaps: molecules
                .iter()
                .map(|m| (model_core::chem::canonical_smiles(m), 0.0))
                .collect(),
            frameworks: RingFrameworks::of_molecules(molecules),
            ..Qm9Index::default()
        }
    }

    /// Whether QM9 holds the molecule with this canonical SMILES.
    pub fn contains(&self, canonical: &str) -> bool {
        self.gaps.contains_key(canonical)
    }

    /// QM9's gap for the molecule with this canonical SMILES, if QM9 holds it.
    pub fn gap_ev(&self, canonical: &str) -> Option<f64> {
        self.gaps.get(canonical).copied()
    }

    /// How many of the molecule's ring systems have a framework no QM9 molecule has.
    pub fn new_ring_frameworks(&self, molecule: &Molecule) -> usize {
        self.frameworks.new_in(molecule)
    }

    /// Whether every ring system of the molecule has a framework QM9 has.
    pub fn has_ring_frameworks_of(&self, molecule: &Molecule) -> bool {
        self.frameworks.hold(molecule)
    }
}
