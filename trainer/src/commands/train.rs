//! `trainer train`: the graph VAE on QM9's training split.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use training::backend::Backend;
use training::train::{TrainConfig, TrainOptions};
use training::{prepare, train};

/// Train the graph VAE on the QM9 training split (checkpoints each epoch)
#[derive(Args)]
pub struct TrainArgs {
    /// TOML file with training settings, any subset of what --print-config
    /// shows (the rest keep their defaults); flags override it
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the settings this command would train with (defaults, then
    /// --config, then flags) as TOML, and stop
    #[arg(long)]
    print_config: bool,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Directory for checkpoint.bin, weights.bin, metrics.csv, curves.png, config.toml
    #[arg(long, default_value = "runs/default")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Continue the run in --out from its last checkpoint
    #[arg(long)]
    resume: bool,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Train on at most this many molecules (0 = the whole training split)
    #[arg(long)]
    max_train: Option<usize>,
    #[arg(long)]
    hidden: Option<usize>,
    #[arg(long)]
    latent: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Cut each batch into this many shards whose gradients are computed in
    /// parallel, one thread each; results depend on it, not on the cores
    #[arg(long)]
    shards: Option<usize>,
    /// Gaussians in the prior fitted after the last epoch (0 keeps N(0, I))
    #[arg(long)]
    prior_components: Option<usize>,
}

impl TrainArgs {
    pub fn run(self) -> Result<ExitCode> {
        let TrainArgs {
            config,
            print_config,
            data_dir,
            out,
            backend,
            resume,
            epochs,
            batch_size,
            learning_rate,
            max_train,
            hidden,
            latent,
            seed,
            shards,
            prior_components,
        } = self;
        let mut settings = match &config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str::<TrainConfig>(&text)
                    .with_context(|| format!("{} is not a valid training config", path.display()))?
            }
            None => TrainConfig::default(),
        };
        if let Some(v) = epochs {
            settings.epochs = v;
        }
        if let Some(v) = batch_size {
            settings.batch_size = v;
        }
        if let Some(v) = learning_rate {
            settings.learning_rate = v;
        }
        if let Some(v) = max_train {
            settings.max_train = v;
        }
        if let Some(v) = hidden {
            settings.model.hidden = v;
        }
        if let Some(v) = latent {
            settings.model.latent = v;
        }
        if let Some(v) = seed {
            settings.seed = v;
        }
        if let Some(v) = shards {
            settings.shards = v;
        }
        if let Some(v) = prior_components {
            settings.prior.components = v;
        }
        if print_config {
            out!("{}", toml::to_string(&settings)?);
            return Ok(ExitCode::SUCCESS);
        }
        let history = train::train(TrainOptions {
            config: settings,
            dataset: prepare::dataset_path(&data_dir),
            run_dir: out.clone(),
            backend,
            resume,
            progress: std::io::stderr().is_terminal(),
        })?;
        if let Some(last) = history.last() {
            outln!(
                "trained {} epochs; valid reconstruction {:.4} nats/molecule; weights in {}",
                last.epoch,
                last.valid.reconstruction,
                out.join("weights.bin").display()
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
