//! `trainer train-surrogate`: fits the 2D-graph gap regressor on QM9, and
//! refits it on DFT results during a search (active learning).
//!
//! The loss is the mean absolute error (the figure QM9 models report) on the
//! standardised gap; the learning rate follows burn's cosine annealing from `learning_rate`
//! to `final_learning_rate`. The weights with the best validation MAE are kept.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use model_core::chem::Molecule;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::surrogate::{
    GapSurrogate, SurrogateBatch, SurrogateConfig, predict_gaps_ev,
};
use model_core::model::weights::{load_surrogate, save_surrogate};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::fsio::{csv_text, rounded, write_atomically};
use crate::plot::{self, BLUE, Panel, RED};
use crate::resumable::{Progress, Run, RunKind, RunLength};
use crate::schedule::CosineRates;
use crate::step::{optimizer_for, restored_optimizer};
use crate::train::{epoch_order, progress_bar, train_gap_statistics};

/// Where the shipped surrogate weights live.
pub const DEFAULT_SURROGATE: &str = "public/surrogate.bin";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurrogateTrainConfig {
    pub model: SurrogateConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub final_learning_rate: f64,
    pub grad_clip_norm: f32,
    pub seed: u64,
    /// Train on at most this many training molecules (0 = all).
    pub max_train: usize,
    /// Validate on at most this many validation molecules (0 = all).
    pub max_valid: usize,
}

impl RunLength for SurrogateTrainConfig {
    fn length(&mut self) -> &mut usize {
        &mut self.epochs
    }
}

impl Default for SurrogateTrainConfig {
    fn default() -> Self {
        SurrogateTrainConfig {
            model: SurrogateConfig::default(),
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-3,
            final_learning_rate: 1e-5,
            grad_clip_norm: 5.0,
            seed: 1,
            max_train: 0,
            max_valid: 0,
        }
    }
}

pub struct SurrogateOptions {
    pub config: SurrogateTrainConfig,
    pub dataset: PathBuf,
    pub run_dir: PathBuf,
    pub backend: Backend,
    pub resume: bool,
    pub progress: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SurrogateEpoch {
    pub epoch: usize,
    pub learning_rate: f64,
    pub train_mae_ev: f64,
    pub valid_mae_ev: f64,
    pub graphs_per_second: f64,
    pub seconds: f64,
}

/// Kept beside the history: the weights in `surrogate.bin` are those of the
/// best validation MAE so far.
#[derive(Serialize, Deserialize)]
struct BestSoFar {
    best_valid_mae_ev: f64,
}

const RUN_KIND: RunKind = RunKind {
    magic: b"MOLGAPSC",
    unit: "epoch",
};

#[derive(Clone, Debug, Serialize)]
pub struct SurrogateReport {
    pub history: Vec<SurrogateEpoch>,
    pub best_epoch: usize,
    pub valid_mae_ev: f64,
    pub test_mae_ev: f64,
    pub test_molecules: usize,
}

/// A molecule and its gap in eV.
pub type Labelled = (Molecule, f64);

fn labelled(dataset: &Qm9Dataset, split: Split, limit: usize) -> Vec<Labelled> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    dataset
        .split_records(split)
        .take(limit)
        .map(|r| (r.molecule.clone(), r.gap_ev()))
        .collect()
}

fn batch_tensors(
    batch: &[&Labelled],
    config: &SurrogateConfig,
    device: &Device,
) -> (SurrogateBatch, Tensor<2>) {
    let molecules: Vec<&Molecule> = batch.iter().map(|(m, _)| m).collect();
    let targets: Vec<f32> = batch
        .iter()
        .map(|(_, g)| ((g - config.gap_mean_ev) / config.gap_std_ev) as f32)
        .collect();
    (
        SurrogateBatch::new(&molecules, device),
        Tensor::from_data(TensorData::new(targets, [batch.len(), 1]), device),
    )
}

/// Mean absolute error in eV of `model` on `data`.
pub fn mae_ev(
    model: &GapSurrogate,
    config: &SurrogateConfig,
    data: &[&Labelled],
    device: &Device,
) -> f64 {
    let molecules: Vec<&Molecule> = data.iter().map(|(m, _)| m).collect();
    let predicted = predict_gaps_ev(model, config, &molecules, device);
    let total: f64 = predicted
        .iter()
        .zip(data)
        .map(|(p, (_, g))| (p - g).abs())
        .sum();
    total / data.len().max(1) as f64
}

