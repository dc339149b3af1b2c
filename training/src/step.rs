//! One optimisation step's gradients for the graph VAE, over a batch cut
//! into shards.
//!
//! Each shard's tensors, loss and gradients are computed on a thread of its
//! own, with its own fork of the model (so that each shard has an autodiff
//! graph of its own), and the gradients are summed in shard order. A shard's
//! loss is weighted by its share of the batch, so the sum is the gradient of
//! the whole batch's mean loss. The reparameterisation noise is drawn for
//! the whole batch from the run's seed before the batch is cut. A run
//! therefore depends on its seed and shard count, never on how many cores
//! the machine has; the shard count changes only the order of float sums.
//!
//! burn's flex backend runs each operation on one core, so shards are how
//! training uses more than one.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use model_core::model::dropout::{StateDropout, StepDropout};
use model_core::model::prior::standard_normal_latents;
use model_core::model::vae::LossTerms;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::examples::{BatchTensors, Example};

/// Independent noise streams drawn from one run seed.
#[derive(Clone, Copy)]
pub enum NoiseStream {
    Train { epoch: usize },
    Validation,
}

/// The seeded reparameterisation noise of batch `index` of `stream`,
/// `rows * latent` draws. Validation draws the same noise every epoch, so
/// that epochs are compared on the same draws.
pub fn batch_noise(
    seed: u64,
    stream: NoiseStream,
    index: usize,
    rows: usize,
    latent: usize,
) -> Vec<f32> {
    let stream = match stream {
        NoiseStream::Train { epoch } => epoch as u64 + 1,
        NoiseStream::Validation => 0,
    };
    let key = (stream << 32 | index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = SeededRng::new(seed ^ key ^ 0x6E6F_6973_6500_0000);
    standard_normal_latents(rows, latent, &mut rng)
}

/// Losses of one pass, per molecule.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct PassLoss {
    pub reconstruction: f64,
    pub kl: f64,
    pub gap: f64,
}

impl PassLoss {
    pub fn is_finite(&self) -> bool {
        self.reconstruction.is_finite() && self.kl.is_finite() && self.gap.is_finite()
    }
}

/// Weights of the KL and gap terms against reconstruction.
#[derive(Clone, Copy, Debug)]
pub struct LossWeights {
    pub kl: f64,
    pub gap: f64,
}

/// Loss sums (mean per molecule times molecules) kept on the device, without
/// autodiff: a training loop adds them up batch after batch and reads them
/// back only when it has something to show.
#[derive(Clone)]
pub struct LossSums {
    reconstruction: Tensor<1>,
    kl: Tensor<1>,
    gap: Tensor<1>,
    molecules: usize,
}

impl LossSums {
    /// Detached sums of one batch's (or shard's) mean losses.
    fn of(loss: &LossTerms, molecules: usize) -> LossSums {
        let sum = |t: &Tensor<1>| t.clone().without_autodiff() * molecules as f64;
        LossSums {
            reconstruction: sum(&loss.reconstruction),
            kl: sum(&loss.kl),
            gap: sum(&loss.gap),
            molecules,
        }
    }

    /// Adds `other` to a running total that may not have started.
    pub fn accumulate(total: Option<LossSums>, other: LossSums) -> Option<LossSums> {
        Some(match total {
            Some(total) => total + other,
            None => other,
        })
    }

    pub fn molecules(&self) -> usize {
        self.molecules
    }

    /// The means per molecule, read back from the device.
    pub fn read(&self) -> PassLoss {
        let n = self.molecules.max(1) as f64;
        let mean = |t: &Tensor<1>| t.clone().into_scalar::<f32>() as f64 / n;
        PassLoss {
            reconstruction: mean(&self.reconstruction),
            kl: mean(&self.kl),
            gap: mean(&self.gap),
        }
    }
}

impl std::ops::Add for LossSums {
    type Output = LossSums;

