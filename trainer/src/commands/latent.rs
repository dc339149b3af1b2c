//! `trainer encode`, `decode` and `interpolate`: the latent space by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use model_core::model::latent_path::{PathOptions, StepSource};
use model_core::model::refine::{Outcome, Refinement, refined_latents};
use training::backend::Backend;
use training::fsio::write_atomically;
use training::generate;
use training::interpolation::{interpolate, path_figures, predicted_gaps};
use training::prepare;

/// Print the mean latent of a molecule as JSON
#[derive(Args)]
pub struct EncodeArgs {
    smiles: String,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    /// Where greedy decoding of the mean gives another molecule, move the
    /// latent up log p(molecule | z) until it gives this one back (at most
    /// this many gradient steps, 40 if not given; 0 prints the mean)
    #[arg(long, num_args = 0..=1, value_name = "STEPS")]
    refine: Option<Option<usize>>,
}

impl EncodeArgs {
    pub fn run(self) -> Result<ExitCode> {
        let EncodeArgs {
            smiles,
            weights,
            refine,
        } = self;
        let device = Backend::Flex.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        let refine = match refine {
            None => 0,
            Some(None) => Refinement::default().max_steps,
            Some(Some(steps)) => steps,
        };
        if refine == 0 {
            outln!(
                "{}",
                serde_json::to_string(&generate::encode(&model, &smiles, &device)?)?
            );
            return Ok(ExitCode::SUCCESS);
        }
        let molecule = generate::parse(&smiles)?;
        let refinement = Refinement {
            max_steps: refine,
            ..Refinement::default()
        };
        let found = refined_latents(&model, &config, &[&molecule], refinement, &device);
        let note = match found.outcomes[0] {
            Outcome::Mean => "the mean gives the molecule back".to_string(),
            Outcome::Refined { steps } => format!(
                "refined in {steps} steps, {:.2} posterior sigmas from the mean",
                found.moved_sigmas[0]
            ),
            Outcome::Missed => format!(
                "not given back within {refine} steps: the latent is the closest found, and decodes to another molecule"
            ),
            Outcome::Unbuildable => format!(
                "the decoder cannot build this molecule (it builds at most {} heavy atoms of its elements): the latent is the mean",
                config.max_atoms
            ),
        };
        eprintln!("{note}");
        outln!("{}", serde_json::to_string(&found.z)?);
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

/// Decode a path between two molecules' latents, refined so that
/// neighbouring molecules differ by small edits where the model allows
#[derive(Args)]
pub struct InterpolateArgs {
    /// The first molecule (SMILES)
    #[arg(required_unless_present = "test_pairs")]
    from: Option<String>,
    /// The second molecule (SMILES)
    #[arg(required_unless_present = "test_pairs")]
    to: Option<String>,
    /// Evenly spaced points decoded first
    #[arg(long, default_value_t = 8)]
    steps: usize,
    /// Only the evenly spaced points: no refinement, no bridging edits
    #[arg(long)]
    straight: bool,
    /// Instead of one path, measure how smooth the paths are between this
    /// many seeded random pairs of QM9 test molecules
    #[arg(long, conflicts_with_all = ["from", "to", "straight"])]
    test_pairs: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// With --test-pairs: write the figures as JSON here
    #[arg(long, requires = "test_pairs")]
    json: Option<PathBuf>,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
}

impl InterpolateArgs {
    pub fn run(self) -> Result<ExitCode> {
        let device = Backend::Flex.device();
        let (model, config) = generate::load_model(&self.weights, &device)?;
        if let Some(pairs) = self.test_pairs {
            let dataset = prepare::load_dataset(&prepare::dataset_path(&self.data_dir))?;
            let figures = path_figures(
                &model, &config, &dataset, pairs, self.steps, self.seed, &device,
            )?;
            outln!(
                "{pairs} random pairs of test molecules (seed {}), {} evenly spaced points to start",
                self.seed,
                self.steps
            );
            outln!(
                "{:<22}{:>16}{:>14}{:>12}{:>11}{:>10}{:>9}",
                "path",
                "one-edit steps",
                "smooth paths",
                "mean edits",
                "molecules",
                "bridged",
                "seconds"
            );
            for f in &figures {
                outln!(
                    "{:<22}{:>15.2}%{:>13.2}%{:>12.2}{:>11.1}{:>9.2}%{:>9.1}",
                    f.variant,
                    f.one_edit_steps * 100.0,
                    f.smooth_paths * 100.0,
                    f.mean_edits,
                    f.mean_molecules,
                    f.bridged_steps * 100.0,
                    f.seconds
                );
            }
            if let Some(path) = &self.json {
                let report = serde_json::json!({
                    "weights": self.weights,
                    "pairs": pairs,
                    "steps": self.steps,
                    "seed": self.seed,
                    "paths": figures,
                });
                write_atomically(path, format!("{report:#}\n").as_bytes())?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let (from, to) = (self.from.unwrap_or_default(), self.to.unwrap_or_default());
        let (a, b) = (generate::parse(&from)?, generate::parse(&to)?);
        let options = if self.straight {
            PathOptions::straight(self.steps, config.max_atoms)
        } else {
            PathOptions::refined(self.steps, config.max_atoms)
        };
        let path = interpolate(&model, &config, &a, &b, options, &device);
        let gaps = predicted_gaps(&model, &config, &path, &device);
        for (step, gap) in path.into_iter().zip(gaps) {
            let how = match step.source {
                StepSource::Decoded => "decoded",
                StepSource::Bridged => "edit",
            };
            outln!(
                "{:.3}\t{}\t{how}\t{}\tpredicted gap {gap:.2} eV",
                step.t,
                step.smiles,
                match step.edits {
                    0 => "start".to_string(),
                    1 => "one edit".to_string(),
                    n => format!("{n}+ edits"),
                }
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
