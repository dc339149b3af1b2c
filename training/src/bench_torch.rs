//! `trainer bench torch`: training throughput of burn beside a PyTorch
//! (+ PyTorch Geometric) copy of the same model (`benchmarks/torch_vae.py`),
//! on the same batches, in alternating runs.
//!
//! The batches are the training loop's own (epoch 1's seeded order and
//! noise), built once and written to a safetensors file that the PyTorch
//! copy reads, so both sides time the model's compute on identical work.
//! Each side starts from a fresh model, runs two warm-up batches, then times
//! the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use model_core::data::{Qm9Dataset, Split};
use model_core::model::construction::{ATOM_CHOICES, BOND_CHOICES};
use model_core::model::inputs::{MAX_FREE_VALENCE, links_width};
use safetensors::tensor::{Dtype, TensorView};

use crate::backend::Backend;
use crate::bench::Throughput;
use crate::examples::{BatchTensors, Example, examples};
use crate::python;
use crate::step::{LossSums, LossWeights, NoiseStream, Stepper, batch_noise, optimizer_for};
use crate::train::{TrainConfig, epoch_order, seeded_model};

pub const TORCH_VAE_PY: &str = include_str!("../../benchmarks/torch_vae.py");

/// Warm-up batches each side runs before timing.
const WARMUP: usize = 2;

pub struct TorchBenchOptions {
    /// burn's backend.
    pub backend: Backend,
    /// PyTorch's device ("cpu", "cuda").
    pub torch_device: String,
    /// Batches to time (0 = a full epoch of the training split).
    pub batches: usize,
    /// Runs per side, alternating burn and PyTorch.
    pub runs: usize,
    /// Shards per batch on the burn side (see [`crate::step`]).
    pub shards: usize,
    /// PyTorch's intra-op threads.
    pub threads: usize,
    /// Python with torch (benchmarks/requirements.txt).
    pub python: PathBuf,
}

pub struct TorchBench {
    pub backend: &'static str,
    pub torch_device: String,
    pub batches: usize,
    pub graphs: usize,
    pub shards: usize,
    pub burn: Throughput,
    pub torch: Throughput,
    pub burn_parameters: usize,
    pub torch_parameters: usize,
    pub torch_version: String,
    pub aggregation: String,
    pub torch_threads: usize,
}

impl TorchBench {
    /// burn's median over PyTorch's.
    pub fn ratio(&self) -> f64 {
        self.burn.median / self.torch.median
    }
}

