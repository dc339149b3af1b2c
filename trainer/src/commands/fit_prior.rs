//! `trainer fit-prior`: the learned prior over z and the gap.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::prior_fit::PriorFitConfig;

use super::refit::RefitArgs;

/// Fit the learned prior (a Gaussian mixture over z and the gap) to trained
/// weights; `trainer train` does this after its last epoch
#[derive(Args)]
pub struct FitPriorArgs {
    #[command(flatten)]
    refit: RefitArgs,
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
            refit,
            components,
            points,
            seed,
        } = self;
        let mut refit = refit.load()?;
        let fit = PriorFitConfig {
            components,
            points,
            seed,
            ..PriorFitConfig::default()
        };
        let started = std::time::Instant::now();
        let (prior, summary) = training::prior_fit::fit_prior(
            &refit.model,
            &refit.config,
            &refit.dataset,
            0,
            &fit,
            &refit.device,
        )?;
        refit.config.prior = prior;
        if refit.config.critic.take().is_some() {
            eprintln!(
                "the weights' critic was fitted against the old prior and is dropped; fit a new one with `trainer fit-critic`"
            );
        }
        let out = refit.write()?;
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
