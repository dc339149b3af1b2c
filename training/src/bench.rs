//! `trainer bench smiles`: our SMILES parse + canonical write over all of QM9,
//! side by side with RDKit's `MolFromSmiles` + `MolToSmiles` on the same input.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use model_core::chem::{canonical_smiles, parse_smiles};
use model_core::model::sample::Target;

use crate::python;

pub const RDKIT_CANON_PY: &str = include_str!("../py/rdkit_canon.py");

pub struct SmilesBench {
    pub molecules: usize,
    pub parse_seconds: f64,
    pub canonical_seconds: f64,
    pub rdkit: Result<RdkitRun, String>,
    /// Molecules whose canonical SMILES is byte-identical to RDKit's.
    pub identical_to_rdkit: Option<usize>,
}

pub struct RdkitRun {
    pub seconds: f64,
    pub version: String,
    pub canonical: Vec<String>,
}

/// Runs RDKit (from `python`) over `smiles`, returning its canonical strings
/// and the time it spent inside RDKit.
pub fn rdkit_canonical(python: &Path, smiles: &[String]) -> Result<RdkitRun> {
    let dir = std::env::temp_dir().join(format!("molgap-rdkit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("in.smi");
    let output = dir.join("out.smi");
    std::fs::write(&input, smiles.join("\n") + "\n")?;
    let stdout = python::run_script(
        python,
        RDKIT_CANON_PY,
        &[
            input.to_str().expect("utf-8 temp path"),
            output.to_str().expect("utf-8 temp path"),
        ],
    )?;
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim()).context("RDKit script printed no JSON")?;
    let canonical: Vec<String> = std::fs::read_to_string(&output)?
        .lines()
        .map(str::to_string)
        .collect();
    std::fs::remove_dir_all(&dir).ok();
    anyhow::ensure!(
        canonical.len() == smiles.len(),
        "RDKit wrote {} lines for {} SMILES",
        canonical.len(),
        smiles.len()
    );
    Ok(RdkitRun {
        seconds: report["seconds"]
            .as_f64()
            .context("no seconds in RDKit report")?,
        version: report["rdkit"].as_str().unwrap_or("?").to_string(),
        canonical,
    })
}

pub fn bench_smiles(smiles: &[String], python: &Path) -> Result<SmilesBench> {
    let started = Instant::now();
    let molecules: Vec<_> = smiles
        .iter()
        .map(|s| parse_smiles(s).with_context(|| format!("cannot parse {s}")))
        .collect::<Result<_>>()?;
    let parse_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let canonical: Vec<String> = molecules.iter().map(canonical_smiles).collect();
    let canonical_seconds = started.elapsed().as_secs_f64();

    let rdkit = rdkit_canonical(python, smiles).map_err(|e| format!("{e:#}"));
    let identical_to_rdkit = rdkit.as_ref().ok().map(|run| {
        run.canonical
            .iter()
            .zip(&canonical)
            .filter(|(a, b)| a == b)
            .count()
    });
    Ok(SmilesBench {
        molecules: smiles.len(),
        parse_seconds,
        canonical_seconds,
        rdkit,
        identical_to_rdkit,
    })
}

impl fmt::Display for SmilesBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.molecules as f64;
        let ours = self.parse_seconds + self.canonical_seconds;
        writeln!(
            f,
            "SMILES parse + canonical write, {} QM9 molecules, one thread",
            self.molecules
        )?;
        writeln!(f, "  {:<34} {:>10} {:>12}", "", "seconds", "molecules/s")?;
        writeln!(
            f,
            "  {:<34} {:>10.2} {:>12.0}",
            "model-core parse",
            self.parse_seconds,
            n / self.parse_seconds
        )?;
        writeln!(
            f,
            "  {:<34} {:>10.2} {:>12.0}",
            "model-core canonical write",
            self.canonical_seconds,
            n / self.canonical_seconds
        )?;
        writeln!(
            f,
            "  {:<34} {:>10.2} {:>12.0}",
            "model-core parse + canonical",
            ours,
            n / ours
        )?;
        match &self.rdkit {
            Ok(run) => {
                let label = format!("RDKit {} MolFrom+MolToSmiles", run.version);
                writeln!(
                    f,
                    "  {:<34} {:>10.2} {:>12.0}",
                    label,
                    run.seconds,
                    n / run.seconds
                )?;
                writeln!(f, "  speed-up over RDKit: {:.2}x", run.seconds / ours)?;
            }
            Err(e) => writeln!(f, "  RDKit not measured: {e}")?,
        }
        if let Some(same) = self.identical_to_rdkit {
            writeln!(
                f,
                "  canonical strings identical to RDKit's: {same}/{}",
                self.molecules
            )?;
        }
        Ok(())
    }
}

