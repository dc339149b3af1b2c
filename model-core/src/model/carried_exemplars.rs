//! The exemplars the weights carry: the encoder's mean latents of a seeded
//! subset of QM9's training split, which unconditional sampling draws z
//! from, each widened to a Gaussian (the exemplar prior of Norouzi et al.,
//! "Exemplar VAE", NeurIPS 2020, made small enough for the page).
//!
//! Why it is small: the page's own files must stay within 5 MB gzip, and
//! the posteriors of all 104,664 training molecules are 27 MB. 16,384 of
//! them sample as close to QM9 (FCD 0.15 for seed 0, as with all of them)
//! because each run deals them (see [`Posteriors`]): 10,000 samples come
//! from 10,000 different exemplars. Their means are rounded to a grid of
//! [`LEVELS`] steps per coordinate (half a standard deviation of the
//! training means apart): sampling widens each mean by about 0.3 per
//! coordinate, so the rounding only adds scatter of its own, which a
//! smaller spread gives back. The posteriors' own spreads differ little from
//! molecule to molecule, so one per coordinate (their geometric mean) is
//! kept. All told 0.23 MB gzip for 16,384.
//!
//! The mixture the weights also carry stays for gap-conditioned sampling,
//! which needs a joint model of z and the gap.
//!
//! The posteriors in memory are computed from the stored numbers, so a file
//! reads back to exactly the exemplars it was written with.

use serde::{Deserialize, Serialize};

use super::posterior::Posteriors;

/// Grid steps per coordinate: 16 keeps FCD near the unrounded exemplars'
/// (0.164 against 0.158 for seed 0, spread 13 against 15), 32 costs 0.07 MB
/// gzip more for 16,384 exemplars and 64 0.13 MB.
pub const LEVELS: usize = 16;

/// The grid spans the training means' mean ± this many of their standard
/// deviations, per coordinate; means beyond it go to its ends.
const GRID_HALF_WIDTH_SD: f64 = 4.0;

