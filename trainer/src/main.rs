//! `trainer`: the command-line front end. Each subcommand is a thin wrapper
//! over a function of the `trainer` library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use model_core::chem::{SmilesOptions, StereoPolicy, canonical_smiles, parse_smiles_with};
use trainer::{bench, prepare, python, wheel};

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "Prepare QM9, train the graph VAE, sample and optimise molecules",
    after_help = "Start with `trainer prepare`; every other command reads what it writes."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch QM9 (the qm9pack 1.0.3 wheel from PyPI), check every molecule, split it
    /// 80/10/10 with a fixed seed and write DATA_DIR/qm9.bin
    Prepare {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Use this wheel instead of downloading one (its sha256 is checked)
        #[arg(long)]
        wheel: Option<PathBuf>,
        /// Seed of the train/valid/test split
        #[arg(long, default_value_t = prepare::DEFAULT_SPLIT_SEED)]
        seed: u64,
        /// Python with pip, for the download [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Print what a prepared dataset holds
    Info {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Check SMILES and print their canonical form, or the reason each is rejected
    Canon {
        /// SMILES strings to check
        #[arg(required = true)]
        smiles: Vec<String>,
        /// Drop stereo marks (@, /, \) instead of rejecting them
        #[arg(long)]
        ignore_stereo: bool,
    },
    /// Benchmarks that print figures
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Parse and canonicalise all of QM9, beside RDKit on the same input
    Smiles {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Python with RDKit [default: .venv/bin/python, else python3]
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Prepare {
            data_dir,
            wheel,
            seed,
            python,
        } => {
            let report = prepare::prepare(&prepare::PrepareOptions {
                data_dir,
                wheel,
                seed,
                python: python::resolve(python.as_deref()),
                progress: std::io::stderr().is_terminal(),
            })?;
            print!("{report}");
        }
        Command::Info { data_dir } => {
            let path = prepare::dataset_path(&data_dir);
            let dataset = prepare::load_dataset(&path)?;
            println!(
                "{}: {} molecules from wheel sha256 {}",
                path.display(),
                dataset.records.len(),
                dataset.source_sha256
            );
            for split in model_core::data::Split::ALL {
                println!(
                    "  {:<6} {:>7}",
                    split.name(),
                    dataset.split.get(split).len()
                );
            }
            println!("  split seed {}", dataset.split.seed);
        }
        Command::Canon {
            smiles,
            ignore_stereo,
        } => {
            let options = SmilesOptions {
                stereo: if ignore_stereo {
                    StereoPolicy::Ignore
                } else {
                    StereoPolicy::Reject
                },
                ..Default::default()
            };
            let mut failed = 0;
            for s in &smiles {
                match parse_smiles_with(s, &options) {
                    Ok(m) => println!("{s}\t{}\t{}", canonical_smiles(&m), m.formula()),
                    Err(e) => {
                        failed += 1;
                        println!("{s}\terror: {e}");
                    }
                }
            }
            if failed > 0 {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Bench {
            what: BenchCommand::Smiles { data_dir, python },
        } => {
            let python = python::resolve(python.as_deref());
            let wheel = wheel::ensure_wheel(&prepare::wheel_cache_dir(&data_dir), &python)?;
            let smiles = wheel::read_smiles(&wheel)?;
            print!("{}", bench::bench_smiles(&smiles, &python)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
