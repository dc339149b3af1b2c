//! Search distributions over the latent space, updated by a separable natural
//! evolution strategy (SNES): REINFORCE on a diagonal Gaussian with rank-based
//! utilities as the baseline-subtracted reward, in natural-gradient form.

use model_core::model::sample::prior_latents;
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchDistribution {
    pub mean: Vec<f32>,
    pub sigma: Vec<f32>,
}

/// Latents drawn from one distribution, with the noise that made them.
pub struct Draw {
    pub noise: Vec<f32>,
    pub latents: Vec<f32>,
}

/// Centred rank utilities (Wierstra et al. 2014): the best gets the most,
/// they sum to zero, so the mean reward acts as the REINFORCE baseline and
/// the scale of the reward does not matter.
pub fn utilities(rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| rewards[b].total_cmp(&rewards[a]));
    let raw: Vec<f64> = (0..n)
        .map(|rank| ((n as f64 / 2.0 + 1.0).ln() - ((rank + 1) as f64).ln()).max(0.0))
        .collect();
    let total: f64 = raw.iter().sum();
    let mut utility = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        utility[i] = raw[rank] / total - 1.0 / n as f64;
    }
    utility
}

impl SearchDistribution {
    pub fn new(mean: Vec<f32>, sigma: f32) -> SearchDistribution {
        let sigma = vec![sigma; mean.len()];
        SearchDistribution { mean, sigma }
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// `n` latents, `[n, dim]` row-major.
    pub fn draw(&self, n: usize, rng: &mut SeededRng) -> Draw {
        let noise = prior_latents(n, self.dim(), rng);
        let latents = noise
            .chunks(self.dim())
            .flat_map(|eps| {
                eps.iter()
                    .zip(self.mean.iter().zip(&self.sigma))
                    .map(|(e, (m, s))| m + s * e)
            })
            .collect();
        Draw { noise, latents }
    }

    /// Spreads the distribution back to at least `sigma` in every direction.
    pub fn widen(&mut self, sigma: f32) {
        for s in &mut self.sigma {
            *s = s.max(sigma);
        }
    }

    /// One SNES step from the rewards of `draw`.
    pub fn update(&mut self, draw: &Draw, rewards: &[f64]) {
        let d = self.dim();
        let u = utilities(rewards);
        let eta_sigma = (3.0 + (d as f64).ln()) / (5.0 * (d as f64).sqrt());
        for k in 0..d {
            let (mut grad_mean, mut grad_sigma) = (0.0f64, 0.0f64);
            for (i, ui) in u.iter().enumerate() {
                let e = draw.noise[i * d + k] as f64;
                grad_mean += ui * e;
                grad_sigma += ui * (e * e - 1.0);
            }
            self.mean[k] += self.sigma[k] * grad_mean as f32;
            self.sigma[k] *= (0.5 * eta_sigma * grad_sigma).exp() as f32;
            // Keep exploring, and stay in the region the decoder was trained on.
            self.sigma[k] = self.sigma[k].clamp(0.05, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilities_rank_and_sum_to_zero() {
        let u = utilities(&[0.1, 5.0, -3.0, 2.0]);
        assert!(u.iter().sum::<f64>().abs() < 1e-12);
        assert!(u[1] > u[3] && u[3] > u[0] && u[0] >= u[2]);
        assert_eq!(utilities(&[1.0, 2.0]), utilities(&[10.0, 200.0]));
    }

    #[test]
    fn widening_raises_only_the_narrow_directions() {
        let mut dist = SearchDistribution::new(vec![0.0; 3], 0.5);
        dist.sigma = vec![0.05, 0.8, 0.5];
        dist.widen(0.5);
        assert_eq!(dist.sigma, [0.5, 0.8, 0.5]);
        assert_eq!(dist.mean, [0.0; 3]);
    }

    #[test]
    fn snes_climbs_a_quadratic() {
        // Reward peaks at (2, -1, 0.5); the mean must get there from 0.
        let target = [2.0f32, -1.0, 0.5];
        let mut dist = SearchDistribution::new(vec![0.0; 3], 0.5);
        let mut rng = SeededRng::new(7);
        for _ in 0..150 {
            let draw = dist.draw(20, &mut rng);
            let rewards: Vec<f64> = draw
                .latents
                .chunks(3)
                .map(|z| {
                    -z.iter()
                        .zip(&target)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                })
                .collect();
            dist.update(&draw, &rewards);
        }
        for (m, t) in dist.mean.iter().zip(&target) {
            assert!((m - t).abs() < 0.2, "{:?}", dist.mean);
        }
    }
}
