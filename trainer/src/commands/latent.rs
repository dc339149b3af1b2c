//! `trainer encode`, `decode` and `interpolate`: the latent space by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use training::backend::Backend;
use training::generate;

/// Print the mean latent of a molecule as JSON
#[derive(Args)]
pub struct EncodeArgs {
    smiles: String,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
}

impl EncodeArgs {
    pub fn run(self) -> Result<ExitCode> {
        let EncodeArgs { smiles, weights } = self;
        let device = Backend::Flex.device();
        let (model, _) = generate::load_model(&weights, &device)?;
        outln!(
            "{}",
            serde_json::to_string(&generate::encode(&model, &smiles, &device)?)?
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Decode a latent (a JSON array, as `encode` prints) greedily into a molecule
#[derive(Args)]
pub struct DecodeArgs {
    latent: String,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
}

impl DecodeArgs {
    pub fn run(self) -> Result<ExitCode> {
        let DecodeArgs { latent, weights } = self;
        let device = Backend::Flex.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        let z: Vec<f32> =
            serde_json::from_str(&latent).context("the latent must be a JSON array of numbers")?;
        let (m, gap) = generate::decode(&model, &config, &z, &device)?;
        outln!(
            "{}\tpredicted gap {gap:.2} eV",
            model_core::chem::canonical_smiles(&m)
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Decode the straight line between two molecules' latents
#[derive(Args)]
pub struct InterpolateArgs {
    from: String,
    to: String,
    #[arg(long, default_value_t = 8)]
    steps: usize,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
}

impl InterpolateArgs {
    pub fn run(self) -> Result<ExitCode> {
        let InterpolateArgs {
            from,
            to,
            steps,
            weights,
        } = self;
        let device = Backend::Flex.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        for (t, m, gap) in generate::interpolate(&model, &config, &from, &to, steps, &device)? {
            outln!(
                "{t:.2}\t{}\tpredicted gap {gap:.2} eV",
                model_core::chem::canonical_smiles(&m)
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
