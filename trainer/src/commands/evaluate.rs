//! `trainer evaluate`: validity, uniqueness, novelty, realism, reconstruction.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use model_core::model::refine::Refinement;
use training::backend::Backend;
use training::{evaluate, generate, prepare, python};

use super::prior::PriorArgs;

/// Validity, uniqueness, novelty, reconstruction and distribution match
#[derive(Args)]
pub struct EvaluateArgs {
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Write the full report as JSON here
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the test molecules reconstruction misses here, tab-separated:
    /// the molecule's canonical SMILES, then what was decoded instead
    #[arg(long)]
    misses: Option<PathBuf>,
    /// Sampling temperature
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Embed this many samples, and as many QM9 test molecules, in 3D with
    /// RDKit (ETKDGv3); 0 skips the embedding
    #[arg(long, default_value_t = 2000)]
    embed: usize,
    /// Python with RDKit [default: .venv/bin/python, else python3]
    #[arg(long)]
    python: Option<PathBuf>,
    /// Refine the latents of the test molecules the mean does not give
    /// back: at most this many gradient steps each up log p(molecule | z),
    /// stopping once greedy decoding gives it back; 0 skips it
    #[arg(long, default_value_t = Refinement::default().max_steps)]
    refine_steps: usize,
    #[command(flatten)]
    prior: PriorArgs,
}

impl EvaluateArgs {
    pub fn run(self) -> Result<ExitCode> {
        let EvaluateArgs {
            n,
            seed,
            weights,
            data_dir,
            json,
            misses,
            temperature,
            backend,
            embed,
            python,
            refine_steps,
            prior,
        } = self;
        let device = backend.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
        let source = prior.source(&model, &data_dir, &device)?;
        let options = evaluate::EvaluateOptions {
            samples: n,
            seed,
            temperature,
            embed,
            python: python::resolve(python.as_deref()),
            refinement: Refinement {
                max_steps: refine_steps,
                ..Refinement::default()
            },
        };
        let report = evaluate::evaluate(&model, &config, &dataset, &source, &options, &device)?;
        if let Some(path) = json {
            std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(path) = misses {
            let mut table = String::from("smiles\tdecoded\n");
            for miss in &report.reconstruction_misses {
                table.push_str(&format!("{}\t{}\n", miss.smiles, miss.decoded));
            }
            std::fs::write(&path, table)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        out!("{report}");
        Ok(ExitCode::SUCCESS)
    }
}
