//! `trainer predict`: the surrogate's HOMO-LUMO gap for given molecules,
//! beside what QM9 says of them (its own gap when it holds the molecule, and
//! whether every ring system has a framework some QM9 molecule has).

use burn::prelude::Device;
use model_core::chem::{Molecule, canonical_smiles};
use model_core::model::surrogate::{GapSurrogate, SurrogateConfig, predict_gaps_ev};

use crate::qm9_index::Qm9Index;

/// What is known and predicted of one molecule.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub canonical: String,
    pub predicted_gap_ev: f64,
    /// QM9's gap (B3LYP/6-31G(2df,p)) when QM9 holds the molecule.
    pub qm9_gap_ev: Option<f64>,
    pub on_qm9_frameworks: bool,
}

pub fn predict(
    molecules: &[Molecule],
    surrogate: &GapSurrogate,
    config: &SurrogateConfig,
    qm9: &Qm9Index,
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
                qm9_gap_ev: qm9.gap_ev(&canonical),
                on_qm9_frameworks: qm9.has_ring_frameworks_of(m),
                canonical,
                predicted_gap_ev,
            }
        })
        .collect()
}