/// One character per grid index: the base64 alphabet, so that gzip sees
/// one symbol per number.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredExemplars", try_from = "StoredExemplars")]
pub struct CarriedExemplars {
    stored: StoredExemplars,
    /// Decoded from `stored` and widened by its spread.
    posteriors: Posteriors,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredExemplars {
    /// What the spreads are multiplied by when sampling.
    spread: f32,
    /// Per coordinate, the grid's first value and its step: coordinate `d`
    /// of an exemplar is `grid_first[d] + index × grid_step[d]`.
    grid_first: Vec<f32>,
    grid_step: Vec<f32>,
    /// Per coordinate, the posteriors' spread before widening.
    stds: Vec<f32>,
    /// The grid indices, exemplar after exemplar, one character of
    /// [`ALPHABET`] each (its position, below [`LEVELS`]).
    indices: String,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ExemplarsError {
    #[error("the weights' exemplars are {found} wide; a latent of {latent} needs {latent}")]
    Dimensions { found: usize, latent: usize },
    #[error("the weights' exemplars are malformed: {0}")]
    Malformed(&'static str),
}

/// Mean and standard deviation of `values`.
fn moments(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

impl CarriedExemplars {
    /// The means of `posteriors` (as the encoder gave them) rounded to the
    /// grid, their spreads to one per coordinate, to be widened by `spread`
    /// (finite, at least 0) when sampling.
    pub fn new(posteriors: &Posteriors, spread: f32) -> Result<Self, ExemplarsError> {
        let latent = posteriors.latent();
        let column = |values: &[f32], d: usize| -> Vec<f64> {
            values
                .iter()
                .skip(d)
                .step_by(latent)
                .map(|&v| f64::from(v))
                .collect()
        };
        let (mut grid_first, mut grid_step, mut stds) = (vec![], vec![], vec![]);
        for d in 0..latent {
            let means = column(posteriors.means(), d);
            let (centre, sd) = moments(means.iter().copied());
            grid_first.push((centre - GRID_HALF_WIDTH_SD * sd) as f32);
            grid_step.push((2.0 * GRID_HALF_WIDTH_SD * sd / (LEVELS - 1) as f64) as f32);
            let logs = column(posteriors.stds(), d).into_iter().map(f64::ln);
            stds.push((logs.clone().sum::<f64>() / logs.count() as f64).exp() as f32);
        }
        let indices = posteriors
            .means()
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let (first, step) = (grid_first[i % latent], grid_step[i % latent]);
                let index = if step > 0.0 {
                    ((m - first) / step).round().clamp(0.0, (LEVELS - 1) as f32) as usize
                } else {
                    0
                };
                ALPHABET[index] as char
            })
            .collect();
        CarriedExemplars::try_from(StoredExemplars {
            spread,
            grid_first,
            grid_step,
            stds,
            indices,
        })
    }

    /// The widened posteriors sampling draws from.
    pub fn posteriors(&self) -> &Posteriors {
        &self.posteriors
    }

    pub fn len(&self) -> usize {
        self.posteriors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.posteriors.is_empty()
    }

    pub fn spread(&self) -> f32 {
        self.stored.spread
    }

    /// Whether they fit a model whose latent is `latent` wide.
    pub fn validate(&self, latent: usize) -> Result<(), ExemplarsError> {
        match self.posteriors.latent() {
            found if found != latent => Err(ExemplarsError::Dimensions { found, latent }),
            _ => Ok(()),
        }
    }
}

impl From<CarriedExemplars> for StoredExemplars {
    fn from(exemplars: CarriedExemplars) -> Self {
        exemplars.stored
    }
}

impl TryFrom<StoredExemplars> for CarriedExemplars {
    type Error = ExemplarsError;

    fn try_from(stored: StoredExemplars) -> Result<Self, ExemplarsError> {
        let latent = stored.stds.len();
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !(stored.spread.is_finite() && stored.spread >= 0.0) {
            return Err(ExemplarsError::Malformed(
                "the spread must be a number of at least 0",
            ));
        }
        if latent == 0 {
            return Err(ExemplarsError::Malformed("they have no coordinates"));
        }
        if stored.grid_first.len() != latent || stored.grid_step.len() != latent {
            return Err(ExemplarsError::Malformed(
                "the grid and the spreads differ in width",
            ));
        }
        if !(finite(&stored.grid_first) && finite(&stored.grid_step))
            || stored.grid_step.iter().any(|s| *s < 0.0)
        {
            return Err(ExemplarsError::Malformed(
                "the grid must be finite numbers, its steps at least 0",
            ));
        }
        let mean = stored
            .indices
            .bytes()
            .enumerate()
            .map(|(i, c)| {
                let index = ALPHABET[..LEVELS]
                    .iter()
                    .position(|&a| a == c)
                    .ok_or(ExemplarsError::Malformed("a grid index out of range"))?;
                let d = i % latent;
                Ok(stored.grid_first[d] + index as f32 * stored.grid_step[d])
            })
            .collect::<Result<Vec<f32>, _>>()?;
        let std = stored.stds.repeat(mean.len() / latent);
        let posteriors = Posteriors::from_parts(mean, std, latent)
            .ok_or(ExemplarsError::Malformed(
                "the indices must fill whole rows, at least one, and the spreads be finite and at least 0",
            ))?
            .widened(stored.spread);
        Ok(CarriedExemplars { stored, posteriors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    /// 200 two-coordinate posteriors: means spread over about ±1 and ±10,
    /// spreads 0.01 to 0.04 and 0.5.
    fn posteriors() -> Posteriors {
        let mut rng = SeededRng::new(3);
        let (mut mean, mut std) = (vec![], vec![]);
        for _ in 0..200 {
            mean.extend([
                rng.unit_f64() as f32 * 2.0 - 1.0,
                rng.unit_f64() as f32 * 20.0,
            ]);
            std.extend([0.01 + 0.03 * rng.unit_f64() as f32, 0.5]);
        }
        Posteriors::from_parts(mean, std, 2).unwrap()
    }

    #[test]
    fn written_exemplars_read_back_exactly_and_near_the_encoders_numbers() {
        let original = posteriors();
        let exemplars = CarriedExemplars::new(&original, 3.0).unwrap();
        let json = serde_json::to_string(&exemplars).unwrap();
        let back: CarriedExemplars = serde_json::from_str(&json).unwrap();
        assert_eq!(back, exemplars);
        assert_eq!((back.len(), back.spread()), (200, 3.0));
        // Each mean within half a grid step of the encoder's (the grid spans
        // ±4 standard deviations of the means in 15 steps).
        for (i, (got, want)) in back
            .posteriors()
            .means()
            .iter()
            .zip(original.means())
            .enumerate()
        {
            let step = exemplars.stored.grid_step[i % 2];
            assert!((got - want).abs() <= 0.5 * step + 1e-5, "{got} for {want}");
        }
        assert!(exemplars.stored.grid_step[1] > 9.0 * exemplars.stored.grid_step[0]);
        // One spread per coordinate, the geometric mean, widened.
        let stds = back.posteriors().stds();
        assert!(stds.chunks(2).all(|row| row == &stds[..2]));
        assert!((0.06..0.08).contains(&stds[0]), "{}", stds[0]);
        assert!((stds[1] - 1.5).abs() < 1e-5, "{}", stds[1]);
    }

    #[test]
    fn malformed_exemplars_are_refused() {
        let good = CarriedExemplars::new(&posteriors(), 3.0).unwrap().stored;
        let refused = |stored: StoredExemplars| CarriedExemplars::try_from(stored).unwrap_err();
        let bad = [
            StoredExemplars {
                spread: f32::NAN,
                ..good.clone()
            },
            StoredExemplars {
                stds: vec![0.1; 3],
                ..good.clone()
            },
            StoredExemplars {
                stds: vec![0.1, -0.1],
                ..good.clone()
            },
            StoredExemplars {
                grid_step: vec![0.1, -0.1],
                ..good.clone()
            },
            StoredExemplars {
                indices: format!("z{}", &good.indices[1..]),
                ..good.clone()
            },
            StoredExemplars {
                indices: good.indices[1..].to_string(),
                ..good.clone()
            },
            StoredExemplars {
                indices: String::new(),
                ..good.clone()
            },
            StoredExemplars {
                grid_first: vec![],
                grid_step: vec![],
                stds: vec![],
                ..good.clone()
            },
        ];
        for stored in bad {
            assert!(matches!(refused(stored), ExemplarsError::Malformed(_)));
        }
        let exemplars = CarriedExemplars::try_from(good).unwrap();
        assert_eq!(
            exemplars.validate(32),
            Err(ExemplarsError::Dimensions {
                found: 2,
                latent: 32
            })
        );
        assert_eq!(exemplars.validate(2), Ok(()));
    }
}
