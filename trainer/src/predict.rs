//! `trainer predict`: the surrogate's HOMO-LUMO gap for given molecules,
//! beside what QM9 says of them (its own gap when it holds the molecule, and
//! whether every ring system has a framework some QM9 molecule has).

use std::collections::HashMap;

use burn::prelude::Device;
use model_core::chem::{Molecule, canonical_smiles};
use model_core::data::Qm9Dataset;
use model_core::model::surrogate::{GapSurrogate, SurrogateConfig, predict_gaps_ev};

use crate::search::Qm9Reference;

/// What is known and predicted of one molecule.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub canonical: String,
    pub predicted_gap_ev: f64,
    /// QM9's gap (B3LYP/6-31G(2df,p)) when QM9 holds the molecule.
    pub qm9_gap_ev: Option<f64>,
    pub on_qm9_frameworks: bool,
}

/// QM9's gaps by canonical SMILES, and its ring frameworks.
pub struct Qm9Lookup {
    gaps: HashMap<String, f64>,
    reference: Qm9Reference,
}

impl Qm9Lookup {
    pub fn from_dataset(dataset: &Qm9Dataset) -> Qm9Lookup {
        Qm9Lookup {
            gaps: dataset
                .records
                .iter()
                .map(|r| (r.canonical.clone(), r.gap_ev()))
                .collect(),
            reference: Qm9Reference::from_dataset(dataset),
        }
    }

    /// QM9's gap for the molecule with this canonical SMILES, if QM9 holds it.
    pub fn gap_ev(&self, canonical: &str) -> Option<f64> {
        self.gaps.get(canonical).copied()
    }
}

pub fn predict(
    molecules: &[Molecule],
    surrogate: &GapSurrogate,
    config: &SurrogateConfig,
    qm9: &Qm9Lookup,
    device: &Device,
) -> Vec<Prediction> {
    let refs: Vec<&Molecule> = molecules.iter().collect();
    let gaps = predict_gaps_ev(surrogate, config, &refs, device);
    molecules
        .iter()
        .zip(gaps)
        .map(|(m, predicted_gap_ev)| {
            let canonical = canonical_smiles(m);
            Prediction {
                qm9_gap_ev: qm9.gaps.get(&canonical).copied(),
                on_qm9_frameworks: qm9.reference.has_ring_frameworks_of(m),
                canonical,
                predicted_gap_ev,
            }
        })
        .collect()
}
