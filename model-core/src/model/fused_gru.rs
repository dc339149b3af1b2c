//! The decoder's recurrent step for sampling: burn's [`Gru`] step, computed
//! with fewer and larger products. Sampling runs the step once per atom for
//! every molecule, so its cost is most of what a molecule costs.
//!
//! The step's input is `[token embedding | links | z]`. Its three gates'
//! weights are joined into one product per input part; z's part is the same
//! at every step of a molecule and the token's takes one of a few values, so
//! both are multiplied out once. On the CPU the gates' arithmetic is one
//! vectorised loop instead of a dozen tensor operations, each a pass with a
//! libm call per number. The result equals burn's step to rounding (`tests`
//! below).

use burn::nn::Embedding;
use burn::nn::GateController;
use burn::nn::Linear;
use burn::nn::gru::Gru;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Int, TensorData};

use super::tensor_read::{floats, on_cpu};

/// A [`Gru`]'s step with its weights rearranged for sampling; gates are
/// laid out `[reset | update | new]` along the last dimension.
#[derive(Clone, Debug)]
pub struct FusedGru {
    /// Each token's embedding times the input weights, plus the input bias,
    /// `[tokens, 3 hidden]`.
    token_part: Tensor<2>,
    /// `[links, 3 hidden]`.
    links_weight: Tensor<2>,
    /// `[latent, 3 hidden]`.
    z_weight: Tensor<2>,
    /// `[hidden, 3 hidden]`.
    hidden_weight: Tensor<2>,
    /// `[1, 3 hidden]`.
    hidden_bias: Tensor<2>,
    hidden: usize,
}

impl FusedGru {
    /// `gru` reads `[token (token.weight's width) | links (links wide) | z]`.
    pub fn new(gru: &Gru, token: &Embedding, links: usize) -> FusedGru {
        // The step below is the reset-after GRU without clipping (the
        // decoder's configuration); another one would be silently wrong.
        assert!(
            gru.reset_after && gru.clip.is_none(),
            "FusedGru steps only a reset-after GRU without clipping"
        );
        let gates = [&gru.reset_gate, &gru.update_gate, &gru.new_gate];
        let joined = |linear: fn(&GateController) -> &Linear| {
            let weight = Tensor::cat(gates.iter().map(|g| linear(g).weight.val()).collect(), 1);
            let bias = Tensor::cat(
                gates
                    .iter()
                    .map(|g| {
                        let l = linear(g);
                        l.bias.as_ref().map_or_else(
                            || Tensor::zeros([l.weight.dims()[1]], &l.weight.device()),
                            |b| b.val(),
                        )
                    })
                    .collect(),
                0,
            );
            (weight, bias.unsqueeze::<2>())
        };
        let (input_weight, input_bias) = joined(|g| &g.input_transform);
        let (hidden_weight, hidden_bias) = joined(|g| &g.hidden_transform);
        let [input, width] = input_weight.dims();
        let embedding = token.weight.val();
        let token_width = embedding.dims()[1];
        let part = |rows: std::ops::Range<usize>| input_weight.clone().slice([rows, 0..width]);
        FusedGru {
            token_part: embedding.matmul(part(0..token_width)) + input_bias,
            links_weight: part(token_width..token_width + links),
            z_weight: part(token_width + links..input),
            hidden_weight,
            hidden_bias,
            hidden: gru.d_hidden,
        }
    }

    /// z's share of every step's gate inputs, `[graphs, 3 hidden]`: computed
    /// once per molecule.
    pub fn z_part(&self, z: Tensor<2>) -> Tensor<2> {
        z.matmul(self.z_weight.clone())
    }

    /// The next state `[graphs, hidden]` from the state, the previous tokens
    /// `[graphs]` and links `[graphs, links]`. On the CPU backend the gates'
    /// arithmetic runs as one loop ([`gate_rows`]); elsewhere (WebGPU) as
    /// tensor operations.
    pub fn step(
        &self,
        z_part: Tensor<2>,
        state: Tensor<2>,
        prev_token: Tensor<1, Int>,
        prev_links: Tensor<2>,
    ) -> Tensor<2> {
        let on_cpu = on_cpu(&state.device());
        self.step_on(z_part, state, prev_token, prev_links, on_cpu)
    }

    fn step_on(
        &self,
        z_part: Tensor<2>,
        state: Tensor<2>,
        prev_token: Tensor<1, Int>,
        prev_links: Tensor<2>,
        on_cpu: bool,
    ) -> Tensor<2> {
        let device = state.device();
        let input = z_part
            + self.token_part.clone().select(0, prev_token)
            + prev_links.matmul(self.links_weight.clone());
        let recurrent = state.clone().matmul(self.hidden_weight.clone()) + self.hidden_bias.clone();
        if !on_cpu {
            return self.gates_as_tensors(input, recurrent, state);
        }
        let shape = state.dims();
        let mut next = floats(state);
        gate_rows(&floats(input), &floats(recurrent), &mut next, self.hidden);
        Tensor::from_data(TensorData::new(next, shape), &device)
    }

    /// [`gate_rows`] as tensor operations, for devices whose memory the CPU
    /// cannot read synchronously.
    fn gates_as_tensors(
        &self,
        input: Tensor<2>,
        recurrent: Tensor<2>,
        state: Tensor<2>,
    ) -> Tensor<2> {
        let [graphs, h] = [state.dims()[0], self.hidden];
        let gates = sigmoid(
            input.clone().slice([0..graphs, 0..2 * h])
                + recurrent.clone().slice([0..graphs, 0..2 * h]),
        );
        let reset = gates.clone().slice([0..graphs, 0..h]);
        let update = gates.slice([0..graphs, h..2 * h]);
        let candidate = tanh(
            input.slice([0..graphs, 2 * h..3 * h])
                + reset * recurrent.slice([0..graphs, 2 * h..3 * h]),
        );
        candidate.clone() + update * (state - candidate)
    }
}

