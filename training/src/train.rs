//! `trainer train`: fits the graph VAE on the QM9 training split.
//!
//! Each epoch walks the training split in a seeded order with seeded
//! reparameterisation noise, so a seed fixes the run and a resumed run sees
//! the same batches as an uninterrupted one. Each batch's gradients are
//! computed over shards in parallel (see [`crate::step`]). After every epoch it runs a
//! validation pass, appends a row to `metrics.csv`, redraws `curves.png`, and
//! writes `checkpoint.bin` (weights, optimizer state, progress) atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use model_core::data::{Qm9Dataset, Split};
use model_core::model::weights::{Precision, load_weights, save_weights};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::examples::{BatchTensors, Example, examples};
use crate::fsio::{csv_text, rounded, write_atomically};
use crate::plot;
use crate::prior_fit::{PriorFitConfig, fit_prior};
use crate::resumable::{NoState, Run, RunKind, RunLength};
use crate::schedule::CosineRates;
use crate::step::{
    LossSums, LossWeights, NoiseStream, PassLoss, Stepper, Trainable, batch_noise, loss_sums,
    optimizer_for, restored_optimizer,
};

/// Everything a run needs; read from TOML, then overridden from the CLI.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// How the rate moves over the run. Checkpoints written before the
    /// schedule existed trained at a constant rate and resume so.
    #[serde(default = "LearningRateSchedule::constant")]
    pub schedule: LearningRateSchedule,
    /// Where a cosine schedule ends.
    pub final_learning_rate: f64,
    /// Final weight of the KL term, reached linearly over `kl_anneal_epochs`.
    pub kl_weight: f64,
    pub kl_anneal_epochs: f64,
    pub gap_weight: f64,
    pub grad_clip_norm: f32,
    /// Dropout rate on the decoder's recurrent states during training (0:
    /// none); regularises against memorising the training molecules.
    pub decoder_dropout: f64,
    /// Dropout rate on the encoder's atom states after each message-passing
    /// layer during training (0: none); regularises the encoder's guess for
    /// molecules it has not seen.
    #[serde(default)]
    pub encoder_dropout: f64,
    /// The part of the network the run moves (the encoder alone: a
    /// fine-tune of where molecules are put in z, the decoder frozen).
    #[serde(default)]
    pub trainable: Trainable,
    pub seed: u64,
    /// Each batch is cut into this many shards, whose gradients are computed
    /// in parallel and summed (see [`crate::step`]). Results depend on it,
    /// never on the machine's core count.
    pub shards: usize,
    /// Train on at most this many training molecules (0 = all).
    pub max_train: usize,
    /// Validate on at most this many validation molecules.
    pub max_valid: usize,
    /// Start from this weights file's network instead of seeded random
    /// weights (a fine-tune); its model settings must match `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_weights: Option<PathBuf>,
    /// The learned prior fitted after the last epoch.
    pub prior: PriorFitConfig,
}

impl TrainConfig {
    /// Settings no run can train with, refused before anything is written.
    pub fn check(&self) -> Result<()> {
        anyhow::ensure!(
            self.shards >= 1 && self.batch_size >= 1,
            "shards and batch_size must be at least 1 (they are {} and {})",
            self.shards,
            self.batch_size
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.decoder_dropout),
            "decoder_dropout is a rate in [0, 1) (0.1 drops a tenth of the decoder's state), not {}",
            self.decoder_dropout
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.encoder_dropout),
            "encoder_dropout is a rate in [0, 1) (0.1 drops a tenth of the encoder's atom states), not {}",
            self.encoder_dropout
        );
        anyhow::ensure!(
            self.trainable == Trainable::All || self.init_weights.is_some(),
            "trainable = {:?} fine-tunes a trained network: give it one with init_weights \
             (--init-weights public/weights.bin)",
            self.trainable
        );
        Ok(())
    }
}

impl RunLength for TrainConfig {
    fn length(&mut self) -> &mut usize {
        &mut self.epochs
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelConfig::default(),
            // The recipe of the shipped model: the tuning study's best
            // (results/tuning/best.toml) at hidden 128, which keeps sampling
            // fast, with a cosine decay over 40 epochs.
            epochs: 40,
            batch_size: 128,
            learning_rate: 1.3e-3,
            schedule: LearningRateSchedule::Cosine,
            final_learning_rate: 1e-5,
            // Small, so that z carries the molecule; prior samples come from
            // the mixture fitted after training, not from N(0, I).
            kl_weight: 2.3e-4,
            kl_anneal_epochs: 0.29,
            gap_weight: 2.5,
            grad_clip_norm: 5.0,
            decoder_dropout: 0.0,
            encoder_dropout: 0.0,
            trainable: Trainable::All,
            seed: 1,
            shards: 2,
            max_train: 0,
            max_valid: 2000,
            init_weights: None,
            prior: PriorFitConfig::default(),
        }
    }
}

