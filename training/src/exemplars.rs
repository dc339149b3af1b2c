//! Where sampling draws z from: what the weights carry (their exemplars,
//! else their mixture prior), the mixture, or the exemplar prior, the
//! encoder's posteriors of QM9's training split widened by a spread
//! (Norouzi et al., "Exemplar VAE", NeurIPS 2020).
//!
//! The mixture travels in the weights for gap-conditioned sampling; its
//! 256 Gaussians smooth over the aggregate posterior, and its samples sit
//! further from QM9's distribution (FCD 0.36 resampled by its critic, 0.49
//! without) than the decoder allows: z
//! drawn from the training molecules' own posteriors decodes to QM9's
//! distribution (FCD 0.07 at spread 1), and wider draws trade that for
//! novelty. The molecules are dealt, not drawn independently (see
//! [`Posteriors`]), so a run repeats none of them. All of them need the
//! prepared dataset and about 13 s to encode it (native only: 105,000
//! posteriors are far past the page's budget); a seeded 16,384 of them
//! travel in the weights ([`carried_exemplars`]) and sample as close to QM9.
//! Conditioned on a gap, molecules are picked by a Gaussian kernel on their
//! QM9 gap.

use anyhow::Result;
use burn::prelude::Device;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::carried_exemplars::CarriedExemplars;
use model_core::model::posterior::Posteriors;
use model_core::model::sample::Target;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;

/// The exemplar prior's default spread: FCD 0.15 at 25% novelty for seed 0
/// (spread 10: 0.09 at 15%, 20: 0.29 at 34%; results/exemplar_prior.json).
pub const DEFAULT_SPREAD: f32 = 15.0;

/// The Gaussian kernel's width (eV) on the exemplars' QM9 gaps when
/// conditioning on a gap: QM9's own gaps are exact, so the kernel only
/// needs to be wide enough to give each target some thousand exemplars.
pub const GAP_BANDWIDTH_EV: f64 = 0.1;

/// The encoder's posteriors of the training split, with each molecule's gap.
pub struct ExemplarPrior {
    posteriors: Posteriors,
    gaps_ev: Vec<f64>,
    spread: f32,
}

impl ExemplarPrior {
    /// Encodes the training split of `dataset`, spreads multiplied by `spread`.
    pub fn encode(
        model: &GraphVae,
        dataset: &Qm9Dataset,
        spread: f32,
        device: &Device,
    ) -> ExemplarPrior {
        let records: Vec<_> = dataset.split_records(Split::Train).collect();
        let molecules: Vec<_> = records.iter().map(|r| r.molecule.clone()).collect();
        ExemplarPrior {
            posteriors: Posteriors::encode(model, &molecules, device).widened(spread),
            gaps_ev: records.iter().map(|r| r.gap_ev()).collect(),
            spread,
        }
    }

    pub fn len(&self) -> usize {
        self.gaps_ev.len()
    }

    pub fn is_empty(&self) -> bool {
        self.gaps_ev.is_empty()
    }

    pub fn spread(&self) -> f32 {
        self.spread
    }

    /// The posteriors, each molecule weighted by a Gaussian kernel of width
    /// [`GAP_BANDWIDTH_EV`] on its gap's distance from `gap_ev`.
    pub fn given_gap(&self, gap_ev: f64) -> Result<Posteriors> {
        let weights: Vec<f64> = self
            .gaps_ev
            .iter()
            .map(|g| (-0.5 * ((g - gap_ev) / GAP_BANDWIDTH_EV).powi(2)).exp())
            .collect();
        self.posteriors.clone().weighted(&weights).map_err(|_| {
            anyhow::anyhow!(
                "no training molecule has a gap near {gap_ev} eV (QM9's gaps lie between {:.1} and {:.1} eV)",
                self.gaps_ev.iter().copied().fold(f64::INFINITY, f64::min),
                self.gaps_ev.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            )
        })
    }
}

/// The spread `trainer fit-exemplars` gives the weights' exemplars: below
/// [`DEFAULT_SPREAD`] because rounding their means to a grid scatters them
/// already (seed 0: FCD 0.147 at 12, 0.164 at 13, 0.175 at 14, 0.199 at 15;
/// uniqueness 95.6-95.7% and novelty 25-30% throughout).
pub const CARRIED_SPREAD: f32 = 12.0;

/// How many exemplars `trainer fit-exemplars` puts in the weights: 16,384
/// sample as close to QM9 as all 104,664 (FCD 0.152 against 0.154 for
/// seed 0, dealt, at full precision) in 0.23 MB gzip as the weights store
/// them; 8,192 fall short of a run of 10,000 and repeat themselves
/// (uniqueness 90%).
pub const DEFAULT_CARRIED: usize = 16_384;

