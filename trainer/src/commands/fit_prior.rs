//! `trainer fit-prior`: the learned prior over z and the gap.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::backend::Backend;
use training::generate;
use training::prior_fit::PriorFitConfig;

/// Fit the learned prior (a Gaussian mixture over z and the gap) to trained
/// weights; `trainer train` does this after its last epoch
#[derive(Args)]
pub struct FitPriorArgs {
    #[arg(long, default_value = generate::DEFAULT_WEIGHTS)]
    weights: PathBuf,
    /// Where to write the weights with the fitted prior
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, default_value_t = PriorFitConfig::default().components)]
    components: usize,
    #[arg(long, default_value_t = PriorFitConfig::default().points)]
    points: usize,
    #[arg(long, default_value_t = PriorFitConfig::default().seed)]
    seed: u64,
}

impl FitPriorArgs {
    pub fn run(self) -> Result<ExitCode> {
        let FitPriorArgs {
            weights,
            out,
            data_dir,
            components,
            points,
            seed,
        } = self;
        let device = Backend::Flex.device();
        let (model, mut config) = generate::load_model(&weights, &device)?;
        let dataset = training::prepare::load_dataset(&training::prepare::dataset_path(&data_dir))?;
        let fit = PriorFitConfig {
            components,
            points,
            seed,
            ..PriorFitConfig::default()
        };
        let started = std::time::Instant::now();
        let (prior, summary) =
            training::prior_fit::fit_prior(&model, &config, &dataset, 0, &fit, &device)?;
        config.prior = prior;
        if config.critic.take().is_some() {
            eprintln!(
                "the weights' critic was fitted against the old prior and is dropped; fit a new one with `trainer fit-critic`"
            );
        }
        training::fsio::write_atomically(
            &out,
            &model_core::model::weights::save_weights(&model, &config),
        )?;
        eprintln!(
            "prior: {components} Gaussians, {} EM rounds, mean log-likelihood {:.2}, {:.0} s; weights written to {}",
            summary.iterations,
            summary.mean_log_likelihood,
            started.elapsed().as_secs_f64(),
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
