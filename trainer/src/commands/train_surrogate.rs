//! `trainer train-surrogate`: the gap surrogate the search uses.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::backend::Backend;
use training::surrogate::{SurrogateOptions, SurrogateTrainConfig};
use training::{prepare, surrogate};

/// Train the 2D-graph gap surrogate the search uses (keeps the best weights by validation MAE)
#[derive(Args)]
pub struct TrainSurrogateArgs {
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Directory for surrogate.bin, checkpoint.bin, metrics.csv, curves.png, summary.json
    #[arg(long, default_value = "runs/surrogate")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Continue the run in --out from its last checkpoint
    #[arg(long)]
    resume: bool,
    #[arg(long, default_value_t = SurrogateTrainConfig::default().epochs)]
    epochs: usize,
    #[arg(long, default_value_t = SurrogateTrainConfig::default().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = SurrogateTrainConfig::default().learning_rate)]
    learning_rate: f64,
    /// Train on at most this many molecules (0 = the whole training split)
    #[arg(long, default_value_t = 0)]
    max_train: usize,
    /// Validate on at most this many molecules (0 = the whole validation split)
    #[arg(long, default_value_t = 0)]
    max_valid: usize,
    #[arg(long, default_value_t = SurrogateTrainConfig::default().model.hidden)]
    hidden: usize,
    #[arg(long, default_value_t = SurrogateTrainConfig::default().model.layers)]
    layers: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl TrainSurrogateArgs {
    pub fn run(self) -> Result<ExitCode> {
        let TrainSurrogateArgs {
            data_dir,
            out,
            backend,
            resume,
            epochs,
            batch_size,
            learning_rate,
            max_train,
            max_valid,
            hidden,
            layers,
            seed,
        } = self;
        let mut config = SurrogateTrainConfig {
            epochs,
            batch_size,
            learning_rate,
            max_train,
            max_valid,
            seed,
            ..SurrogateTrainConfig::default()
        };
        config.model.hidden = hidden;
        config.model.layers = layers;
        let report = surrogate::train_surrogate(SurrogateOptions {
            config,
            dataset: prepare::dataset_path(&data_dir),
            run_dir: out.clone(),
            backend,
            resume,
            progress: std::io::stderr().is_terminal(),
        })?;
        outln!(
            "best epoch {}: valid MAE {:.4} eV; test MAE {:.4} eV on {} molecules; weights in {}",
            report.best_epoch,
            report.valid_mae_ev,
            report.test_mae_ev,
            report.test_molecules,
            out.join("surrogate.bin").display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
