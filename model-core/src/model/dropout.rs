//! Dropout masks on network states, drawn from a seeded generator so that a
//! training run stays fixed by its seed (burn's own generator is unseeded
//! and shared by threads).

use burn::prelude::*;

use crate::rng::SeededRng;

/// Dropout on states during training: on the decoder's recurrent states
/// in teacher forcing (`[graphs, steps, hidden]`), or on the encoder's atom
/// states after each message-passing layer (`[layers, atoms, hidden]`).
/// Each unit is kept with probability `1 − rate` and scaled by
/// `1 / (1 − rate)`. The caller draws the mask from a seeded generator
/// (burn's own is unseeded), so a training run stays fixed by its seed.
pub struct StateDropout {
    /// 0 or `1 / (1 − rate)` per unit.
    scale: Tensor<3>,
}

impl StateDropout {
    /// A mask of `shape` (the decoder's `[graphs, steps, hidden]` or the
    /// encoder's `[layers, atoms, hidden]`), each unit dropped with
    /// probability `rate` (in `[0, 1)`), drawn from `rng`.
    pub fn draw(
        shape: [usize; 3],
        rate: f64,
        rng: &mut SeededRng,
        device: &Device,
    ) -> StateDropout {
        assert!(
            (0.0..1.0).contains(&rate),
            "a dropout rate lies in [0, 1), not {rate}"
        );
        let kept = (1.0 / (1.0 - rate)) as f32;
        let scale: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| if rng.unit_f64() < rate { 0.0 } else { kept })
            .collect();
        StateDropout {
            scale: Tensor::from_data(TensorData::new(scale, shape), device),
        }
    }

    /// `states`, of the mask's shape, with the mask applied.
    pub(crate) fn apply(&self, states: Tensor<3>) -> Tensor<3> {
        states * self.scale.clone()
    }

    /// `states` (`[rows, hidden]`) with the mask's `index`-th slice along
    /// its first axis applied (the encoder's layer `index`).
    pub(crate) fn apply_slice(&self, index: usize, states: Tensor<2>) -> Tensor<2> {
        let [_, rows, hidden] = self.scale.dims();
        states
            * self
                .scale
                .clone()
                .slice([index..index + 1, 0..rows, 0..hidden])
                .reshape([rows, hidden])
    }
}

/// The masks of one training step: on the encoder's atom states, on the
/// decoder's recurrent states, either, both or neither (validation).
#[derive(Default, Clone, Copy)]
pub struct StepDropout<'a> {
    pub encoder: Option<&'a StateDropout>,
    pub decoder: Option<&'a StateDropout>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rate: f64, seed: u64) -> Vec<f32> {
        let device = Device::flex();
        let dropout = StateDropout::draw([8, 10, 50], rate, &mut SeededRng::new(seed), &device);
        dropout.scale.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn a_mask_drops_its_rate_and_keeps_the_expected_state() {
        let scale = mask(0.25, 3);
        let dropped = scale.iter().filter(|&&s| s == 0.0).count() as f64 / scale.len() as f64;
        assert!((dropped - 0.25).abs() < 0.02, "dropped {dropped}");
        assert!(
            scale
                .iter()
                .all(|&s| s == 0.0 || (s - 4.0 / 3.0).abs() < 1e-6),
            "kept units are scaled by 1 / (1 - rate)"
        );
        let mean = scale.iter().map(|&s| s as f64).sum::<f64>() / scale.len() as f64;
        assert!((mean - 1.0).abs() < 0.03, "mean scale {mean}");
        assert_eq!(scale, mask(0.25, 3));
        assert_ne!(scale, mask(0.25, 4));
        assert!(mask(0.0, 3).iter().all(|&s| s == 1.0));
    }
}
