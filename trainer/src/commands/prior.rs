//! `--prior` and `--spread`: where `sample`, `evaluate` and `evaluate-gap`
//! draw z from.

use std::path::Path;

use anyhow::Result;
use clap::{Args, ValueEnum};
use model_core::model::GraphVae;
use training::backend::Device;
use training::exemplars::{self, ExemplarPrior, LatentSource};
use training::prepare;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PriorKind {
    /// What the weights carry, as the browser samples: their exemplars (a
    /// seeded 16,384 of the training split's posteriors, see `trainer
    /// fit-exemplars`), else their mixture. Gap-conditioned sampling uses
    /// the mixture
    Weights,
    /// The Gaussian mixture stored in the weights, resampled by its critic
    /// where they carry one (the shipped weights carry none: FCD 0.45-0.49,
    /// 50% novel; with the critic of `trainer fit-critic` 0.35-0.36)
    Mixture,
    /// All of the encoder's posteriors of QM9's training split, widened by
    /// --spread (FCD 0.15-0.17, 25% novel; reads the prepared dataset and
    /// encodes it first, about 13 s)
    Exemplars,
}

#[derive(Args)]
pub struct PriorArgs {
    /// Where z is drawn from
    #[arg(long, value_enum, default_value = "weights")]
    pub prior: PriorKind,
    /// The posteriors' spread multiplied by this, with --prior exemplars
    /// [default: 15] or `sample --near` [default: 10]. The posteriors are
    /// narrow (z carries the molecule): at 1 nearly every sample is the
    /// encoded molecule itself, at 10 about half are, the rest their
    /// neighbours, at 40 almost none are
    #[arg(long)]
    pub spread: Option<f32>,
}

/// `spread` if it is a number ≥ 0, else an error that names `--spread`.
pub fn checked_spread(spread: f32) -> Result<f32> {
    if !(spread.is_finite() && spread >= 0.0) {
        anyhow::bail!("--spread must be a number of at least 0, not {spread}");
    }
    Ok(spread)
}

impl PriorArgs {
    /// The spread given, or `default`; an error if it is not a number ≥ 0.
    pub fn spread_or(&self, default: f32) -> Result<f32> {
        checked_spread(self.spread.unwrap_or(default))
    }

    /// The source these arguments name; the exemplars encode the training
    /// split of the dataset in `data_dir`.
    pub fn source(
        &self,
        model: &GraphVae,
        data_dir: &Path,
        device: &Device,
    ) -> Result<LatentSource> {
        match self.prior {
            PriorKind::Weights | PriorKind::Mixture if self.spread.is_some() => {
                anyhow::bail!(
                    "--spread widens all of the training split's posteriors (add --prior exemplars); the weights' own exemplars keep the spread they were fitted with (`trainer fit-exemplars --spread`)"
                )
            }
            PriorKind::Weights => Ok(LatentSource::Weights),
            PriorKind::Mixture => Ok(LatentSource::Mixture),
            PriorKind::Exemplars => {
                let spread = self.spread_or(exemplars::DEFAULT_SPREAD)?;
                let dataset = prepare::load_dataset(&prepare::dataset_path(data_dir))?;
                eprintln!("encoding the training split for the exemplar prior…");
                let exemplars = ExemplarPrior::encode(model, &dataset, spread, device);
                eprintln!("{} exemplars, spread {spread}", exemplars.len());
                Ok(LatentSource::Exemplars(exemplars))
            }
        }
    }
}
