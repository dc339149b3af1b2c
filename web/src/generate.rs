//! Sampling in the page: the same `model-core` code and weights as
//! `trainer sample`, on burn's CPU backend compiled to wasm.

use burn::prelude::Device;
use model_core::chem::canonical_smiles;
use model_core::chem::depict::depict_svg;
use model_core::model::sample::{Sample, sample_with_gaps};
use model_core::model::weights::load_weights;
use model_core::model::{GraphVae, ModelConfig};

pub struct Generator {
    model: GraphVae,
    config: ModelConfig,
    device: Device,
}

/// One sampled molecule, ready to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawn {
    pub smiles: String,
    pub svg: String,
    pub predicted_gap_ev: f64,
    pub heavy_atoms: usize,
}

/// Molecules decoded per batch (as `trainer sample` does).
const BATCH: usize = 256;

impl Generator {
    pub fn from_bytes(bytes: &[u8]) -> Result<Generator, String> {
        let device = Device::flex();
        let (model, config) = load_weights(bytes, &device).map_err(|e| e.to_string())?;
        Ok(Generator {
            model,
            config,
            device,
        })
    }

    pub fn backend(&self) -> &'static str {
        "CPU (burn flex, wasm32)"
    }

    /// Samples `n` molecules with `seed`; drawing them is a separate step.
    pub fn sample(&self, n: usize, seed: u64, temperature: f32) -> Vec<Sample> {
        sample_with_gaps(
            &self.model,
            &self.config,
            n,
            seed,
            BATCH,
            temperature,
            &self.device,
        )
    }
}

/// The canonical SMILES and 2D drawing of a sampled molecule.
pub fn draw(sample: &Sample) -> Drawn {
    Drawn {
        smiles: canonical_smiles(&sample.molecule),
        svg: depict_svg(&sample.molecule),
        predicted_gap_ev: sample.predicted_gap_ev,
        heavy_atoms: sample.molecule.heavy_atom_count(),
    }
}

pub fn csv(molecules: &[Drawn]) -> String {
    let mut out = String::from("smiles,predicted_gap_ev,heavy_atoms\n");
    for m in molecules {
        out.push_str(&format!(
            "{},{:.3},{}\n",
            m.smiles, m.predicted_gap_ev, m.heavy_atoms
        ));
    }
    out
}