/// The posteriors of `count` training molecules of `dataset`, picked by a
/// shuffle seeded by `seed`, for the weights to carry and sampling to widen
/// by `spread`.
pub fn carried_exemplars(
    model: &GraphVae,
    dataset: &Qm9Dataset,
    count: usize,
    spread: f32,
    seed: u64,
    device: &Device,
) -> Result<CarriedExemplars> {
    let mut training: Vec<_> = dataset
        .split_records(Split::Train)
        .map(|r| &r.molecule)
        .collect();
    if count == 0 || count > training.len() {
        anyhow::bail!(
            "cannot carry {count} exemplars: the training split holds {} molecules",
            training.len()
        );
    }
    // The shuffle depends on the length only; only the picked are cloned.
    SeededRng::new(seed).shuffle(&mut training);
    let molecules: Vec<_> = training[..count].iter().map(|&m| m.clone()).collect();
    let posteriors = Posteriors::encode(model, &molecules, device);
    Ok(CarriedExemplars::new(&posteriors, spread)?)
}

/// Where a sampling run draws z from.
pub enum LatentSource {
    /// What the weights carry: their exemplars (a subset of the training
    /// split's posteriors, see `trainer fit-exemplars`), else their mixture;
    /// the browser's prior.
    Weights,
    /// The Gaussian mixture fitted after training, stored in the weights
    /// (resampled by its critic where they carry one).
    Mixture,
    /// All of the training split's posteriors, encoded from the dataset.
    Exemplars(ExemplarPrior),
}

impl LatentSource {
    /// What unconditional sampling draws from.
    pub fn unconditional(&self) -> Target<'_> {
        match self {
            LatentSource::Weights => Target::Prior,
            LatentSource::Mixture => Target::Mixture,
            LatentSource::Exemplars(e) => Target::Near(&e.posteriors),
        }
    }

    /// For reports: which prior, and its spread.
    pub fn describe(&self, config: &ModelConfig) -> String {
        match (self, &config.exemplars) {
            (LatentSource::Weights, Some(e)) => {
                format!("carried exemplars ({}, spread {})", e.len(), e.spread())
            }
            (LatentSource::Weights | LatentSource::Mixture, _) => "mixture".to_string(),
            (LatentSource::Exemplars(e), _) => format!("exemplars (spread {})", e.spread),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::record;
    use model_core::chem::parse_smiles;
    use model_core::model::sample::encode_means;

    #[test]
    fn carried_exemplars_are_a_seeded_subset_of_the_training_split() {
        let device = Device::default();
        let model = GraphVae::new(&ModelConfig::default(), &device);
        let kinds = ["C", "CC", "CCC", "CCO", "C#N", "CO", "CN", "CCN"];
        let records: Vec<_> = (0..40u32)
            .map(|i| record(i, kinds[i as usize % kinds.len()], 6.0))
            .collect();
        let dataset = Qm9Dataset::new(String::new(), records, 0);
        let train = dataset.split_records(Split::Train).count();
        let carried = |count, seed| carried_exemplars(&model, &dataset, count, 2.0, seed, &device);
        let first = carried(5, 3).unwrap();
        assert_eq!((first.len(), first.spread()), (5, 2.0));
        assert_eq!(
            first,
            carried(5, 3).unwrap(),
            "the same seed, the same exemplars"
        );
        assert_ne!(first, carried(5, 4).unwrap());
        assert_eq!(carried(train, 3).unwrap().len(), train);
        for bad in [0, train + 1] {
            assert!(carried(bad, 3).is_err(), "{bad} of {train}");
        }
    }

    #[test]
    fn conditioning_on_a_gap_picks_the_molecules_near_it() {
        let device = Device::default();
        let config = ModelConfig::default();
        let model = GraphVae::new(&config, &device);
        // Ethanol with gaps 3.0 to 4.9 eV, hydrogen cyanide with 8.0 to 9.9.
        let records: Vec<_> = (0..40u32)
            .map(|i| {
                let (smiles, base) = if i < 20 { ("CCO", 3.0) } else { ("C#N", 6.0) };
                record(i, smiles, base + f64::from(i) * 0.1)
            })
            .collect();
        let dataset = Qm9Dataset::new(String::new(), records, 0);
        let exemplars = ExemplarPrior::encode(&model, &dataset, 0.0, &device);
        assert_eq!(exemplars.len(), dataset.split_records(Split::Train).count());
        let mean_of =
            |smiles: &str| encode_means(&model, &[&parse_smiles(smiles).unwrap()], &device);
        // At spread 0 each z is a picked molecule's mean latent exactly.
        for (target, expected) in [(4.0, "CCO"), (9.0, "C#N")] {
            let expected = mean_of(expected);
            let z = exemplars
                .given_gap(target)
                .unwrap()
                .sample(1, 0, 64, &mut SeededRng::new(1));
            for row in z.chunks(config.latent) {
                let off = row
                    .iter()
                    .zip(&expected)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(
                    off < 1e-4,
                    "a latent {off} from the molecule at {target} eV"
                );
            }
        }
        assert!(exemplars.given_gap(500.0).is_err());
    }
}