/// The learning rate over a run: `learning_rate` throughout, or falling
/// along a cosine to `final_learning_rate` over every batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LearningRateSchedule {
    Constant,
    Cosine,
}

impl LearningRateSchedule {
    fn constant() -> Self {
        LearningRateSchedule::Constant
    }
}

pub struct TrainOptions {
    pub config: TrainConfig,
    pub dataset: PathBuf,
    pub run_dir: PathBuf,
    pub backend: Backend,
    pub resume: bool,
    pub progress: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub kl_weight: f64,
    /// The rate of the epoch's last batch (absent in checkpoints written
    /// before the schedule existed).
    #[serde(default)]
    pub learning_rate: f64,
    pub train: PassLoss,
    pub valid: PassLoss,
    pub graphs_per_second: f64,
    pub seconds: f64,
}

const RUN_KIND: RunKind = RunKind {
    magic: b"MOLGAPCK",
    unit: "epoch",
};

/// Batches between read-backs of the running losses (progress and the
/// check for a diverged loss).
const READ_BACK_EVERY: usize = 16;

/// Mean and standard deviation (eV) of the HOMO-LUMO gap over the training
/// split: the standardisation every gap predictor here learns in.
pub(crate) fn train_gap_statistics(dataset: &Qm9Dataset) -> (f64, f64) {
    let gaps: Vec<f64> = dataset
        .split_records(Split::Train)
        .map(|r| r.gap_ev())
        .collect();
    let n = gaps.len().max(1) as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn kl_weight_at(config: &TrainConfig, epoch_progress: f64) -> f64 {
    if config.kl_anneal_epochs <= 0.0 {
        config.kl_weight
    } else {
        config.kl_weight * (epoch_progress / config.kl_anneal_epochs).min(1.0)
    }
}

/// Mean losses over `examples` without gradients, on the seed's validation noise.
pub fn evaluate_loss(
    model: &GraphVae,
    examples: &[&Example],
    config: &ModelConfig,
    seed: u64,
    device: &Device,
) -> PassLoss {
    const BATCH: usize = 256;
    let mut sums = None;
    for (index, chunk) in examples.chunks(BATCH).enumerate() {
        let noise = batch_noise(
            seed,
            NoiseStream::Validation,
            index,
            chunk.len(),
            config.latent,
        );
        let batch = BatchTensors::new(chunk, &noise, config, device);
        sums = LossSums::accumulate(sums, loss_sums(model, &batch));
    }
    sums.map(|s| s.read()).unwrap_or_default()
}

fn write_metrics(run_dir: &Path, history: &[EpochMetrics]) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Row {
        epoch: usize,
        kl_weight: f64,
        learning_rate: f64,
        train_reconstruction: f64,
        train_kl: f64,
        train_gap: f64,
        valid_reconstruction: f64,
        valid_kl: f64,
        valid_gap: f64,
        graphs_per_second: f64,
        seconds: f64,
    }
    let csv = csv_text(history.iter().map(|m| Row {
        epoch: m.epoch,
        kl_weight: rounded(m.kl_weight, 6),
        learning_rate: rounded(m.learning_rate, 7),
        train_reconstruction: rounded(m.train.reconstruction, 5),
        train_kl: rounded(m.train.kl, 5),
        train_gap: rounded(m.train.gap, 5),
        valid_reconstruction: rounded(m.valid.reconstruction, 5),
        valid_kl: rounded(m.valid.kl, 5),
        valid_gap: rounded(m.valid.gap, 5),
        graphs_per_second: rounded(m.graphs_per_second, 1),
        seconds: rounded(m.seconds, 1),
    }));
    write_atomically(&run_dir.join("metrics.csv"), csv.as_bytes())?;
    training_curves(&run_dir.join("curves.png"), history)
}

