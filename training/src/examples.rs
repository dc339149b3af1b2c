//! Teacher-forcing examples of QM9 and the tensors a batch of them becomes.

use anyhow::{Context, Result};
use burn::prelude::*;
use burn::tensor::TensorData;
use model_core::chem::Molecule;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::ModelConfig;
use model_core::model::batch::{DecoderBatch, GraphBatch};
use model_core::model::target::{DecodingTarget, TargetError, decoding_target};

/// A molecule with its decoding target and its gap.
pub struct Example {
    molecule: Molecule,
    target: DecodingTarget,
    gap_ev: f64,
}

impl Example {
    /// Fails when the decoder cannot build `molecule` (see [`decoding_target`]).
    pub fn new(molecule: Molecule, gap_ev: f64, max_atoms: usize) -> Result<Example, TargetError> {
        Ok(Example {
            target: decoding_target(&molecule, max_atoms)?,
            molecule,
            gap_ev,
        })
    }
}

/// Teacher-forcing examples of `split` (at most `limit`; 0 = all). A
/// molecule the decoder's masks cannot build in canonical order is left out
/// and counted: 56 of QM9's tricyclic cage alkenes, whose canonical
/// construction passes through an anti-Bredt bicyclic (see
/// `model_core::chem::structure`). Any other failure stops with the row.
pub fn examples(
    dataset: &Qm9Dataset,
    split: Split,
    limit: usize,
    max_atoms: usize,
) -> Result<Vec<Example>> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    let mut examples = Vec::new();
    let mut unbuildable = 0;
    for r in dataset.split_records(split).take(limit) {
        match Example::new(r.molecule.clone(), r.gap_ev(), max_atoms) {
            Ok(example) => examples.push(example),
            Err(TargetError::Masked { .. }) => unbuildable += 1,
            Err(e) => {
                return Err(e).with_context(|| format!("QM9 #{} {}", r.index, r.source_smiles));
            }
        }
    }
    if unbuildable > 0 {
        eprintln!(
            "{} split: {unbuildable} molecules the construction rules cannot build are left out",
            split.name()
        );
    }
    Ok(examples)
}

/// A batch as the model's loss reads it.
pub struct BatchTensors {
    pub graphs: GraphBatch,
    pub decoding: DecoderBatch,
    /// Standardised HOMO-LUMO gaps, `[molecules, 1]`.
    pub gaps: Tensor<2>,
    /// The reparameterisation's ε ~ N(0, I), `[molecules, latent]`.
    pub noise: Tensor<2>,
}

impl BatchTensors {
    /// `noise` holds `batch.len() * config.latent` standard-normal draws,
    /// row-major (see [`crate::step::batch_noise`]).
    pub fn new(
        batch: &[&Example],
        noise: &[f32],
        config: &ModelConfig,
        device: &Device,
    ) -> BatchTensors {
        assert_eq!(
            noise.len(),
            batch.len() * config.latent,
            "noise per molecule"
        );
        let molecules: Vec<&Molecule> = batch.iter().map(|e| &e.molecule).collect();
        let targets: Vec<&DecodingTarget> = batch.iter().map(|e| &e.target).collect();
        let gaps: Vec<f32> = batch
            .iter()
            .map(|e| ((e.gap_ev - config.gap_mean_ev) / config.gap_std_ev) as f32)
            .collect();
        BatchTensors {
            graphs: GraphBatch::new(&molecules, device),
            decoding: DecoderBatch::new(&targets, config.max_atoms, device),
            gaps: Tensor::from_data(TensorData::new(gaps, [batch.len(), 1]), device),
            noise: Tensor::from_data(
                TensorData::new(noise.to_vec(), [batch.len(), config.latent]),
                device,
            ),
        }
    }
}
