//! `trainer prepare` and `trainer info`: QM9 in, and what it holds.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::{prepare, python};

/// Fetch QM9 (the qm9pack 1.0.3 wheel from PyPI), check every molecule, split it
/// 80/10/10 with a fixed seed and write DATA_DIR/qm9.bin
#[derive(Args)]
pub struct PrepareArgs {
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
}

impl PrepareArgs {
    pub fn run(self) -> Result<ExitCode> {
        let PrepareArgs {
            data_dir,
            wheel,
            seed,
            python,
        } = self;
        let report = prepare::prepare(&prepare::PrepareOptions {
            data_dir,
            wheel,
            seed,
            python: python::resolve(python.as_deref()),
            progress: std::io::stderr().is_terminal(),
        })?;
        out!("{report}");
        Ok(ExitCode::SUCCESS)
    }
}

/// Print what a prepared dataset holds
#[derive(Args)]
pub struct InfoArgs {
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

impl InfoArgs {
    pub fn run(self) -> Result<ExitCode> {
        let InfoArgs { data_dir } = self;
        let path = prepare::dataset_path(&data_dir);
        let dataset = prepare::load_dataset(&path)?;
        outln!(
            "{}: {} molecules from wheel sha256 {}",
            path.display(),
            dataset.records.len(),
            dataset.source_sha256
        );
        for split in model_core::data::Split::ALL {
            outln!(
                "  {:<6} {:>7}",
                split.name(),
                dataset.split.get(split).len()
            );
        }
        outln!("  split seed {}", dataset.split.seed);
        Ok(ExitCode::SUCCESS)
    }
}
