//! A Gaussian mixture with full covariances: fitted by EM, sampled with a
//! [`SeededRng`], and conditioned on its last coordinate.
//!
//! It is the learned prior on z (see [`super::prior`]): with a small KL
//! weight the encoder's latents fill only part of N(0, I), and z drawn from
//! a density fitted to them after training decodes to molecules like the
//! training set's (ex-post density estimation, Ghosh et al., "From
//! Variational to Deterministic Autoencoders", ICLR 2020). Conditioning on
//! the last coordinate (the standardised gap) gives p(z | gap) in closed
//! form. Written here rather than taken from a crate because it must run in
//! the browser too, deterministically, and must condition, which the Rust
//! mixture crates (linfa-clustering) do not offer.

use serde::{Deserialize, Serialize};

use super::linalg::cholesky;
use super::packed_mixture::{FullMixture, StoredMixture};
use crate::rng::SeededRng;

/// Added to every covariance's diagonal, relative to the data's mean
/// variance, so no component collapses onto a few points.
const RELATIVE_REGULARISATION: f64 = 1e-3;

/// Written packed (see [`super::packed_mixture`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredMixture", try_from = "StoredMixture")]
pub struct GaussianMixture {
    pub dims: usize,
    pub weights: Vec<f64>,
    /// `[components, dims]`, row-major.
    pub means: Vec<f64>,
    /// `[components, dims, dims]`, row-major.
    pub covariances: Vec<f64>,
}

impl From<GaussianMixture> for StoredMixture {
    fn from(m: GaussianMixture) -> Self {
        StoredMixture::pack(FullMixture {
            dims: m.dims,
            weights: m.weights,
            means: m.means,
            covariances: m.covariances,
        })
    }
}

impl TryFrom<StoredMixture> for GaussianMixture {
    type Error = String;

    fn try_from(stored: StoredMixture) -> Result<Self, String> {
        let full = stored.unpack()?;
        Ok(GaussianMixture {
            dims: full.dims,
            weights: full.weights,
            means: full.means,
            covariances: full.covariances,
        })
    }
}

/// `mixture` as it reads back after writing: what a fitted prior is rounded
/// to before it is used, so saving changes nothing.
pub fn pack_as_stored(mixture: GaussianMixture) -> GaussianMixture {
    GaussianMixture::try_from(StoredMixture::from(mixture))
        .expect("a mixture's own packing reads back")
}

/// What EM reports after a fit.
#[derive(Clone, Copy, Debug)]
pub struct FitSummary {
    pub iterations: usize,
    pub mean_log_likelihood: f64,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum MixtureError {
    #[error("a mixture needs {needed} points of {dims} dimensions; got {got} values")]
    TooFewPoints {
        needed: usize,
        dims: usize,
        got: usize,
    },
    #[error("the mixture's {0} is inconsistent with its {1} dimensions and weights")]
    Shape(&'static str, usize),
    #[error("component {0}'s covariance is not positive definite")]
    NotPositiveDefinite(usize),
}

/// ‖L⁻¹ x‖² for lower-triangular `l` (forward substitution).
fn mahalanobis(l: &[f64], x: &[f64], scratch: &mut [f64]) -> f64 {
    let d = x.len();
    let mut total = 0.0;
    for i in 0..d {
        let mut v = x[i];
        for k in 0..i {
            v -= l[i * d + k] * scratch[k];
        }
        v /= l[i * d + i];
        scratch[i] = v;
        total += v * v;
    }
    total
}

/// One standard-normal draw (Box–Muller, one of the pair).
pub(crate) fn standard_normal(rng: &mut SeededRng) -> f64 {
    let u1 = rng.unit_f64().max(f64::MIN_POSITIVE);
    let u2 = rng.unit_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `f(0), …, f(n - 1)` in order, computed in one contiguous run per core
/// (inline where there are no threads, as in the browser). Each value is
/// computed alone, so the results do not depend on the number of cores.
fn map_on_cores<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let per_core = n.div_ceil(cores.clamp(1, n.max(1)));
    if cores <= 1 || n < 2 {
        return (0..n).map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..n)
            .step_by(per_core)
            .map(|start| {
                scope.spawn(move || (start..n.min(start + per_core)).map(f).collect::<Vec<T>>())
            })
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("a mixture-fitting thread panicked"))
            .collect()
    })
}

fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// A component's Cholesky factor and log-normaliser, for densities.
struct Factor {
    l: Vec<f64>,
    log_norm: f64,
}