/// Trains and returns the metrics of every epoch (including resumed ones).
pub fn train(options: TrainOptions) -> Result<Vec<EpochMetrics>> {
    options.config.check()?;
    let device = options.backend.device();
    let train_device = device.clone().autodiff();
    let dataset = crate::prepare::load_dataset(&options.dataset)?;
    let (mut run, saved) = Run::<TrainConfig, EpochMetrics>::open(
        &options.run_dir,
        &RUN_KIND,
        options.resume,
        options.config.epochs,
        || {
            let mut config = options.config.clone();
            // Standardise the gap with training-split statistics (kept in the weights).
            (config.model.gap_mean_ev, config.model.gap_std_ev) = train_gap_statistics(&dataset);
            Ok((config, NoState {}))
        },
    )?;
    let config = run.progress.config.clone();
    let (mut model, optimizer) = match saved {
        Some(saved) => (
            load_weights(&saved.weights, &train_device)?.0,
            restored_optimizer(config.grad_clip_norm, saved.optimizer)?,
        ),
        None => (
            initial_model(&config, &train_device)?,
            optimizer_for(config.grad_clip_norm),
        ),
    };
    let first_epoch = run.progress.done;

    // A resumed run trains with its checkpoint's settings: check those too.
    config.check()?;
    let train_examples = examples(
        &dataset,
        Split::Train,
        config.max_train,
        config.model.max_atoms,
    )?;
    let valid_examples = examples(
        &dataset,
        Split::Valid,
        config.max_valid,
        config.model.max_atoms,
    )?;
    run.write_config()?;

    let batches_per_epoch = train_examples.len().div_ceil(config.batch_size);
    let mut stepper = Stepper::new(
        optimizer,
        config.learning_rate,
        config.shards,
        &config.model,
        &train_device,
    )
    .with_state_dropout(config.decoder_dropout)
    .with_encoder_dropout(config.encoder_dropout)
    .training_only(config.trainable);
    let mut schedule = match config.schedule {
        LearningRateSchedule::Constant => None,
        LearningRateSchedule::Cosine => Some(CosineRates::new(
            config.learning_rate,
            config.final_learning_rate,
            config.epochs * batches_per_epoch,
            first_epoch * batches_per_epoch,
        )?),
    };
    let mut learning_rate = config.learning_rate;
    for epoch in first_epoch..config.epochs {
        let started = Instant::now();
        let order = epoch_order(config.seed, epoch, train_examples.len());
        let bar = progress_bar(options.progress, batches_per_epoch, epoch, config.epochs);
        let mut sums: Option<LossSums> = None;
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            let batch: Vec<&Example> = chunk.iter().map(|&i| &train_examples[i]).collect();
            let weights = LossWeights {
                kl: kl_weight_at(&config, epoch as f64 + b as f64 / batches_per_epoch as f64),
                gap: config.gap_weight,
            };
            let stream = NoiseStream::Train { epoch };
            let noise = batch_noise(config.seed, stream, b, batch.len(), config.model.latent);
            if let Some(schedule) = schedule.as_mut() {
                learning_rate = schedule.next_rate();
                stepper.set_learning_rate(learning_rate);
            }
            let (updated, batch_sums) = stepper.step(model, &batch, &noise, weights);
            model = updated;
            sums = LossSums::accumulate(sums, batch_sums);
            bar.set_position(b as u64 + 1);
            // Losses stay on the device; read back only every few batches.
            let last = b + 1 == batches_per_epoch;
            if (b + 1) % READ_BACK_EVERY == 0 || last {
                let sums = sums.as_ref().expect("a batch was added");
                let mean = sums.read();
                if !mean.is_finite() {
                    bail!(
                        "the loss became {:.4} (reconstruction) {:.4} (KL) {:.4} (gap) by epoch {}, batch {}; lower the learning rate (now {}) or resume from the last checkpoint in {}",
                        mean.reconstruction,
                        mean.kl,
                        mean.gap,
                        epoch + 1,
                        b + 1,
                        learning_rate,
                        options.run_dir.display()
                    );
                }
                bar.set_message(format!(
                    "rec {:.3}  kl {:.2}  gap {:.3}  {:.0} graphs/s",
                    mean.reconstruction,
                    mean.kl,
                    mean.gap,
                    sums.molecules() as f64 / started.elapsed().as_secs_f64()
                ));
            }
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let eval_model = model.valid();
        let valid_refs: Vec<&Example> = valid_examples.iter().collect();
        let valid = evaluate_loss(
            &eval_model,
            &valid_refs,
            &config.model,
            config.seed,
            &device,
        );
        let (train, seen) = sums.map_or((PassLoss::default(), 0), |s| (s.read(), s.molecules()));
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            kl_weight: kl_weight_at(&config, (epoch + 1) as f64),
            learning_rate,
            train,
            valid,
            graphs_per_second: seen as f64 / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "epoch {}/{}: train rec {:.4} kl {:.3} gap {:.4} | valid rec {:.4} kl {:.3} gap {:.4} | {:.0} graphs/s, {:.0} s",
            metrics.epoch,
            config.epochs,
            metrics.train.reconstruction,
            metrics.train.kl,
            metrics.train.gap,
            valid.reconstruction,
            valid.kl,
            valid.gap,
            metrics.graphs_per_second,
            metrics.seconds
        );
        let _ = std::io::stderr().flush();
        run.log(epoch + 1, metrics);
        // The checkpoint keeps f32 so that a resumed run is the same run.
        let weights = save_weights(&eval_model, &config.model, Precision::Full);
        let optimizer = stepper.optimizer.into_bytes().context("optimizer state")?;
        run.save(&weights, &optimizer)?;
        run.write(
            "weights.bin",
            &save_weights(&eval_model, &config.model, Precision::Half),
        )?;
        write_metrics(&options.run_dir, &run.progress.history)?;
    }
    if config.prior.components > 0 {
        let eval_model = model.valid();
        let started = Instant::now();
        let (prior, summary) = fit_prior(
            &eval_model,
            &config.model,
            &dataset,
            config.max_train,
            &config.prior,
            &device,
        )?;
        eprintln!(
            "prior fitted in {} EM rounds, {:.0} s (mean log-likelihood {:.2})",
            summary.iterations,
            started.elapsed().as_secs_f64(),
            summary.mean_log_likelihood
        );
        let mut model_config = config.model.clone();
        model_config.prior = prior;
        run.write(
            "weights.bin",
            &save_weights(&eval_model, &model_config, Precision::Half),
        )?;
    }
    Ok(run.progress.history)
}

