//! How a Gaussian mixture (`super::mixture`) is written in a weights file.
//!
//! Packed (written since 3 December 2026): the weights as JSON numbers, the
//! means at single precision and each covariance as the lower triangle of its
//! Cholesky factor at half precision, both as base64 of little-endian bytes.
//! A rounded factor L still gives a positive-definite covariance L Lᵀ (a
//! rounded covariance might not), and a 256-component prior over 33
//! dimensions takes 0.3 MB gzip packed against 1.8 MB as JSON floats: the
//! page's budget (5 MB gzip for wasm and weights) decides how large a prior
//! the browser can load.
//!
//! The full form (every covariance entry as a JSON float) still reads.
//!
//! This module knows the stored forms and plain numbers only; the mixture
//! converts itself through [`StoredMixture::pack`] and
//! [`StoredMixture::unpack`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use half::f16;
use serde::{Deserialize, Serialize};

use super::linalg::cholesky;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum StoredMixture {
    Packed(Packed),
    Full(FullMixture),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Packed {
    dims: usize,
    weights: Vec<f64>,
    /// `[components, dims]` f32, little-endian, base64.
    means_f32: String,
    /// Per component, the lower triangle of the Cholesky factor row by row
    /// (`dims (dims + 1) / 2` values), f16, little-endian, base64.
    cholesky_lower_f16: String,
}

/// A mixture's numbers, every covariance entry in full: the form weights
/// written before 3 December 2026 hold.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FullMixture {
    pub dims: usize,
    pub weights: Vec<f64>,
    /// `[components, dims]`, row-major.
    pub means: Vec<f64>,
    /// `[components, dims, dims]`, row-major.
    pub covariances: Vec<f64>,
}

impl StoredMixture {
    /// Packed, unless a covariance has no Cholesky factor: such a mixture
    /// is written in full, for the mixture's validation to reject when it
    /// is read.
    pub(super) fn pack(m: FullMixture) -> Self {
        let d = m.dims;
        let factors: Option<Vec<Vec<f64>>> = m
            .covariances
            .chunks(d * d)
            .map(|covariance| cholesky(covariance, d))
            .collect();
        let Some(factors) = factors else {
            return StoredMixture::Full(m);
        };
        let mut lower = Vec::with_capacity(m.weights.len() * d * (d + 1) / 2);
        for l in factors {
            for i in 0..d {
                lower.extend(l[i * d..i * d + i + 1].iter().map(|&v| f16::from_f64(v)));
            }
        }
        let means: Vec<u8> = m
            .means
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect();
        let lower: Vec<u8> = lower.iter().flat_map(|v| v.to_le_bytes()).collect();
        StoredMixture::Packed(Packed {
            dims: d,
            weights: m.weights,
            means_f32: BASE64.encode(means),
            cholesky_lower_f16: BASE64.encode(lower),
        })
    }

    /// The numbers back, each covariance as L Lᵀ of its stored factor.
    pub(super) fn unpack(self) -> Result<FullMixture, String> {
        let p = match self {
            StoredMixture::Full(f) => return Ok(f),
            StoredMixture::Packed(p) => p,
        };
        let (d, k) = (p.dims, p.weights.len());
        let bytes = |name: &str, text: &str, width: usize, count: usize| {
            let bytes = BASE64
                .decode(text)
                .map_err(|e| format!("the mixture's {name} are not base64: {e}"))?;
            if bytes.len() != width * count {
                return Err(format!(
                    "the mixture's {name} hold {} bytes; {k} components of {d} dimensions need {}",
                    bytes.len(),
                    width * count
                ));
            }
            Ok(bytes)
        };
        let means = bytes("means", &p.means_f32, 4, k * d)?
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64)
            .collect();
        let lower: Vec<f64> = bytes("factors", &p.cholesky_lower_f16, 2, k * d * (d + 1) / 2)?
            .chunks(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect();
        let mut covariances = vec![0.0; k * d * d];
        for (l, c) in lower
            .chunks(d * (d + 1) / 2)
            .zip(covariances.chunks_mut(d * d))
        {
            let row = |i: usize| &l[i * (i + 1) / 2..i * (i + 1) / 2 + i + 1];
            for i in 0..d {
                for j in 0..=i {
                    let v: f64 = row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum();
                    c[i * d + j] = v;
                    c[j * d + i] = v;
                }
            }
        }
        Ok(FullMixture {
            dims: d,
            weights: p.weights,
            means,
            covariances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mixture::{GaussianMixture, pack_as_stored, standard_normal};
    use crate::rng::SeededRng;

    fn fitted() -> GaussianMixture {
        let mut rng = SeededRng::new(3);
        let points: Vec<f64> = (0..400 * 3)
            .map(|i| standard_normal(&mut rng) * (1.0 + (i % 3) as f64))
            .collect();
        GaussianMixture::fit(&points, 3, 4, 50, 7).unwrap().0
    }

    #[test]
    fn a_packed_mixture_reads_back_exactly_once_rounded() {
        let rounded = pack_as_stored(fitted());
        let json = serde_json::to_string(&rounded).unwrap();
        assert!(json.contains("cholesky_lower_f16"), "{json}");
        let back: GaussianMixture = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rounded);
        back.validate().unwrap();
    }

    #[test]
    fn rounding_moves_each_covariance_entry_by_less_than_a_thousandth() {
        let exact = fitted();
        let rounded = pack_as_stored(exact.clone());
        let scale = exact
            .covariances
            .iter()
            .fold(0.0f64, |a, &b| a.max(b.abs()));
        for (a, b) in exact.covariances.iter().zip(&rounded.covariances) {
            assert!((a - b).abs() <= 1e-3 * scale, "{a} vs {b}");
        }
        for (a, b) in exact.means.iter().zip(&rounded.means) {
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn the_full_form_of_earlier_weights_still_reads() {
        let json = r#"{"dims":1,"weights":[0.25,0.75],"means":[0.0,1.0],"covariances":[1.0,4.0]}"#;
        let m: GaussianMixture = serde_json::from_str(json).unwrap();
        assert_eq!(m.covariances, vec![1.0, 4.0]);
        assert_eq!(m.means, vec![0.0, 1.0]);
    }

    #[test]
    fn a_truncated_packing_is_an_error_that_says_what_is_short() {
        let mut value = serde_json::to_value(pack_as_stored(fitted())).unwrap();
        value["means_f32"] = serde_json::Value::String(BASE64.encode([0u8; 8]));
        let error = serde_json::from_value::<GaussianMixture>(value)
            .unwrap_err()
            .to_string();
        assert!(error.contains("means hold 8 bytes"), "{error}");
    }
}
