//! What unit tests build on: QM9-like records (a molecule and a gap, no
//! geometry) and a small network's configuration.

use model_core::chem::parse_smiles;
use model_core::data::{Geometry, HARTREE_TO_EV, Qm9Record};
use model_core::model::ModelConfig;

/// Record `index` of `smiles` (taken as canonical) with HOMO-LUMO gap `gap_ev`.
pub(crate) fn record(index: u32, smiles: &str, gap_ev: f64) -> Qm9Record {
    let gap_ha = (gap_ev / HARTREE_TO_EV) as f32;
    Qm9Record {
        index,
        source_smiles: smiles.to_string(),
        canonical: smiles.to_string(),
        molecule: parse_smiles(smiles).unwrap(),
        homo_ha: -gap_ha,
        lumo_ha: 0.0,
        gap_ha,
        geometry: Geometry {
            atomic_numbers: Vec::new(),
            positions: Vec::new(),
        },
    }
}

/// A network small enough to step in a unit test.
pub(crate) fn tiny_config() -> ModelConfig {
    ModelConfig {
        hidden: 32,
        latent: 8,
        layers: 2,
        token_embedding: 8,
        ..ModelConfig::default()
    }
}
