//! `trainer sample`: molecules from the prior, near a gap, or near given
//! molecules.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use model_core::chem::{Molecule, parse_smiles};
use model_core::model::posterior::Posteriors;
use model_core::model::sample::Target;
use training::backend::Backend;
use training::exemplars::LatentSource;
use training::generate;

use super::prior::{PriorArgs, PriorKind};

/// Sample molecules from the prior with trained weights (the mixture in the
/// weights, or the exemplar prior), near a gap or near given molecules
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
    /// With --gap: rank candidates with ring systems QM9 lacks alongside
    /// the rest. By default they rank after every candidate on QM9's ring
    /// frameworks (carried by the weights, else read from the prepared
    /// dataset), where the surrogate was trained: its gaps for new ring
    /// systems are often off by eV
    #[arg(long)]
    any_framework: bool,
    /// Sample molecules near those in this SMILES file (first field of each
    /// line; `-` reads standard input): each z is drawn from the encoder's
    /// posterior of one of them instead of the prior, the molecules dealt
    /// in a seeded shuffle (each once before any repeats)
    #[arg(long, conflicts_with = "gap", value_name = "FILE")]
    near: Option<PathBuf>,
    #[command(flatten)]
    prior: PriorArgs,
    /// The prepared dataset, read with --prior exemplars and with --gap
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
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
            any_framework,
            near,
            prior,
            data_dir,
        } = self;
        let device = backend.device();
        let (model, config) = generate::load_model(&weights, &device)?;
        let source = match near {
            Some(path) => {
                if prior.prior != PriorKind::Weights {
                    anyhow::bail!(
                        "--near draws z from the given molecules' posteriors; it takes no --prior"
                    );
                }
                let spread = prior.spread_or(NEAR_SPREAD)?;
                let molecules = read_molecules(&path)?;
                Source::Near(Posteriors::encode(&model, &molecules, &device).widened(spread))
            }
            None => Source::Prior(prior.source(&model, &data_dir, &device)?),
        };
        let started = std::time::Instant::now();
        let samples = match gap {
            None => generate::sample_parallel(
                &model,
                &config,
                n,
                seed,
                batch,
                temperature,
                match &source {
                    Source::Near(posteriors) => Target::Near(posteriors),
                    Source::Prior(prior) => prior.unconditional(),
                },
                &device,
            )?,
            Some(gap) => {
                let Source::Prior(prior) = &source else {
                    unreachable!("clap refuses --near with --gap")
                };
                let guide = generate::Guide::load(&surrogate, oversample, &device)?
                    .map(|guide| {
                        generate::guidance_domain(&config, &data_dir, any_framework)
                            .map(|domain| guide.within(domain))
                    })
                    .transpose()?;
                generate::sample_near_gap(
                    &model,
                    &config,
                    guide.as_ref(),
                    prior,
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

/// `--near`'s default spread: half the samples the given molecules, half
/// their neighbours.
const NEAR_SPREAD: f32 = 10.0;

/// Where this run draws z from.
enum Source {
    Prior(LatentSource),
    Near(Posteriors),
}

/// The molecules of a SMILES file; a line that does not parse is an error
/// that names it.
fn read_molecules(path: &std::path::Path) -> Result<Vec<Molecule>> {
    let lines = super::read_smiles_file(path)?;
    if lines.is_empty() {
        anyhow::bail!("{} holds no SMILES to sample near", path.display());
    }
    lines
        .into_iter()
        .map(|(line, smiles)| {
            parse_smiles(&smiles)
                .with_context(|| format!("{} line {line}: cannot read {smiles}", path.display()))
        })
        .collect()
}