/// Peak resident memory of this process so far, in MiB (Linux; None elsewhere).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Median, lowest and highest of repeated throughput measurements.
#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Throughput {
    pub fn of(mut runs: Vec<f64>) -> Throughput {
        assert!(!runs.is_empty(), "a throughput needs a run");
        runs.sort_by(f64::total_cmp);
        let n = runs.len();
        let median = if n % 2 == 1 {
            runs[n / 2]
        } else {
            (runs[n / 2 - 1] + runs[n / 2]) / 2.0
        };
        Throughput {
            median,
            min: runs[0],
            max: runs[n - 1],
            runs: n,
        }
    }

    /// Highest over lowest: how far apart the runs were.
    pub fn spread(&self) -> f64 {
        self.max / self.min
    }
}

/// How `bench_model` measures training.
#[derive(Clone, Copy, Debug)]
pub struct TrainWindow {
    /// Each timed window runs whole batches until this many seconds have passed.
    pub seconds: f64,
    /// Timed windows, after two warm-up batches.
    pub repeats: usize,
    /// Shards per batch (see [`crate::step`]).
    pub shards: usize,
}

pub struct ModelBenchRow {
    pub backend: &'static str,
    pub train: Throughput,
    pub shards: usize,
    /// Molecules per second.
    pub sample: Throughput,
    pub mean_heavy_atoms: f64,
    pub peak_memory_mib: Option<f64>,
}

/// Training throughput (the training loop's own step: forward, backward over
/// shards, Adam, at the default batch) and sampling throughput on one backend.
pub fn bench_model(
    backend: crate::backend::Backend,
    weights: Option<&Path>,
    dataset: &model_core::data::Qm9Dataset,
    samples: usize,
    window: TrainWindow,
) -> Result<ModelBenchRow> {
    use model_core::model::{GraphVae, ModelConfig};

    use crate::examples::{Example, examples};
    use crate::step::{LossWeights, NoiseStream, Stepper, batch_noise, optimizer_for};
    use crate::train::TrainConfig;

    let device = backend.device();
    let (trained, config) = match weights {
        Some(path) => crate::generate::load_model(path, &device)?,
        None => {
            let config = ModelConfig::default();
            (GraphVae::new(&config, &device), config)
        }
    };
    // The same batches, loss weights, optimizer and step as `trainer train`.
    let train_config = TrainConfig::default();
    let batch = train_config.batch_size;
    let pool = examples(
        dataset,
        model_core::data::Split::Train,
        batch * 32,
        config.max_atoms,
    )?;
    let batches: Vec<Vec<&Example>> = pool.chunks(batch).map(|c| c.iter().collect()).collect();
    let train_device = device.clone().autodiff();
    let mut model = crate::train::seeded_model(&config, &train_device, train_config.seed);
    let mut stepper = Stepper::new(
        optimizer_for(train_config.grad_clip_norm),
        train_config.learning_rate,
        window.shards,
        &config,
        &train_device,
    );
    let weights = LossWeights {
        kl: train_config.kl_weight,
        gap: train_config.gap_weight,
    };
    let mut next = 0usize;
    let mut run_batch = |model: GraphVae| {
        let index = next % batches.len();
        next += 1;
        let batch = &batches[index];
        let noise = batch_noise(
            train_config.seed,
            NoiseStream::Train { epoch: 0 },
            index,
            batch.len(),
            config.latent,
        );
        (stepper.step(model, batch, &noise, weights).0, batch.len())
    };
    // The first batches warm caches and allocators.
    for _ in 0..2 {
        model = run_batch(model).0;
    }
    let mut runs = Vec::with_capacity(window.repeats);
    for _ in 0..window.repeats.max(1) {
        let started = Instant::now();
        let mut graphs = 0;
        while started.elapsed().as_secs_f64() < window.seconds {
            let (updated, size) = run_batch(model);
            model = updated;
            graphs += size;
        }
        runs.push(graphs as f64 / started.elapsed().as_secs_f64());
    }

    // Sampling as `trainer sample` runs it (seed 1, batch 2048), timed `repeats` times.
    let mut sample_runs = Vec::with_capacity(window.repeats);
    let mut molecules = Vec::new();
    for _ in 0..window.repeats.max(1) {
        let started = Instant::now();
        molecules = crate::generate::sample_parallel(
            &trained,
            &config,
            samples,
            1,
            2048,
            1.0,
            Target::Prior,
            &device,
        )?;
        sample_runs.push(samples as f64 / started.elapsed().as_secs_f64());
    }
    let mean_heavy_atoms = molecules
        .iter()
        .map(|s| s.molecule.heavy_atom_count())
        .sum::<usize>() as f64
        / molecules.len().max(1) as f64;
    Ok(ModelBenchRow {
        backend: backend.name(),
        train: Throughput::of(runs),
        shards: window.shards,
        sample: Throughput::of(sample_runs),
        mean_heavy_atoms,
        peak_memory_mib: peak_memory_mib(),
    })
}