    fn add(self, other: LossSums) -> LossSums {
        LossSums {
            reconstruction: self.reconstruction + other.reconstruction,
            kl: self.kl + other.kl,
            gap: self.gap + other.gap,
            molecules: self.molecules + other.molecules,
        }
    }
}

/// The loss sums of `batch` under `model` without gradients (validation).
pub fn loss_sums(model: &GraphVae, batch: &BatchTensors) -> LossSums {
    let loss = model.loss(
        &batch.graphs,
        &batch.decoding,
        batch.gaps.clone(),
        batch.noise.clone(),
        StepDropout::default(),
    );
    LossSums::of(&loss, batch.graphs.graphs)
}

/// Adam with per-tensor gradient-norm clipping, as every training run uses it.
pub fn optimizer_for(grad_clip_norm: f32) -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(grad_clip_norm)))
        .init()
}

/// The optimizer of [`optimizer_for`] with the state a checkpoint saved.
pub fn restored_optimizer(grad_clip_norm: f32, state: Vec<u8>) -> anyhow::Result<ModuleOptimizer> {
    use anyhow::Context;
    optimizer_for(grad_clip_norm)
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(state))
        .context("the checkpoint's optimizer state does not load")
}

/// The training loop's step: a batch's [`gradients`] over its shards, then
/// the optimizer. `trainer train` and both benchmarks step through this, so
/// the benchmarks time the loop's own work.
pub struct Stepper {
    pub optimizer: ModuleOptimizer,
    learning_rate: f64,
    regime: Regime,
    config: ModelConfig,
    device: Device,
}

impl Stepper {
    /// Steps with `optimizer` at `learning_rate`, each batch cut into
    /// `shards`, on the autodiff `device`.
    pub fn new(
        optimizer: ModuleOptimizer,
        learning_rate: f64,
        shards: usize,
        config: &ModelConfig,
        device: &Device,
    ) -> Stepper {
        Stepper {
            optimizer,
            learning_rate,
            regime: Regime::sharded(shards),
            config: config.clone(),
            device: device.clone(),
        }
    }

    /// Steps with dropout at `rate` on the decoder's recurrent states.
    pub fn with_state_dropout(mut self, rate: f64) -> Stepper {
        self.regime.state_dropout = rate;
        self
    }

    /// Steps with dropout at `rate` on the encoder's atom states.
    pub fn with_encoder_dropout(mut self, rate: f64) -> Stepper {
        self.regime.encoder_dropout = rate;
        self
    }

    /// Steps that move only the `trainable` part of the network.
    pub fn training_only(mut self, trainable: Trainable) -> Stepper {
        self.regime.trainable = trainable;
        self
    }

    /// The rate of the steps from now on (a schedule sets it per batch).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// `model` after one step on `batch` with its `noise`, and the batch's loss sums.
    pub fn step(
        &mut self,
        model: GraphVae,
        batch: &[&Example],
        noise: &[f32],
        weights: LossWeights,
    ) -> (GraphVae, LossSums) {
        let (grads, sums) = gradients(
            &model,
            batch,
            noise,
            weights,
            self.regime,
            &self.config,
            &self.device,
        );
        (self.optimizer.step(self.learning_rate, model, grads), sums)
    }
}

/// How a step computes its gradients, the loss's weights aside (a
/// schedule changes those from batch to batch).
#[derive(Clone, Copy, Debug)]
pub struct Regime {
    /// The batch is cut into at most this many pieces, each run on a thread
    /// of its own.
    pub shards: usize,
    /// Dropout rate on the decoder's recurrent states (0: none).
    pub state_dropout: f64,
    /// Dropout rate on the encoder's atom states (0: none).
    pub encoder_dropout: f64,
    pub trainable: Trainable,
}

impl Regime {
    /// The whole network trained without dropout, the batch cut into `shards`.
    pub fn sharded(shards: usize) -> Regime {
        Regime {
            shards,
            state_dropout: 0.0,
            encoder_dropout: 0.0,
            trainable: Trainable::All,
        }
    }
}

