//! What `fit-prior`, `fit-critic`, `fit-exemplars` and `fit-domain` share:
//! trained weights read, one part of them fitted on the prepared dataset,
//! the weights written out again with it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use model_core::data::Qm9Dataset;
use model_core::model::{GraphVae, ModelConfig, weights};
use training::backend::{Backend, Device};
use training::{fsio, generate, prepare};

#[derive(Args)]
pub struct RefitArgs {
    /// The trained weights to fit to
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    /// Where to write the weights with what was fitted (may be --weights)
    #[arg(long)]
    out: PathBuf,
    /// The prepared dataset it is fitted on
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

/// Weights and dataset loaded, waiting for the fitted part.
pub struct Refit {
    pub model: GraphVae,
    pub config: ModelConfig,
    pub dataset: Qm9Dataset,
    pub device: Device,
    out: PathBuf,
}

impl RefitArgs {
    pub fn load(self) -> Result<Refit> {
        let device = Backend::Flex.device();
        let (model, config) = generate::load_model(&self.weights, &device)?;
        let dataset = prepare::load_dataset(&prepare::dataset_path(&self.data_dir))?;
        Ok(Refit {
            model,
            config,
            dataset,
            device,
            out: self.out,
        })
    }
}

impl Refit {
    /// Writes the weights with `config` as it now stands; returns where.
    pub fn write(&self) -> Result<&std::path::Path> {
        fsio::write_atomically(
            &self.out,
            &weights::save_weights(&self.model, &self.config, weights::Precision::Half),
        )?;
        Ok(&self.out)
    }
}
