//! `trainer bench`: benchmarks that print figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use training::backend::Backend;
use training::{bench, generate, prepare, python, train, wheel};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Training (graphs/s) and sampling (molecules/s) throughput per CPU backend, and peak memory
    Model {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Weights to sample with [default: public/weights.bin if present]
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Only this backend [default: each in turn, each in a fresh process of
        /// its own, so that its peak memory is its own]
        #[arg(long)]
        backend: Option<Backend>,
        /// Print the row only (how the parent runs each backend)
        #[arg(long, hide = true)]
        row_only: bool,
    },
    /// Parse and canonicalise all of QM9, beside RDKit on the same input
    Smiles {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Python with RDKit [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

impl BenchCommand {
    pub fn run(self) -> Result<ExitCode> {
        match self {
            BenchCommand::Model {
                data_dir,
                weights,
                samples,
                backend,
                row_only,
            } => {
                let weights = weights.or_else(|| {
                    let shipped = PathBuf::from(generate::DEFAULT_WEIGHTS);
                    shipped.exists().then_some(shipped)
                });
                if !row_only {
                    outln!(
                        "graph VAE throughput ({}), training batch {}, sampling batch 2048",
                        weights
                            .as_ref()
                            .map_or("untrained default model".to_string(), |w| w
                                .display()
                                .to_string()),
                        train::TrainConfig::default().batch_size
                    );
                    outln!(
                        "  {:<9} {:>16} {:>18} {:>12} {:>14}",
                        "backend",
                        "train graphs/s",
                        "sample molecules/s",
                        "mean atoms",
                        "peak RSS MiB"
                    );
                }
                match backend {
                    Some(backend) => {
                        let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
                        let row =
                            bench::bench_model(backend, weights.as_deref(), &dataset, samples)?;
                        outln!(
                            "  {:<9} {:>16.0} {:>18.0} {:>12.2} {:>14}",
                            row.backend,
                            row.train_graphs_per_second,
                            row.sample_molecules_per_second,
                            row.mean_heavy_atoms,
                            row.peak_memory_mib
                                .map_or("?".to_string(), |m| format!("{m:.0}"))
                        );
                    }
                    // One process per backend: the peak resident memory a process
                    // reports is its high-water mark since start, so in one
                    // process later rows would include earlier ones.
                    None => {
                        for backend in Backend::all() {
                            let mut child = std::process::Command::new(std::env::current_exe()?);
                            child
                                .args(["bench", "model", "--row-only", "--data-dir"])
                                .arg(&data_dir)
                                .args(["--samples", &samples.to_string()])
                                .args(["--backend", backend.name()]);
                            if let Some(w) = &weights {
                                child.arg("--weights").arg(w);
                            }
                            let output = child.stderr(std::process::Stdio::inherit()).output()?;
                            if !output.status.success() {
                                anyhow::bail!(
                                    "the {} benchmark failed ({})",
                                    backend.name(),
                                    output.status
                                );
                            }
                            out!("{}", String::from_utf8_lossy(&output.stdout));
                        }
                    }
                }
            }
            BenchCommand::Smiles { data_dir, python } => {
                let python = python::resolve(python.as_deref());
                let wheel = wheel::ensure_wheel(&prepare::wheel_cache_dir(&data_dir), &python)?;
                let smiles = wheel::read_smiles(&wheel)?;
                out!("{}", bench::bench_smiles(&smiles, &python)?);
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
