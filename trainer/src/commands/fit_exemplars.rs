//! `trainer fit-exemplars`: the training molecules' posteriors that the
//! weights carry for unconditional sampling.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use training::exemplars::{self, carried_exemplars};

use super::prior::checked_spread;
use super::refit::RefitArgs;

/// Put a seeded subset of the training split's posteriors in the weights:
/// unconditional sampling, in the browser too, then draws z from them,
/// widened by --spread, instead of from the mixture (FCD 0.12-0.15 against
/// 0.36 with the mixture and its critic; 21-25% novel against 51%). Gap-conditioned
/// sampling keeps the mixture; `--prior mixture` still samples from it.
/// About 3 s
#[derive(Args)]
pub struct FitExemplarsArgs {
    #[command(flatten)]
    refit: RefitArgs,
    /// How many training molecules' posteriors to carry (0.23 MB gzip per
    /// 16,384; the page's own files have little room beyond that)
    #[arg(long, default_value_t = exemplars::DEFAULT_CARRIED)]
    count: usize,
    /// What the posteriors' spreads are multiplied by when sampling
    #[arg(long, default_value_t = exemplars::CARRIED_SPREAD)]
    spread: f32,
    /// Seeds the pick of the training molecules
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl FitExemplarsArgs {
    pub fn run(self) -> Result<ExitCode> {
        let FitExemplarsArgs {
            refit,
            count,
            spread,
            seed,
        } = self;
        checked_spread(spread)?;
        let mut refit = refit.load()?;
        let exemplars = carried_exemplars(
            &refit.model,
            &refit.dataset,
            count,
            spread,
            seed,
            &refit.device,
        )?;
        refit.config.exemplars = Some(exemplars);
        let out = refit.write()?;
        eprintln!(
            "{count} exemplars, spread {spread}: weights written to {}",
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
