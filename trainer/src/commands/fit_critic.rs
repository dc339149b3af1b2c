//! `trainer fit-critic`: the prior's critic, which resamples the mixture's
//! unconditional draws towards the training molecules' latents.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::prior_critic::{CriticFitConfig, fit_critic};

use super::refit::RefitArgs;

/// Fit the prior's critic to weights with a fitted prior: a small network
/// that tells the exemplar prior's latents from the mixture's, whose logit
/// then picks each unconditional latent from --candidates mixture draws
/// (FCD 0.45-0.49 to 0.35-0.36 on the shipped weights' mixture, which
/// `--prior mixture` samples; gap-conditioned
/// sampling is unchanged). About 2.5 minutes on 2 cores
#[derive(Args)]
pub struct FitCriticArgs {
    #[command(flatten)]
    refit: RefitArgs,
    /// Latents drawn from each prior to train on
    #[arg(long, default_value_t = CriticFitConfig::default().draws)]
    draws: usize,
    #[arg(long, default_value_t = CriticFitConfig::default().epochs)]
    epochs: usize,
    /// Mixture draws each sampled latent is picked from (1: the plain mixture)
    #[arg(long, default_value_t = CriticFitConfig::default().candidates)]
    candidates: usize,
    /// The exemplar prior's spread the critic learns to prefer
    #[arg(long, default_value_t = CriticFitConfig::default().spread)]
    spread: f32,
    #[arg(long, default_value_t = CriticFitConfig::default().seed)]
    seed: u64,
}

impl FitCriticArgs {
    pub fn run(self) -> Result<ExitCode> {
        let FitCriticArgs {
            refit,
            draws,
            epochs,
            candidates,
            spread,
            seed,
        } = self;
        if candidates == 0 || draws < 11 || epochs == 0 || !(spread.is_finite() && spread > 0.0) {
            anyhow::bail!(
                "--candidates and --epochs must be at least 1, --draws at least 11 and --spread a positive number"
            );
        }
        let mut refit = refit.load()?;
        let fit = CriticFitConfig {
            draws,
            epochs,
            candidates,
            spread,
            seed,
            ..CriticFitConfig::default()
        };
        let (critic, summary) = fit_critic(
            &refit.model,
            &refit.config,
            &refit.dataset,
            &fit,
            &refit.device,
        )?;
        refit.config.critic = Some(critic);
        let out = refit.write()?;
        eprintln!(
            "critic: held-out accuracy {:.1}% (50%: no better than a coin), loss {:.3}, {:.0} s; weights written to {}",
            summary.held_out_accuracy * 100.0,
            summary.held_out_loss,
            summary.seconds,
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