/// Which parameters a step moves; the others get no gradient, so the
/// optimizer leaves them as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Trainable {
    /// The whole network.
    #[default]
    All,
    /// The encoder alone (q(z | G)); the decoder and the gap head stay
    /// frozen, so a fine-tune moves only where molecules are put in z.
    Encoder,
}

/// Gradients of the mean loss over `batch`, its terms weighted by
/// `weights`, and the batch's loss sums. `noise` is the batch's
/// ([`batch_noise`]); `device` is the autodiff device the model trains on.
pub fn gradients(
    model: &GraphVae,
    batch: &[&Example],
    noise: &[f32],
    weights: LossWeights,
    regime: Regime,
    config: &ModelConfig,
    device: &Device,
) -> (GradientsParams, LossSums) {
    let per_shard = batch
        .len()
        .div_ceil(regime.shards.clamp(1, batch.len().max(1)));
    let shards: Vec<Shard> = batch
        .chunks(per_shard)
        .zip(noise.chunks(per_shard * config.latent))
        .map(|(examples, noise)| Shard {
            examples,
            noise,
            share: examples.len() as f64 / batch.len() as f64,
        })
        .collect();
    let mut results = std::thread::scope(|scope| {
        let (first, rest) = shards.split_first().expect("a batch has a molecule");
        let others: Vec<_> = rest
            .iter()
            .map(|shard| {
                let model = model.clone();
                scope.spawn(move || shard_gradients(model, shard, weights, regime, config, device))
            })
            .collect();
        let mut results = vec![shard_gradients(
            model.clone(),
            first,
            weights,
            regime,
            config,
            device,
        )];
        results.extend(
            others
                .into_iter()
                .map(|h| h.join().expect("a shard's thread panicked")),
        );
        results
    });
    if results.len() == 1 {
        return results.pop().expect("one shard");
    }
    let mut grads = GradientsAccumulator::<GraphVae>::new();
    let mut sums: Option<LossSums> = None;
    for (shard_grads, shard_sums) in results {
        grads.accumulate(model, shard_grads);
        sums = LossSums::accumulate(sums, shard_sums);
    }
    (grads.grads(), sums.expect("at least one shard"))
}

/// The generator of a shard's dropout masks, seeded by the shard's noise:
/// the masks are then fixed by what fixes the noise (run seed, epoch,
/// batch, shard), with no stream of their own to keep across a resume.
fn dropout_rng(noise: &[f32], stream: DropoutStream) -> SeededRng {
    let seed = noise.iter().fold(0x6472_6F70_6F75_7400u64, |h, x| {
        (h ^ u64::from(x.to_bits())).wrapping_mul(0x0000_0100_0000_01B3)
    });
    SeededRng::derived(seed, stream as u64)
}

/// Which mask a shard's dropout generator draws: the decoder's stream is
/// the one it drew before the encoder's existed, so old runs repeat.
#[derive(Clone, Copy)]
enum DropoutStream {
    Decoder = 0,
    Encoder = 1,
}

/// A piece of a batch, run on a thread of its own.
#[derive(Clone, Copy)]
struct Shard<'a> {
    examples: &'a [&'a Example],
    /// The piece's rows of the batch's noise.
    noise: &'a [f32],
    /// The piece's molecules over the batch's: its loss's weight in the mean.
    share: f64,
}