pub fn bench_torch(dataset: &Qm9Dataset, options: &TorchBenchOptions) -> Result<TorchBench> {
    let config = TrainConfig::default();
    let model_config = &config.model;
    let pool = examples(dataset, Split::Train, 0, model_config.max_atoms)?;
    let order = epoch_order(config.seed, 0, pool.len());
    let mut batches: Vec<Vec<&Example>> = order
        .chunks(config.batch_size)
        .map(|chunk| chunk.iter().map(|&i| &pool[i]).collect())
        .collect();
    if options.batches > 0 {
        batches.truncate(options.batches + WARMUP);
    }
    ensure!(
        batches.len() > WARMUP,
        "too few batches to time (give --batches)"
    );
    let noise: Vec<Vec<f32>> = batches
        .iter()
        .enumerate()
        .map(|(b, batch)| {
            let stream = NoiseStream::Train { epoch: 0 };
            batch_noise(config.seed, stream, b, batch.len(), model_config.latent)
        })
        .collect();
    let graphs: usize = batches[WARMUP..].iter().map(Vec::len).sum();

    let dir = std::env::temp_dir().join(format!("molgap-bench-torch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("batches.safetensors");
    export_batches(&batches, &noise, &config, &file)?;

    let mut burn_runs = Vec::new();
    let mut torch_runs = Vec::new();
    let mut torch_report = None;
    let mut burn_parameters = 0;
    for run in 0..options.runs.max(1) {
        eprintln!("run {}/{}: burn", run + 1, options.runs.max(1));
        let (per_second, parameters) =
            burn_throughput(options.backend, &batches, &noise, &config, options.shards);
        burn_runs.push(per_second);
        burn_parameters = parameters;
        eprintln!("run {}/{}: PyTorch", run + 1, options.runs.max(1));
        let report = torch_throughput(
            &options.python,
            &file,
            options.threads,
            &options.torch_device,
        )?;
        torch_runs.push(report.graphs_per_second);
        torch_report = Some(report);
    }
    std::fs::remove_dir_all(&dir).ok();
    let torch = torch_report.expect("at least one run");
    if torch.parameters != burn_parameters {
        bail!(
            "the PyTorch copy has {} parameters, burn's model {}: the copy is not faithful",
            torch.parameters,
            burn_parameters
        );
    }
    Ok(TorchBench {
        backend: options.backend.name(),
        torch_device: options.torch_device.clone(),
        batches: batches.len() - WARMUP,
        graphs,
        shards: options.shards,
        burn: Throughput::of(burn_runs),
        torch: Throughput::of(torch_runs),
        burn_parameters,
        torch_parameters: torch.parameters,
        torch_version: torch.torch,
        aggregation: torch.aggregation,
        torch_threads: torch.threads,
    })
}

/// Trains a fresh model over `batches` as `trainer train` does; graphs per
/// second after the warm-up, and the parameter count.
fn burn_throughput(
    backend: Backend,
    batches: &[Vec<&Example>],
    noise: &[Vec<f32>],
    config: &TrainConfig,
    shards: usize,
) -> (f64, usize) {
    let device = backend.device().autodiff();
    let mut model = seeded_model(&config.model, &device, config.seed);
    let parameters = model.num_params();
    let mut stepper = Stepper::new(
        optimizer_for(config.grad_clip_norm),
        config.learning_rate,
        shards,
        &config.model,
        &device,
    );
    let weights = LossWeights {
        kl: config.kl_weight,
        gap: config.gap_weight,
    };
    let mut started = Instant::now();
    let mut timed = None;
    for (b, (batch, noise)) in batches.iter().zip(noise).enumerate() {
        if b == WARMUP {
            started = Instant::now();
        }
        let (updated, sums) = stepper.step(model, batch, noise, weights);
        model = updated;
        if b >= WARMUP {
            timed = LossSums::accumulate(timed, sums);
        }
    }
    // The one read-back, which also waits for a GPU to finish.
    let timed = timed.expect("batches past the warm-up");
    let loss = timed.read();
    assert!(loss.is_finite(), "burn's loss diverged: {loss:?}");
    (
        timed.molecules() as f64 / started.elapsed().as_secs_f64(),
        parameters,
    )
}

#[derive(serde::Deserialize)]
struct TorchReport {
    graphs_per_second: f64,
    parameters: usize,
    torch: String,
    aggregation: String,
    threads: usize,
}

fn torch_throughput(
    python: &Path,
    file: &Path,
    threads: usize,
    device: &str,
) -> Result<TorchReport> {
    let stdout = python::run_script(
        python,
        TORCH_VAE_PY,
        &[
            file.to_str().context("a UTF-8 temporary path")?,
            "--threads",
            &threads.to_string(),
            "--warmup",
            &WARMUP.to_string(),
            "--device",
            device,
        ],
    )
    .context(
        "the PyTorch copy did not run; install it with \
         `python3 -m venv .venv-bench && .venv-bench/bin/pip install -r benchmarks/requirements.txt`",
    )?;
    serde_json::from_str(stdout.trim()).context("the PyTorch copy printed no report")
}

/// Writes each batch's tensors as `"{batch}.{field}"` and the model's sizes
/// and training settings as the file's `config` metadata.
fn export_batches(
    batches: &[Vec<&Example>],
    noise: &[Vec<f32>],
    config: &TrainConfig,
    path: &Path,
) -> Result<()> {
    let device = Device::flex();
    let mut tensors: Vec<(String, TensorData)> = Vec::new();
    for (b, (batch, noise)) in batches.iter().zip(noise).enumerate() {
        let t = BatchTensors::new(batch, noise, &config.model, &device);
        let mut add = |name: &str, data: TensorData| tensors.push((format!("{b}.{name}"), data));
        add("node_states", t.graphs.node_states.to_data());
        add("node_graph", t.graphs.node_graph.to_data());
        add("sizes", t.graphs.sizes.to_data());
        for (order, edges) in t.graphs.edges.iter().enumerate() {
            if let Some(edges) = edges {
                add(&format!("edges{order}.src"), edges.src.to_data());
                add(&format!("edges{order}.dst"), edges.dst.to_data());
            }
        }
        let d = &t.decoding;
        add("prev_token", d.prev_token.to_data());
        add("prev_links", d.prev_links.to_data());
        add("atom_target", d.atom_target.to_data());
        add("atom_forbidden", d.atom_forbidden.to_data());
        add("atom_weight", d.atom_weight.to_data());
        add("bond_new", d.bond_new.to_data());
        add("bond_earlier", d.bond_earlier.to_data());
        add("bond_distance", d.bond_distance.to_data());
        add("bond_free", d.bond_free.to_data());
        add("bond_target", d.bond_target.to_data());
        add("bond_forbidden", d.bond_forbidden.to_data());
        add("gaps", t.gaps.to_data());
        add("noise", t.noise.to_data());
    }
    let views = tensors
        .iter()
        .map(|(name, data)| Ok((name.as_str(), view(data)?)))
        .collect::<Result<Vec<_>>>()?;
    let m = &config.model;
    let meta = serde_json::json!({
        "hidden": m.hidden,
        "latent": m.latent,
        "layers": m.layers,
        "max_atoms": m.max_atoms,
        "token_embedding": m.token_embedding,
        "links_width": links_width(m.max_atoms),
        "atom_choices": ATOM_CHOICES,
        "bond_choices": BOND_CHOICES,
        "free_valence_rows": MAX_FREE_VALENCE as usize + 1,
        "learning_rate": config.learning_rate,
        "grad_clip_norm": config.grad_clip_norm,
        "kl_weight": config.kl_weight,
        "gap_weight": config.gap_weight,
    });
    let metadata = HashMap::from([("config".to_string(), meta.to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), path)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn view(data: &TensorData) -> Result<TensorView<'_>> {
    let dtype = match data.dtype() {
        DType::F32 => Dtype::F32,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::U8 => Dtype::U8,
        DType::Bool(_) if data.as_bytes().len() == data.num_elements() => Dtype::BOOL,
        other => bail!("no safetensors type for {other:?}"),
    };
    Ok(TensorView::new(
        dtype,
        data.shape().to_vec(),
        data.as_bytes(),
    )?)
}
