//! `trainer train`: the graph VAE on QM9's training split.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use training::backend::Backend;
use training::step::Trainable;
use training::train::{LearningRateSchedule, TrainConfig, TrainOptions};
use training::{prepare, settings, train};

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
    #[command(flatten)]
    flags: TrainFlags,
}

/// The settings flags, serialised like the config file (unset ones
/// skipped), so that they layer over it by the same rule.
#[derive(Args, Serialize)]
struct TrainFlags {
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    epochs: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_size: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    learning_rate: Option<f64>,
    /// The learning rate over the run: constant, or falling along a cosine
    /// from --learning-rate to --final-learning-rate
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<LearningRateSchedule>,
    /// Where the cosine schedule ends
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    final_learning_rate: Option<f64>,
    /// Weight of the KL term (the β of a β-VAE; smaller keeps more of the molecule in z)
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    kl_weight: Option<f64>,
    /// Dropout rate on the decoder's recurrent states while training (0: none),
    /// against memorising the training molecules
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    decoder_dropout: Option<f64>,
    /// Dropout rate on the encoder's atom states while training (0: none),
    /// against an encoder guess that fits only the training molecules
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    encoder_dropout: Option<f64>,
    /// Train only this part: `encoder` fine-tunes where molecules are put
    /// in z (with --init-weights), the decoder and gap head frozen
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    trainable: Option<Trainable>,
    /// Train on at most this many molecules (0 = the whole training split)
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_train: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// Cut each batch into this many shards whose gradients are computed in
    /// parallel, one thread each; results depend on it, not on the cores
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<usize>,
    /// Start from this weights file's network instead of random weights (a
    /// fine-tune, e.g. of public/weights.bin); the model settings must match
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    init_weights: Option<PathBuf>,
    #[command(flatten)]
    model: ModelFlags,
    #[command(flatten)]
    prior: PriorFlags,
}

/// Flags for the `[model]` table.
#[derive(Args, Serialize)]
struct ModelFlags {
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    latent: Option<usize>,
    /// Let the decoder's bond head read the size of the ring each bond
    /// would close; with --init-weights from a network without it, it is
    /// added at zero, so training starts from that network unchanged
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    ring_closure: Option<bool>,
}

/// Flags for the `[prior]` table.
#[derive(Args, Serialize)]
struct PriorFlags {
    /// Gaussians in the prior fitted after the last epoch (0 keeps N(0, I))
    #[arg(long = "prior-components")]
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<usize>,
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
            flags,
        } = self;
        let settings: TrainConfig =
            settings::layered(config.as_deref(), &flags, "training config")?;
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
