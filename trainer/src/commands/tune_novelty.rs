//! `trainer tune-novelty`: REINFORCE fine-tuning for novelty.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::backend::Backend;
use training::decoder_policy::PolicySettings;
use training::novelty_tuning::{NoveltyTuneConfig, NoveltyTuneOptions};
use training::{generate, novelty_tuning, prepare};

/// Fine-tune trained weights so fewer samples are QM9 training molecules
/// (REINFORCE on the decoder, with a KL penalty to the trained decoder)
#[derive(Args)]
pub struct TuneNoveltyArgs {
    /// The trained weights to start from
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Directory for checkpoint.bin, weights.bin, metrics.csv, curves.png
    #[arg(long, default_value = "runs/novelty")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Continue the run in --out from its last checkpoint
    #[arg(long)]
    resume: bool,
    #[arg(long, default_value_t = NoveltyTuneConfig::default().steps)]
    steps: usize,
    /// Molecules sampled per step
    #[arg(long, default_value_t = NoveltyTuneConfig::default().batch_size)]
    batch_size: usize,
    /// Weight of the KL penalty to the trained decoder, per nat (the reward is 0 or 1)
    #[arg(long, default_value_t = NoveltyTuneConfig::default().policy.kl_weight)]
    kl_weight: f64,
    #[arg(long, default_value_t = NoveltyTuneConfig::default().policy.learning_rate)]
    learning_rate: f64,
    #[arg(long, default_value_t = NoveltyTuneConfig::default().seed)]
    seed: u64,
    /// Evaluate, log and checkpoint every this many steps
    #[arg(long, default_value_t = NoveltyTuneConfig::default().eval_every)]
    eval_every: usize,
    /// Samples per evaluation (a fixed seed, so points are comparable)
    #[arg(long, default_value_t = NoveltyTuneConfig::default().eval_samples)]
    eval_samples: usize,
    /// Also reward novel molecules with ring systems QM9 has no framework for
    #[arg(long)]
    allow_new_ring_systems: bool,
    /// A sample repeating one of the last this many earns nothing
    #[arg(long, default_value_t = NoveltyTuneConfig::default().repeat_window)]
    repeat_window: usize,
}

impl TuneNoveltyArgs {
    pub fn run(self) -> Result<ExitCode> {
        let TuneNoveltyArgs {
            weights,
            data_dir,
            out,
            backend,
            resume,
            steps,
            batch_size,
            kl_weight,
            learning_rate,
            seed,
            eval_every,
            eval_samples,
            allow_new_ring_systems,
            repeat_window,
        } = self;
        let history = novelty_tuning::tune_novelty(NoveltyTuneOptions {
            config: NoveltyTuneConfig {
                steps,
                batch_size,
                policy: PolicySettings {
                    kl_weight,
                    learning_rate,
                },
                seed,
                eval_every,
                eval_samples,
                known_ring_systems: !allow_new_ring_systems,
                repeat_window,
            },
            weights,
            dataset: prepare::dataset_path(&data_dir),
            run_dir: out.clone(),
            backend,
            resume,
            progress: std::io::stderr().is_terminal(),
        })?;
        if let Some(last) = history.last() {
            outln!(
                "after step {}: {}, KL {:.3} nats; weights in {} (check them with `trainer evaluate --weights`)",
                last.step,
                last.samples,
                last.kl_nats,
                out.join("weights.bin").display()
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