/// The network a new run starts from: `init_weights` when given, else seeded.
fn initial_model(config: &TrainConfig, device: &Device) -> Result<GraphVae> {
    let Some(path) = &config.init_weights else {
        return Ok(seeded_model(&config.model, device, config.seed));
    };
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading --init-weights {}", path.display()))?;
    let (mut model, loaded) = load_weights(&bytes, device)
        .with_context(|| format!("loading --init-weights {}", path.display()))?;
    // The prior is refitted after training and the gap statistics are the
    // training split's; everything else fixes the network's shape.
    let shape = |c: &ModelConfig| (c.hidden, c.latent, c.layers, c.max_atoms, c.token_embedding);
    if shape(&loaded) != shape(&config.model) {
        bail!(
            "--init-weights {} holds a network of hidden {}, latent {}, layers {}, max_atoms {}, token_embedding {}, but this run's [model] asks for {:?} (hidden, latent, layers, max_atoms, token_embedding): set the run's model settings to the file's",
            path.display(),
            loaded.hidden,
            loaded.latent,
            loaded.layers,
            loaded.max_atoms,
            loaded.token_embedding,
            shape(&config.model)
        );
    }
    match (loaded.ring_closure, config.model.ring_closure) {
        (false, true) => model.decoder = model.decoder.with_ring_closure(device),
        (true, false) => bail!(
            "--init-weights {} has the decoder's ring-closure adjustment, but this run's [model] has ring_closure = false: pass --ring-closure (or set ring_closure = true under [model])",
            path.display()
        ),
        _ => {}
    }
    Ok(model)
}

/// A new model whose initial weights `seed` fixes. burn draws them from the
/// backend's generator, lazily, on first use (which could be on a shard's
/// thread), so they are all drawn here, at once, on this thread.
pub fn seeded_model(config: &ModelConfig, device: &Device, seed: u64) -> GraphVae {
    device.seed(seed);
    let model = GraphVae::new(config, device);
    draw_initial_values(&model);
    model
}

/// Draws every parameter's initial values now, on this thread, from the
/// device's seeded generator (burn draws them lazily, in whatever order
/// they are first used).
pub(crate) fn draw_initial_values(module: &impl Module) {
    struct Draw;
    impl ModuleVisitor for Draw {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Draw);
}

/// The seeded order in which epoch `epoch` visits `n` training examples.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SeededRng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)).shuffle(&mut order);
    order
}

pub(crate) fn progress_bar(
    visible: bool,
    batches: usize,
    epoch: usize,
    epochs: usize,
) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    ProgressBar::new(batches as u64).with_style(
        ProgressStyle::with_template(&format!(
            "epoch {}/{epochs} {{bar:30}} {{pos}}/{{len}} {{msg}} eta {{eta}}",
            epoch + 1
        ))
        .expect("valid template"),
    )
}

/// Reconstruction, KL and gap losses per epoch, train against validation.
pub fn training_curves(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let line = |f: fn(&EpochMetrics) -> f64| plot::points(history, |m| m.epoch as f64, f);
    let pair =
        |title, train: fn(&EpochMetrics) -> f64, valid: fn(&EpochMetrics) -> f64| plot::Panel {
            title,
            x_desc: "epoch",
            series: vec![
                ("train", plot::BLUE, line(train)),
                ("valid", plot::RED, line(valid)),
            ],
            legend: plotters::chart::SeriesLabelPosition::UpperRight,
        };
    plot::line_panels(
        path,
        &[
            pair(
                "reconstruction (nats/molecule)",
                |m| m.train.reconstruction,
                |m| m.valid.reconstruction,
            ),
            pair("KL (nats/molecule)", |m| m.train.kl, |m| m.valid.kl),
            pair(
                "gap head (standardised MSE)",
                |m| m.train.gap,
                |m| m.valid.gap,
            ),
        ],
    )
}
