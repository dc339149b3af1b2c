//! `trainer export-map` and `export-split`: files for the app and for FCD.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::prepare;

/// Write the browser app's QM9 map sample (test-split SMILES and gaps) as CSV
#[derive(Args)]
pub struct ExportMapArgs {
    /// How many test-split molecules
    #[arg(long, default_value_t = training::export::MAP_MOLECULES)]
    n: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "public/qm9_map.csv")]
    out: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

impl ExportMapArgs {
    pub fn run(self) -> Result<ExitCode> {
        let ExportMapArgs {
            n,
            seed,
            out,
            data_dir,
        } = self;
        let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
        let csv = training::export::map_sample_csv(&dataset, n, seed);
        training::fsio::write_atomically(&out, csv.as_bytes())?;
        outln!(
            "{} molecules written to {}",
            csv.lines().count() - 1,
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Write one QM9 split's canonical SMILES, one per line (a reference set
/// for FCD: `python extras/fcd_score.py samples.smi test.smi`)
#[derive(Args)]
pub struct ExportSplitArgs {
    #[arg(long, value_enum, default_value = "test")]
    split: SplitArg,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
}

impl ExportSplitArgs {
    pub fn run(self) -> Result<ExitCode> {
        let ExportSplitArgs {
            split,
            out,
            data_dir,
        } = self;
        let dataset = prepare::load_dataset(&prepare::dataset_path(&data_dir))?;
        let split = split.split();
        let text: String = dataset
            .split_records(split)
            .map(|r| format!("{}\n", r.canonical))
            .collect();
        training::fsio::write_atomically(&out, text.as_bytes())?;
        outln!(
            "{} {} molecules written to {}",
            text.lines().count(),
            split.name(),
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// A QM9 split, as the command line names it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SplitArg {
    Train,
    Valid,
    Test,
}

impl SplitArg {
    fn split(self) -> model_core::data::Split {
        match self {
            SplitArg::Train => model_core::data::Split::Train,
            SplitArg::Valid => model_core::data::Split::Valid,
            SplitArg::Test => model_core::data::Split::Test,
        }
    }
}