/// One optimizer step on `batch`; returns the batch's standardised L1 loss.
fn step(
    model: GapSurrogate,
    optimizer: &mut ModuleOptimizer,
    batch: &[&Labelled],
    config: &SurrogateConfig,
    learning_rate: f64,
    device: &Device,
) -> Result<(GapSurrogate, f64)> {
    let (inputs, targets) = batch_tensors(batch, config, device);
    let loss = model.l1_loss(&inputs, targets);
    let value = loss.clone().into_scalar::<f32>() as f64;
    if !value.is_finite() {
        bail!("the surrogate's loss became {value}; lower the learning rate");
    }
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    Ok((optimizer.step(learning_rate, model, grads), value))
}

fn write_metrics(run_dir: &Path, history: &[SurrogateEpoch]) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Row {
        epoch: usize,
        learning_rate: f64,
        train_mae_ev: f64,
        valid_mae_ev: f64,
        graphs_per_second: f64,
        seconds: f64,
    }
    let csv = csv_text(history.iter().map(|m| Row {
        epoch: m.epoch,
        learning_rate: rounded(m.learning_rate, 6),
        train_mae_ev: rounded(m.train_mae_ev, 4),
        valid_mae_ev: rounded(m.valid_mae_ev, 4),
        graphs_per_second: rounded(m.graphs_per_second, 1),
        seconds: rounded(m.seconds, 1),
    }));
    write_atomically(&run_dir.join("metrics.csv"), csv.as_bytes())?;
    let line = |f: fn(&SurrogateEpoch) -> f64| plot::points(history, |m| m.epoch as f64, f);
    plot::line_panels(
        &run_dir.join("curves.png"),
        &[Panel {
            title: "gap surrogate MAE (eV)",
            x_desc: "epoch",
            series: vec![
                ("train", BLUE, line(|m| m.train_mae_ev)),
                ("valid", RED, line(|m| m.valid_mae_ev)),
            ],
            legend: plotters::chart::SeriesLabelPosition::UpperRight,
        }],
    )
}