/// The GRU's gates, row by row: `input` and `recurrent` hold each row's gate
/// inputs `[reset | update | new]` (`3 hidden` wide), `state` the rows'
/// states (`hidden` wide), which become the next states.
fn gate_rows(input: &[f32], recurrent: &[f32], state: &mut [f32], hidden: usize) {
    let rows = input
        .chunks_exact(3 * hidden)
        .zip(recurrent.chunks_exact(3 * hidden))
        .zip(state.chunks_exact_mut(hidden));
    for ((input, recurrent), state) in rows {
        let [input_reset, input_update, input_new] = thirds(input, hidden);
        let [recurrent_reset, recurrent_update, recurrent_new] = thirds(recurrent, hidden);
        // Equal-length slices: the loop runs without bounds checks, vectorised.
        for j in 0..hidden {
            let reset = fast_sigmoid(input_reset[j] + recurrent_reset[j]);
            let update = fast_sigmoid(input_update[j] + recurrent_update[j]);
            let candidate = fast_tanh(input_new[j] + reset * recurrent_new[j]);
            state[j] = candidate + update * (state[j] - candidate);
        }
    }
}

/// A row's three gates, each `hidden` long.
fn thirds(row: &[f32], hidden: usize) -> [&[f32]; 3] {
    [
        &row[..hidden],
        &row[hidden..2 * hidden],
        &row[2 * hidden..3 * hidden],
    ]
}

/// `e^x` for `x` in `[-87, 87]`, within 2 ulp, in plain arithmetic that
/// the compiler vectorises (libm's is a call per number, most of the step's
/// cost) and that gives the same bits natively and in wasm.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    // e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln 2 / 2.
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 in two parts (Cody and Waite): n times the first, 355/512, which
    // has few bits, is exact, so x - n ln 2 loses no precision.
    const LN2_HIGH: f32 = 355.0 / 512.0;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    // Taylor to r^7: error below 1e-9 on |r| <= 0.35.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // n sits in `shifted`'s low mantissa bits: 2^n from integer arithmetic
    // alone (a float-to-int cast would not vectorise).
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

#[inline(always)]
fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp((-x).clamp(-87.0, 87.0)))
}

/// `tanh(x) = 2 sigmoid(2x) - 1`.
#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    2.0 * fast_sigmoid(2.0 * x) - 1.0
}

#[cfg(test)]
mod tests {
    use burn::nn::gru::GruConfig;
    use burn::nn::{EmbeddingConfig, Initializer};
    use burn::tensor::{Distribution, TensorData};

    use super::*;

    #[test]
    fn the_fused_step_is_burns_gru_step() {
        let device = Device::default();
        let (tokens, token_width, links, latent, hidden, graphs) = (6, 5, 4, 3, 8, 7);
        // Biases drawn too, so that each one's place in the step is checked.
        let init = Initializer::Uniform {
            min: -0.8,
            max: 0.8,
        };
        let gru = GruConfig::new(token_width + links + latent, hidden, true)
            .with_initializer(init.clone())
            .init(&device);
        let token = EmbeddingConfig::new(tokens, token_width)
            .with_initializer(init)
            .init(&device);
        let fused = FusedGru::new(&gru, &token, links);

        let random = |shape: [usize; 2]| {
            Tensor::<2>::random(shape, Distribution::Uniform(-2.0, 2.0), &device)
        };
        let z = random([graphs, latent]);
        let state = random([graphs, hidden]);
        let prev_links = random([graphs, links]);
        let ids: Vec<i64> = (0..graphs as i64).map(|i| i % tokens as i64).collect();
        let prev_token = Tensor::<1, Int>::from_data(TensorData::new(ids, [graphs]), &device);

        let input = Tensor::cat(
            vec![
                token.forward(prev_token.clone().reshape([graphs, 1])),
                prev_links.clone().reshape([graphs, 1, links]),
                z.clone().reshape([graphs, 1, latent]),
            ],
            2,
        );
        let expected = gru
            .forward(input, Some(state.clone()))
            .reshape([graphs, hidden]);
        let scale = expected.clone().abs().max().into_scalar::<f32>();
        assert!(scale > 0.1, "the states are not all near zero: {scale}");
        for on_cpu in [true, false] {
            let got = fused.step_on(
                fused.z_part(z.clone()),
                state.clone(),
                prev_token.clone(),
                prev_links.clone(),
                on_cpu,
            );
            let difference = (got - expected.clone()).abs().max().into_scalar::<f32>();
            assert!(
                difference < 1e-5,
                "fused step (on the CPU: {on_cpu}) differs by {difference}"
            );
        }
    }

    #[test]
    fn the_fast_exponential_is_within_two_ulp() {
        let mut worst = 0f64;
        for i in -87_000..=87_000 {
            let x = i as f32 * 1e-3 + 0.000_37;
            let exact = (x as f64).exp();
            let ulp = f32::EPSILON as f64 * exact;
            worst = worst.max((fast_exp(x) as f64 - exact).abs() / ulp);
        }
        assert!(worst <= 2.0, "fast_exp is {worst} ulp off");
        assert!((fast_sigmoid(0.0) - 0.5).abs() < 1e-7);
        assert_eq!(fast_sigmoid(-200.0).min(1e-30), fast_sigmoid(-200.0));
        assert_eq!(fast_sigmoid(200.0), 1.0);
        assert!((fast_tanh(0.3) - 0.3f32.tanh()).abs() < 1e-7);
    }
}