impl GaussianMixture {
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dims..(k + 1) * self.dims]
    }

    fn covariance(&self, k: usize) -> &[f64] {
        let dd = self.dims * self.dims;
        &self.covariances[k * dd..(k + 1) * dd]
    }

    /// Checks shapes and that every covariance is positive definite (a
    /// mixture read from a file is checked before it is used).
    pub fn validate(&self) -> Result<(), MixtureError> {
        let k = self.weights.len();
        if k == 0 || self.weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(MixtureError::Shape("weights", self.dims));
        }
        if self.means.len() != k * self.dims {
            return Err(MixtureError::Shape("means", self.dims));
        }
        if self.covariances.len() != k * self.dims * self.dims {
            return Err(MixtureError::Shape("covariances", self.dims));
        }
        self.factors().map(|_| ())
    }

    fn factors(&self) -> Result<Vec<Factor>, MixtureError> {
        let d = self.dims;
        (0..self.components())
            .map(|k| {
                let l =
                    cholesky(self.covariance(k), d).ok_or(MixtureError::NotPositiveDefinite(k))?;
                let log_det: f64 = (0..d).map(|i| 2.0 * l[i * d + i].ln()).sum();
                let log_norm = -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det);
                Ok(Factor { l, log_norm })
            })
            .collect()
    }

    /// Fits `components` Gaussians to `points` (`[n, dims]` row-major) by EM
    /// from a k-means++ start drawn with `seed`, for at most `iterations`
    /// rounds or until the mean log-likelihood gains less than 1e-4.
    pub fn fit(
        points: &[f64],
        dims: usize,
        components: usize,
        iterations: usize,
        seed: u64,
    ) -> Result<(GaussianMixture, FitSummary), MixtureError> {
        let n = points.len() / dims.max(1);
        if dims == 0 || n < 2 * components || points.len() != n * dims {
            return Err(MixtureError::TooFewPoints {
                needed: 2 * components,
                dims,
                got: points.len(),
            });
        }
        let point = |i: usize| &points[i * dims..(i + 1) * dims];
        let mean_variance = {
            let mut total = 0.0;
            for j in 0..dims {
                let m = (0..n).map(|i| point(i)[j]).sum::<f64>() / n as f64;
                total += (0..n).map(|i| (point(i)[j] - m).powi(2)).sum::<f64>() / n as f64;
            }
            total / dims as f64
        };
        let regularisation = RELATIVE_REGULARISATION * mean_variance.max(1e-12);

        // k-means++ seeding, then one hard assignment as the first M-step.
        let mut rng = SeededRng::new(seed);
        let mut centres = vec![rng.below(n)];
        let squared =
            |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
        let mut nearest: Vec<f64> = (0..n)
            .map(|i| squared(point(i), point(centres[0])))
            .collect();
        while centres.len() < components {
            let chosen = rng.pick_weighted(&nearest);
            centres.push(chosen);
            for (i, best) in nearest.iter_mut().enumerate() {
                *best = best.min(squared(point(i), point(chosen)));
            }
        }
        let mut responsibilities = vec![0.0; n * components];
        for i in 0..n {
            let k = (0..components)
                .min_by(|&a, &b| {
                    squared(point(i), point(centres[a]))
                        .total_cmp(&squared(point(i), point(centres[b])))
                })
                .expect("at least one component");
            responsibilities[i * components + k] = 1.0;
        }
        let mut mixture = GaussianMixture {
            dims,
            weights: vec![0.0; components],
            means: vec![0.0; components * dims],
            covariances: vec![0.0; components * dims * dims],
        };
        mixture.maximise(points, &responsibilities, regularisation);

        let mut previous = f64::NEG_INFINITY;
        let mut summary = FitSummary {
            iterations: 0,
            mean_log_likelihood: previous,
        };
        for iteration in 1..=iterations {
            let log_likelihood = mixture.expect(points, &mut responsibilities)?;
            mixture.maximise(points, &responsibilities, regularisation);
            summary = FitSummary {
                iterations: iteration,
                mean_log_likelihood: log_likelihood,
            };
            if log_likelihood - previous < 1e-4 {
                break;
            }
            previous = log_likelihood;
        }
        Ok((mixture, summary))
    }

    /// E-step: fills `responsibilities` (`[n, components]`) and returns the
    /// mean log-likelihood of `points` under the current mixture.
    fn expect(&self, points: &[f64], responsibilities: &mut [f64]) -> Result<f64, MixtureError> {
        let (d, k) = (self.dims, self.components());
        let factors = self.factors()?;
        let log_weights: Vec<f64> = self.weights.iter().map(|w| w.max(1e-300).ln()).collect();
        let n = points.len() / d;
        let rows = map_on_cores(n, |i| {
            let x = &points[i * d..(i + 1) * d];
            let mut centred = vec![0.0; d];
            let mut scratch = vec![0.0; d];
            let mut logs: Vec<f64> = (0..k)
                .map(|c| {
                    for (j, value) in centred.iter_mut().enumerate() {
                        *value = x[j] - self.mean(c)[j];
                    }
                    log_weights[c] + factors[c].log_norm
                        - 0.5 * mahalanobis(&factors[c].l, &centred, &mut scratch)
                })
                .collect();
            let norm = log_sum_exp(&logs);
            logs.iter_mut().for_each(|v| *v = (*v - norm).exp());
            (norm, logs)
        });
        let mut total = 0.0;
        for (i, (norm, row)) in rows.into_iter().enumerate() {
            total += norm;
            responsibilities[i * k..(i + 1) * k].copy_from_slice(&row);
        }
        Ok(total / n as f64)
    }

    /// M-step from `responsibilities`, one component per task.
    fn maximise(&mut self, points: &[f64], responsibilities: &[f64], regularisation: f64) {
        let (d, k) = (self.dims, self.components());
        let this = &*self;
        let updated = map_on_cores(k, |c| {
            this.component_update(c, points, responsibilities, regularisation)
        });
        for (c, (weight, mean, covariance)) in updated.into_iter().enumerate() {
            self.weights[c] = weight;
            self.means[c * d..(c + 1) * d].copy_from_slice(&mean);
            self.covariances[c * d * d..(c + 1) * d * d].copy_from_slice(&covariance);
        }
    }

    /// Component `c`'s weight, mean and covariance from `responsibilities`.
    /// A component that lost all its points keeps its mean and takes the
    /// data's spread, so it can recover.
    fn component_update(
        &self,
        c: usize,
        points: &[f64],
        responsibilities: &[f64],
        regularisation: f64,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let (d, k) = (self.dims, self.components());
        let n = points.len() / d;
        let mass: f64 = (0..n).map(|i| responsibilities[i * k + c]).sum();
        let mut mean = vec![0.0; d];
        if mass > 1e-9 {
            for i in 0..n {
                let r = responsibilities[i * k + c];
                if r > 0.0 {
                    for (m, x) in mean.iter_mut().zip(&points[i * d..(i + 1) * d]) {
                        *m += r * x;
                    }
                }
            }
            mean.iter_mut().for_each(|m| *m /= mass);
        } else {
            mean.copy_from_slice(self.mean(c));
        }
        let mut covariance = vec![0.0; d * d];
        if mass > 1e-9 {
            let mut centred = vec![0.0; d];
            for i in 0..n {
                let r = responsibilities[i * k + c];
                if r < 1e-12 {
                    continue;
                }
                for (j, value) in centred.iter_mut().enumerate() {
                    *value = points[i * d + j] - mean[j];
                }
                for a in 0..d {
                    let ra = r * centred[a];
                    for b in 0..=a {
                        covariance[a * d + b] += ra * centred[b];
                    }
                }
            }
            for a in 0..d {
                for b in 0..=a {
                    covariance[a * d + b] /= mass;
                    covariance[b * d + a] = covariance[a * d + b];
                }
            }
        } else {
            for a in 0..d {
                covariance[a * d + a] = 1.0;
            }
        }
        for a in 0..d {
            covariance[a * d + a] += regularisation;
        }
        (mass / n as f64, mean, covariance)
    }

    /// Mean log-density of `points` (`[n, dims]`).
    pub fn mean_log_likelihood(&self, points: &[f64]) -> Result<f64, MixtureError> {
        let n = points.len() / self.dims;
        let mut responsibilities = vec![0.0; n * self.components()];
        self.expect(points, &mut responsibilities)
    }

    /// `n` draws, `[n, dims]` row-major, from `rng`. Each draw picks a
    /// component, then `dims` normals; the same generator gives the same draws.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<f64> {
        let d = self.dims;
        let factors = self
            .factors()
            .expect("a mixture in use was validated when it was made or loaded");
        let mut out = Vec::with_capacity(n * d);
        let mut noise = vec![0.0; d];
        for _ in 0..n {
            let c = rng.pick_weighted(&self.weights);
            noise.iter_mut().for_each(|e| *e = standard_normal(rng));
            let l = &factors[c].l;
            for i in 0..d {
                let offset: f64 = (0..=i).map(|j| l[i * d + j] * noise[j]).sum();
                out.push(self.mean(c)[i] + offset);
            }
        }
        out
    }

    /// The mixture over the first `dims - 1` coordinates given that the last
    /// one equals `value`: each component's Gaussian conditioned in closed
    /// form, reweighted by how likely it makes `value`.
    pub fn condition_on_last(&self, value: f64) -> GaussianMixture {
        let d = self.dims;
        let e = d - 1;
        let mut log_weights = Vec::with_capacity(self.components());
        let mut means = Vec::with_capacity(self.components() * e);
        let mut covariances = Vec::with_capacity(self.components() * e * e);
        for c in 0..self.components() {
            let mean = self.mean(c);
            let cov = self.covariance(c);
            let variance = cov[e * d + e];
            let residual = value - mean[e];
            log_weights.push(
                self.weights[c].max(1e-300).ln()
                    - 0.5
                        * (residual * residual / variance
                            + (2.0 * std::f64::consts::PI * variance).ln()),
            );
            for i in 0..e {
                means.push(mean[i] + cov[i * d + e] * residual / variance);
            }
            for i in 0..e {
                for j in 0..e {
                    covariances.push(cov[i * d + j] - cov[i * d + e] * cov[j * d + e] / variance);
                }
            }
        }
        let norm = log_sum_exp(&log_weights);
        GaussianMixture {
            dims: e,
            weights: log_weights.iter().map(|w| (w - norm).exp()).collect(),
            means,
            covariances,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points from two well-separated correlated 2-D Gaussians.
    fn two_clusters(n: usize, rng: &mut SeededRng) -> Vec<f64> {
        let mut points = Vec::new();
        for i in 0..n {
            let (cx, cy) = if i % 3 == 0 { (5.0, 5.0) } else { (-5.0, 0.0) };
            let a = standard_normal(rng);
            let b = standard_normal(rng);
            // y = x + small noise around each centre: strongly correlated.
            points.extend([cx + a, cy + a + 0.1 * b]);
        }
        points
    }

    #[test]
    fn em_recovers_two_clusters_and_their_correlation() {
        let mut rng = SeededRng::new(3);
        let points = two_clusters(3000, &mut rng);
        let (m, summary) = GaussianMixture::fit(&points, 2, 2, 100, 1).unwrap();
        assert!(summary.iterations > 1);
        m.validate().unwrap();
        let mut weights = m.weights.clone();
        weights.sort_by(f64::total_cmp);
        assert!((weights[0] - 1.0 / 3.0).abs() < 0.02, "{weights:?}");
        for c in 0..2 {
            let cov = m.covariance(c);
            let correlation = cov[1] / (cov[0] * cov[3]).sqrt();
            // 0.995 in the data; the diagonal regularisation lowers it a little.
            assert!(correlation > 0.95, "component {c}: {cov:?}");
        }
        // Samples land where the data is: near one of the two lines.
        let draws = m.sample(500, &mut SeededRng::new(9));
        for p in draws.chunks(2) {
            let off_line = (p[1] - p[0]).abs().min((p[1] - p[0] - 5.0).abs());
            assert!(off_line < 1.0, "{p:?}");
        }
        assert_eq!(draws, m.sample(500, &mut SeededRng::new(9)), "seeded");
    }

    #[test]
    fn conditioning_on_the_last_coordinate_follows_the_correlation() {
        let mut rng = SeededRng::new(4);
        let points = two_clusters(3000, &mut rng);
        let (m, _) = GaussianMixture::fit(&points, 2, 2, 100, 2).unwrap();
        // y = 7 is only plausible in the (5, 5) cluster, where x ≈ y.
        let given = m.condition_on_last(7.0);
        assert_eq!(given.dims, 1);
        given.validate().unwrap();
        let xs = given.sample(400, &mut SeededRng::new(1));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 7.0).abs() < 0.1, "{mean}");
        // Given y, x varies by about 0.2: far less than its spread of 1 in the cluster.
        let spread = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!(spread < 0.4, "narrow: y fixes x ({spread})");
    }

    #[test]
    fn bad_shapes_and_too_few_points_are_errors() {
        assert!(matches!(
            GaussianMixture::fit(&[1.0, 2.0], 2, 2, 10, 0),
            Err(MixtureError::TooFewPoints { .. })
        ));
        let broken = GaussianMixture {
            dims: 2,
            weights: vec![1.0],
            means: vec![0.0, 0.0],
            covariances: vec![1.0, 2.0, 2.0, 1.0],
        };
        assert_eq!(broken.validate(), Err(MixtureError::NotPositiveDefinite(0)));
        let short = GaussianMixture {
            means: vec![0.0],
            ..broken
        };
        assert_eq!(short.validate(), Err(MixtureError::Shape("means", 2)));
    }
}