/// Trains the surrogate; the best weights (by validation MAE) end up in
/// `run_dir/surrogate.bin`, the test MAE of those in `run_dir/summary.json`.
pub fn train_surrogate(options: SurrogateOptions) -> Result<SurrogateReport> {
    let device = options.backend.device();
    let train_device = device.clone().autodiff();
    let best_path = options.run_dir.join("surrogate.bin");

    let dataset = crate::prepare::load_dataset(&options.dataset)?;
    let (mut run, saved) = Run::<SurrogateTrainConfig, SurrogateEpoch, BestSoFar>::open(
        &options.run_dir,
        &RUN_KIND,
        options.resume,
        options.config.epochs,
        || {
            let mut config = options.config.clone();
            let (mean, std) = train_gap_statistics(&dataset);
            config.model.gap_mean_ev = mean;
            config.model.gap_std_ev = std;
            let best = BestSoFar {
                best_valid_mae_ev: f64::INFINITY,
            };
            Ok((config, best))
        },
    )?;
    let config = run.progress.config.clone();
    let (mut model, mut optimizer) = match saved {
        Some(saved) => (
            load_surrogate(&saved.weights, &train_device)?.0,
            restored_optimizer(config.grad_clip_norm, saved.optimizer)?,
        ),
        None => (
            GapSurrogate::new(&config.model, &train_device),
            optimizer_for(config.grad_clip_norm),
        ),
    };
    let first_epoch = run.progress.done;
    let train = labelled(&dataset, Split::Train, config.max_train);
    let valid = labelled(&dataset, Split::Valid, config.max_valid);
    let test = labelled(&dataset, Split::Test, 0);
    drop(dataset);
    run.write_config()?;

    let batches = train.len().div_ceil(config.batch_size);
    let mut schedule = CosineRates::new(
        config.learning_rate,
        config.final_learning_rate,
        config.epochs * batches,
        first_epoch * batches,
    )?;
    for epoch in first_epoch..config.epochs {
        let started = Instant::now();
        let order = epoch_order(config.seed, epoch, train.len());
        let bar = progress_bar(options.progress, batches, epoch, config.epochs);
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        let mut learning_rate = config.learning_rate;
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            let batch: Vec<&Labelled> = chunk.iter().map(|&i| &train[i]).collect();
            learning_rate = schedule.next_rate();
            let (next, loss) = step(
                model,
                &mut optimizer,
                &batch,
                &config.model,
                learning_rate,
                &train_device,
            )?;
            model = next;
            loss_sum += loss * batch.len() as f64;
            seen += batch.len();
            bar.set_position(b as u64 + 1);
            bar.set_message(format!(
                "MAE {:.3} eV  {:.0} graphs/s",
                loss_sum / seen as f64 * config.model.gap_std_ev,
                seen as f64 / started.elapsed().as_secs_f64()
            ));
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let eval_model = model.valid();
        let valid_refs: Vec<&Labelled> = valid.iter().collect();
        let valid_mae = mae_ev(&eval_model, &config.model, &valid_refs, &device);
        let metrics = SurrogateEpoch {
            epoch: epoch + 1,
            learning_rate,
            train_mae_ev: loss_sum / seen.max(1) as f64 * config.model.gap_std_ev,
            valid_mae_ev: valid_mae,
            graphs_per_second: seen as f64 / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "epoch {}/{}: train MAE {:.4} eV | valid MAE {:.4} eV | {:.0} graphs/s, {:.0} s",
            metrics.epoch,
            config.epochs,
            metrics.train_mae_ev,
            metrics.valid_mae_ev,
            metrics.graphs_per_second,
            metrics.seconds
        );
        run.log(epoch + 1, metrics);
        let weights = save_surrogate(&eval_model, &config.model);
        let best = &mut run.progress.state.best_valid_mae_ev;
        if valid_mae < *best {
            *best = valid_mae;
            write_atomically(&best_path, &weights)?;
        }
        let optimizer = optimizer.into_bytes().context("optimizer state")?;
        run.save(&weights, &optimizer)?;
        write_metrics(&options.run_dir, &run.progress.history)?;
    }

    let (best_model, best_config) = load_surrogate(
        &std::fs::read(&best_path).context("the best surrogate weights are missing")?,
        &device,
    )?;
    let test_refs: Vec<&Labelled> = test.iter().collect();
    let test_mae = mae_ev(&best_model, &best_config, &test_refs, &device);
    let Progress { history, state, .. } = run.progress;
    let best_epoch = history
        .iter()
        .min_by(|a, b| a.valid_mae_ev.total_cmp(&b.valid_mae_ev))
        .map_or(0, |m| m.epoch);
    let report = SurrogateReport {
        history,
        best_epoch,
        valid_mae_ev: state.best_valid_mae_ev,
        test_mae_ev: test_mae,
        test_molecules: test.len(),
    };
    write_atomically(
        &options.run_dir.join("summary.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
}

pub fn load_surrogate_file(
    path: &Path,
    device: &Device,
) -> Result<(GapSurrogate, SurrogateConfig)> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read surrogate weights {}; train some with `trainer train-surrogate` or pass --surrogate",
            path.display()
        )
    })?;
    load_surrogate(&bytes, device)
        .with_context(|| format!("cannot load surrogate weights {}", path.display()))
}

/// How long and how fast a refit runs.
#[derive(Clone, Copy, Debug)]
pub struct RefitSettings {
    pub steps: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// Active learning: fine-tunes `model` on `discovered` (gaps on the QM9
/// scale), each step mixing a batch of them with as many QM9 `replay`
/// molecules so the refit does not forget the rest of chemical space.
pub fn refit(
    model: &GapSurrogate,
    config: &SurrogateConfig,
    discovered: &[Labelled],
    replay: &[Labelled],
    settings: RefitSettings,
    device: &Device,
) -> Result<GapSurrogate> {
    if discovered.is_empty() {
        return Ok(model.clone());
    }
    let train_device = device.clone().autodiff();
    // Through bytes, so the parameters are created trainable on the autodiff device.
    let (mut trained, _) = load_surrogate(&save_surrogate(model, config), &train_device)?;
    let mut optimizer = optimizer_for(5.0);
    let mut rng = SeededRng::new(settings.seed);
    let half = 32;
    for _ in 0..settings.steps {
        let mut batch: Vec<&Labelled> = (0..half.min(discovered.len().max(8)))
            .map(|_| &discovered[rng.below(discovered.len())])
            .collect();
        if !replay.is_empty() {
            batch.extend((0..half).map(|_| &replay[rng.below(replay.len())]));
        }
        let (next, _) = step(
            trained,
            &mut optimizer,
            &batch,
            config,
            settings.learning_rate,
            &train_device,
        )?;
        trained = next;
    }
    Ok(trained.valid())
}
