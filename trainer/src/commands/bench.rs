//! `trainer bench`: benchmarks that print figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use training::backend::Backend;
use training::{bench, bench_torch, generate, prepare, python, train, wheel};

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
        /// Seconds per timed training window (whole batches, after two warm-up batches)
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Timed training windows; the median and the spread (highest / lowest) are printed
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Shards per training batch, computed in parallel [default: as `trainer train`]
        #[arg(long)]
        shards: Option<usize>,
        /// Only this backend [default: each in turn, each in a fresh process of
        /// its own, so that its peak memory is its own]
        #[arg(long)]
        backend: Option<Backend>,
        /// Print the row only (how the parent runs each backend)
        #[arg(long, hide = true)]
        row_only: bool,
    },
    /// Training throughput beside a PyTorch (+ PyTorch Geometric) copy of the
    /// same model on the same batches, alternating runs (needs
    /// benchmarks/requirements.txt in .venv-bench)
    Torch {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Batches to time after two warm-up batches (0 = a full epoch of the training split)
        #[arg(long, default_value_t = 200)]
        batches: usize,
        /// Runs of each, alternating burn and PyTorch
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Shards per batch on the burn side [default: as `trainer train`]
        #[arg(long)]
        shards: Option<usize>,
        /// PyTorch's threads [default: the machine's cores]
        #[arg(long)]
        threads: Option<usize>,
        /// Python with torch
        #[arg(long, default_value = ".venv-bench/bin/python")]
        python: PathBuf,
        /// burn's backend (a GPU one wants --shards 1)
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
        /// PyTorch's device (cpu, cuda)
        #[arg(long, default_value = "cpu")]
        torch_device: String,
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
                seconds,
                repeats,
                shards,
                backend,
                row_only,
            } => {
                let window = bench::TrainWindow {
                    seconds,
                    repeats,
                    shards: shards.unwrap_or(train::TrainConfig::default().shards),
                };
                let weights = weights.or_else(|| {
                    let shipped = PathBuf::from(generate::DEFAULT_WEIGHTS);
                    shipped.exists().then_some(shipped)
                });
                if !row_only {
                    outln!(
                        "graph VAE throughput ({}), training batch {} in {} shards, median of {} windows of {} s; sampling {} molecules in batches of 2048, median of as many runs",
                        weights
                            .as_ref()
                            .map_or("untrained default model".to_string(), |w| w
                                .display()
                                .to_string()),
                        train::TrainConfig::default().batch_size,
                        window.shards,
                        window.repeats,
                        window.seconds,
                        samples
                    );
                    outln!(
                        "  {:<9} {:>16} {:>15} {:>8} {:>18} {:>8} {:>12} {:>14}",
                        "backend",
                        "train graphs/s",
                        "lowest-highest",
                        "spread",
                        "sample molecules/s",
                        "spread",
                        "mean atoms",
                        "peak RSS MiB"
                    );
                }
                match backend {
                    Some(backend) => {
                        let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
                        let row = bench::bench_model(
                            backend,
                            weights.as_deref(),
                            &dataset,
                            samples,
                            window,
                        )?;
                        outln!(
                            "  {:<9} {:>16.0} {:>15} {:>8.3} {:>18.0} {:>8.3} {:>12.2} {:>14}",
                            row.backend,
                            row.train.median,
                            format!("{:.0}-{:.0}", row.train.min, row.train.max),
                            row.train.spread(),
                            row.sample.median,
                            row.sample.spread(),
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
                                .args(["--seconds", &seconds.to_string()])
                                .args(["--repeats", &repeats.to_string()])
                                .args(["--shards", &window.shards.to_string()])
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
            BenchCommand::Torch {
                data_dir,
                batches,
                runs,
                shards,
                threads,
                python,
                backend,
                torch_device,
            } => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let options = bench_torch::TorchBenchOptions {
                    backend,
                    torch_device,
                    batches,
                    runs,
                    shards: shards.unwrap_or(train::TrainConfig::default().shards),
                    threads: threads.unwrap_or(cores),
                    python,
                };
                let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
                let result = bench_torch::bench_torch(&dataset, &options)?;
                outln!(
                    "graph VAE training, {} batches ({} graphs) of epoch 1, median of {} alternating runs, {} cores",
                    result.batches,
                    result.graphs,
                    result.burn.runs,
                    cores
                );
                outln!(
                    "  {:<44} {:>12} {:>10} {:>15} {:>8}",
                    "",
                    "parameters",
                    "graphs/s",
                    "lowest-highest",
                    "spread"
                );
                let burn_name = format!("burn {}, {} shards", result.backend, result.shards);
                let torch_name = format!(
                    "PyTorch {} {} ({}), {} threads",
                    result.torch_version,
                    result.torch_device,
                    result.aggregation,
                    result.torch_threads
                );
                outln!(
                    "{}",
                    throughput_row(&burn_name, result.burn_parameters, &result.burn)
                );
                outln!(
                    "{}",
                    throughput_row(&torch_name, result.torch_parameters, &result.torch)
                );
                outln!("  burn / PyTorch: {:.2}x", result.ratio());
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

fn throughput_row(name: &str, parameters: usize, t: &bench::Throughput) -> String {
    format!(
        "  {:<44} {:>12} {:>10.0} {:>15} {:>8.3}",
        name,
        parameters,
        t.median,
        format!("{:.0}-{:.0}", t.min, t.max),
        t.spread()
    )
}
