//! Where sampling draws z from: the mixture prior the weights carry, or the
//! exemplar prior, the encoder's posteriors of QM9's training split widened
//! by a spread (Norouzi et al., "Exemplar VAE", NeurIPS 2020).
//!
//! The mixture travels in the weights and is what the browser samples; its
//! 256 Gaussians smooth over the aggregate posterior, and its samples sit
//! further from QM9's distribution (FCD 0.36 resampled by its critic, 0.49
//! without) than the decoder allows: z
//! drawn from the training molecules' own posteriors decodes to QM9's
//! distribution (FCD 0.07 at spread 1), and wider draws trade that for
//! novelty. The molecules are dealt, not drawn independently (see
//! [`Posteriors`]), so a run repeats none of them. The exemplars need the
//! prepared dataset and about 13 s to encode it (native only: 105,000
//! posteriors are far past the page's budget).
//! Conditioned on a gap, molecules are picked by a Gaussian kernel on their
//! QM9 gap.

use anyhow::Result;
use burn::prelude::Device;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::GraphVae;
use model_core::model::posterior::Posteriors;
use model_core::model::sample::Target;

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

/// Where a sampling run draws z from.
pub enum LatentSource {
    /// The Gaussian mixture fitted after training, stored in the weights.
    Mixture,
    Exemplars(ExemplarPrior),
}

impl LatentSource {
    /// What unconditional sampling draws from.
    pub fn unconditional(&self) -> Target<'_> {
        match self {
            LatentSource::Mixture => Target::Prior,
            LatentSource::Exemplars(e) => Target::Near(&e.posteriors),
        }
    }

    /// For reports: which prior, and its spread.
    pub fn describe(&self) -> String {
        match self {
            LatentSource::Mixture => "mixture".to_string(),
            LatentSource::Exemplars(e) => format!("exemplars (spread {})", e.spread),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_core::chem::parse_smiles;
    use model_core::data::{Geometry, Qm9Record};
    use model_core::model::ModelConfig;
    use model_core::model::sample::encode_means;
    use model_core::rng::SeededRng;

    fn record(index: u32, smiles: &str, gap_ev: f64) -> Qm9Record {
        let gap_ha = (gap_ev / model_core::data::HARTREE_TO_EV) as f32;
        Qm9Record {
            index,
            source_smiles: smiles.to_string(),
            canonical: smiles.to_string(),
            molecule: parse_smiles(smiles).unwrap(),
            homo_ha: -gap_ha,
            lumo_ha: 0.0,
            gap_ha,
            geometry: Geometry {
                atomic_numbers: Vec::new(),
                positions: Vec::new(),
            },
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
