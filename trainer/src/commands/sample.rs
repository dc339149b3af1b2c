//! `trainer sample`: molecules from the prior, or near a gap.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use model_core::model::sample::Target;
use training::backend::Backend;
use training::generate;

/// Sample molecules from the prior with trained weights
#[derive(Args)]
pub struct SampleArgs {
    /// How many molecules
    #[arg(long, default_value_t = 1000)]
    n: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file [default: standard output]
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "smiles")]
    format: generate::Format,
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Softmax temperature; below 1 samples more typical molecules
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    #[arg(long, default_value_t = 2048)]
    batch: usize,
    /// Sample molecules whose HOMO-LUMO gap should be near this (eV):
    /// z is drawn from the prior conditioned on the gap, and the surrogate
    /// keeps the candidates nearest the target
    #[arg(long)]
    gap: Option<f64>,
    /// With --gap: candidates drawn per molecule kept (1: no surrogate)
    #[arg(long, default_value_t = 8)]
    oversample: usize,
    /// With --gap: the surrogate that ranks candidates
    #[arg(long, default_value = "public/surrogate.bin")]
    surrogate: PathBuf,
}

impl SampleArgs {
    pub fn run(self) -> Result<ExitCode> {
        let SampleArgs {
            n,
            seed,
            out,
            format,
            weights,
            backend,
            temperature,
            batch,
            gap,
            oversample,
            surrogate,
        } = self;
        let device = backend.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        let started = std::time::Instant::now();
        let samples = match gap {
            None => generate::sample_parallel(
                &model,
                &config,
                n,
                seed,
                batch,
                temperature,
                Target::Prior,
                &device,
            )?,
            Some(gap) => {
                let guide = generate::Guide::load(&surrogate, oversample, &device)?;
                generate::sample_near_gap(
                    &model,
                    &config,
                    guide.as_ref(),
                    n,
                    seed,
                    batch,
                    temperature,
                    gap,
                    &device,
                )
                .with_context(|| format!("cannot sample with {}", weights.display()))?
            }
        };
        let lines = generate::sample_lines(samples, format);
        let seconds = started.elapsed().as_secs_f64();
        let text = lines.join("\n") + "\n";
        match out {
            Some(path) => {
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!(
                    "{n} molecules in {seconds:.2} s ({:.0}/s) written to {}",
                    n as f64 / seconds,
                    path.display()
                );
            }
            None => out!("{text}"),
        }
        Ok(ExitCode::SUCCESS)
    }
}