fn shard_gradients(
    model: GraphVae,
    shard: &Shard,
    weights: LossWeights,
    regime: Regime,
    config: &ModelConfig,
    device: &Device,
) -> (GradientsParams, LossSums) {
    // A fork has its own autodiff graph; its parameters keep their ids, so
    // the gradients sum into the shared model's.
    let model = model.fork(device);
    let Shard {
        examples,
        noise,
        share,
    } = *shard;
    let batch = BatchTensors::new(examples, noise, config, device);
    let decoder_dropout = (regime.state_dropout > 0.0).then(|| {
        let [graphs, steps] = batch.decoding.prev_token.dims();
        StateDropout::draw(
            [graphs, steps, config.hidden],
            regime.state_dropout,
            &mut dropout_rng(noise, DropoutStream::Decoder),
            device,
        )
    });
    let encoder_dropout = (regime.encoder_dropout > 0.0).then(|| {
        let atoms = batch.graphs.node_states.dims()[0];
        StateDropout::draw(
            [config.layers, atoms, config.hidden],
            regime.encoder_dropout,
            &mut dropout_rng(noise, DropoutStream::Encoder),
            device,
        )
    });
    let dropout = StepDropout {
        encoder: encoder_dropout.as_ref(),
        decoder: decoder_dropout.as_ref(),
    };
    let loss = model.loss(
        &batch.graphs,
        &batch.decoding,
        batch.gaps,
        batch.noise,
        dropout,
    );
    let total = loss.total(weights.kl, weights.gap) * share;
    let sums = LossSums::of(&loss, examples.len());
    let backward = total.backward();
    let grads = match regime.trainable {
        Trainable::All => GradientsParams::from_grads(backward, &model),
        Trainable::Encoder => GradientsParams::from_grads(backward, &model.encoder),
    };
    (grads, sums)
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};
    use model_core::chem::parse_smiles;

    use super::*;

    const SMILES: [&str; 10] = [
        "CCO",
        "c1ccccc1",
        "CC(=O)N",
        "C1CC1",
        "N#CC1CC1O",
        "OCC(N)C=O",
        "CC#C",
        "C1COC1",
        "CN(C)C",
        "FC(F)F",
    ];

    /// Every parameter of a module, flattened, in the module's order: its
    /// gradient in `grads` if given, else its value.
    struct Flatten<'a> {
        grads: Option<&'a GradientsParams>,
        out: Vec<Vec<f32>>,
    }

    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = match self.grads {
                Some(grads) => grads
                    .get::<D>(param.id)
                    .expect("every parameter has a gradient"),
                None => param.val(),
            };
            self.out
                .push(tensor.into_data().try_to_vec::<f32>().expect("f32"));
        }
    }

    fn flatten(module: &impl Module, grads: Option<&GradientsParams>) -> Vec<Vec<f32>> {
        let mut visitor = Flatten {
            grads,
            out: Vec::new(),
        };
        module.visit(&mut visitor);
        visitor.out
    }

    /// Every parameter's value, flattened, in the module's order.
    fn values(module: &impl Module) -> Vec<Vec<f32>> {
        flatten(module, None)
    }

    /// Every parameter's gradient, flattened, in the model's order.
    fn gradients_of(model: &GraphVae, grads: &GradientsParams) -> Vec<Vec<f32>> {
        flatten(model, Some(grads))
    }

    /// A small random network on the autodiff device, and the ten molecules as examples.
    fn tiny_network() -> (ModelConfig, Device, GraphVae, Vec<Example>) {
        let config = crate::test_support::tiny_config();
        let device = Device::flex().autodiff();
        let model = GraphVae::new(&config, &device);
        let examples = SMILES
            .iter()
            .enumerate()
            .map(|(i, s)| Example::new(parse_smiles(s).unwrap(), 5.0 + i as f64, 9).unwrap())
            .collect();
        (config, device, model, examples)
    }

    #[test]
    fn shards_sum_to_the_whole_batch_gradient_and_repeat_exactly() {
        let (config, device, model, examples) = tiny_network();
        let batch: Vec<&Example> = examples.iter().collect();
        let noise = batch_noise(4, NoiseStream::Train { epoch: 0 }, 0, batch.len(), 8);
        let weights = LossWeights { kl: 0.1, gap: 1.0 };
        let run = |shards| {
            let regime = Regime::sharded(shards);
            let (grads, sums) =
                gradients(&model, &batch, &noise, weights, regime, &config, &device);
            (gradients_of(&model, &grads), sums.read(), sums.molecules())
        };
        let (whole, whole_loss, n) = run(1);
        let (sharded, sharded_loss, m) = run(3);
        assert_eq!((n, m), (10, 10));
        for (a, b) in [
            (whole_loss.reconstruction, sharded_loss.reconstruction),
            (whole_loss.kl, sharded_loss.kl),
            (whole_loss.gap, sharded_loss.gap),
        ] {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "loss {a} vs {b}");
        }
        let mut largest = 0f32;
        for (a, b) in whole.iter().zip(&sharded) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-5 + 1e-3 * x.abs(),
                    "gradient {x} vs {y}"
                );
                largest = largest.max(x.abs());
            }
        }
        assert!(largest > 1e-3, "the gradients are all near zero");
        // Same shards, same noise: the same gradients, bit for bit.
        assert_eq!(sharded, run(3).0);
        // Other noise: other gradients.
        let other = batch_noise(5, NoiseStream::Train { epoch: 0 }, 0, batch.len(), 8);
        let (grads, _) = gradients(
            &model,
            &batch,
            &other,
            weights,
            Regime::sharded(3),
            &config,
            &device,
        );
        assert_ne!(gradients_of(&model, &grads), sharded);

        // Dropout on the decoder's states, on the encoder's, or both: each
        // fixed by the noise, bit for bit, and a gradient of its own; the
        // loss it reports is the dropped one.
        let dropped = |noise: &[f32], decoder: f64, encoder: f64| {
            let regime = Regime {
                state_dropout: decoder,
                encoder_dropout: encoder,
                ..Regime::sharded(3)
            };
            let (grads, sums) = gradients(&model, &batch, noise, weights, regime, &config, &device);
            (gradients_of(&model, &grads), sums.read().reconstruction)
        };
        let mut seen = vec![sharded.clone()];
        for (decoder, encoder) in [(0.3, 0.0), (0.0, 0.3), (0.3, 0.3)] {
            let (with_dropout, dropped_loss) = dropped(&noise, decoder, encoder);
            assert_eq!(with_dropout, dropped(&noise, decoder, encoder).0);
            assert_ne!(with_dropout, dropped(&other, decoder, encoder).0);
            assert!(
                (dropped_loss - sharded_loss.reconstruction).abs() > 1e-4,
                "dropout ({decoder}, {encoder}) left the loss at {dropped_loss}"
            );
            assert!(!seen.contains(&with_dropout), "({decoder}, {encoder})");
            seen.push(with_dropout);
        }
    }

    #[test]
    fn an_encoder_only_step_moves_the_encoder_and_nothing_else() {
        let (config, device, model, examples) = tiny_network();
        let batch: Vec<&Example> = examples.iter().collect();
        let noise = batch_noise(4, NoiseStream::Train { epoch: 0 }, 0, batch.len(), 8);
        let weights = LossWeights { kl: 0.1, gap: 1.0 };
        let step = |trainable| {
            let mut stepper = Stepper::new(optimizer_for(5.0), 1e-2, 2, &config, &device)
                .training_only(trainable);
            stepper.step(model.clone(), &batch, &noise, weights).0
        };
        let moved = |before: Vec<Vec<f32>>, after: Vec<Vec<f32>>| {
            before.iter().zip(&after).filter(|(a, b)| a != b).count()
        };
        let encoder_only = step(Trainable::Encoder);
        let encoder_tensors = values(&model.encoder).len();
        assert_eq!(
            moved(values(&model.encoder), values(&encoder_only.encoder)),
            encoder_tensors,
            "every encoder tensor moves"
        );
        assert_eq!(values(&model.decoder), values(&encoder_only.decoder));
        assert_eq!(values(&model.gap_head), values(&encoder_only.gap_head));
        // The whole network's step moves the decoder too, and the encoder the same way.
        let whole = step(Trainable::All);
        assert!(moved(values(&model.decoder), values(&whole.decoder)) > 0);
        assert_eq!(values(&whole.encoder), values(&encoder_only.encoder));
    }
}
