//! `trainer prepare`: QM9 wheel → checked records → seeded split → `qm9.bin`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::data::{Qm9Dataset, Split};

use crate::fsio::write_atomically;
use crate::wheel;

pub const DATASET_FILE: &str = "qm9.bin";
/// The default split seed; changing it changes every reported test metric.
pub const DEFAULT_SPLIT_SEED: u64 = 20_240_601;

pub struct PrepareOptions {
    pub data_dir: PathBuf,
    /// A wheel to use instead of the cached or downloaded one.
    pub wheel: Option<PathBuf>,
    pub seed: u64,
    pub python: PathBuf,
    pub progress: bool,
}

pub fn dataset_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DATASET_FILE)
}

pub fn wheel_cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache")
}

/// Loads a prepared dataset, with errors that say how to get one.
pub fn load_dataset(path: &Path) -> Result<Qm9Dataset> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "no prepared dataset at {}; run `trainer prepare` first",
            path.display()
        )
    })?;
    Qm9Dataset::from_bytes(&bytes).with_context(|| format!("cannot load {}", path.display()))
}

/// The path of a loadable dataset in `data_dir`, preparing it first (quietly,
/// with the default seed) when it is missing or unreadable.
pub fn ensure_prepared(data_dir: &Path, python: &Path) -> Result<PathBuf> {
    let path = dataset_path(data_dir);
    if load_dataset(&path).is_err() {
        prepare(&PrepareOptions {
            data_dir: data_dir.to_path_buf(),
            wheel: None,
            seed: DEFAULT_SPLIT_SEED,
            python: python.to_path_buf(),
            progress: false,
        })?;
    }
    Ok(path)
}

/// A QM9 row that did not become a record.
pub struct Rejection {
    pub index: String,
    pub smiles: String,
    pub kind: &'static str,
    pub reason: String,
}

pub struct PrepareReport {
    pub dataset_path: PathBuf,
    pub file_bytes: usize,
    pub rows: usize,
    pub rejected: Vec<Rejection>,
    pub split_sizes: [usize; 3],
    /// Per heavy-atom count: molecules in train, valid, test.
    pub by_heavy_atoms: BTreeMap<usize, [usize; 3]>,
    pub charged: usize,
    pub distinct_canonical: usize,
    pub seed: u64,
    pub parse_seconds: f64,
    pub load_seconds: f64,
}

pub fn prepare(options: &PrepareOptions) -> Result<PrepareReport> {
    let wheel_path = match &options.wheel {
        Some(path) => {
            wheel::verify_wheel(path)?;
            path.clone()
        }
        None => wheel::ensure_wheel(&wheel_cache_dir(&options.data_dir), &options.python)?,
    };

    let bar = if options.progress {
        ProgressBar::new(wheel::QM9_ROWS as u64).with_style(
            ProgressStyle::with_template(
                "parsing QM9 {bar:40} {pos}/{len} rows  {per_sec}  eta {eta}",
            )
            .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut records = Vec::with_capacity(wheel::QM9_ROWS);
    let mut rejected = Vec::new();
    let mut rows = 0;
    wheel::for_each_row(&wheel_path, |row| {
        rows += 1;
        match row.to_record() {
            Ok(record) => records.push(record),
            Err(e) => rejected.push(Rejection {
                index: row.index.to_string(),
                smiles: row.smiles.to_string(),
                kind: e.kind(),
                reason: e.to_string(),
            }),
        }
        if rows % 1024 == 0 {
            bar.set_position(rows as u64);
        }
    })?;
    bar.finish_and_clear();
    let parse_seconds = started.elapsed().as_secs_f64();

    let source_sha256 = wheel::WHEEL_SHA256.to_string();
    let dataset = Qm9Dataset::new(source_sha256, records, options.seed);
    let path = dataset_path(&options.data_dir);
    let bytes = dataset.to_bytes();
    write_atomically(&path, &bytes)?;

    // Read the file back, both to time the load and to prove it decodes.
    let load_started = Instant::now();
    let reloaded = load_dataset(&path)?;
    let load_seconds = load_started.elapsed().as_secs_f64();
    anyhow::ensure!(
        reloaded.records.len() == dataset.records.len(),
        "the written dataset does not read back whole"
    );

    Ok(summarise(
        &dataset,
        path,
        bytes.len(),
        rows,
        rejected,
        parse_seconds,
        load_seconds,
    ))
}

fn summarise(
    dataset: &Qm9Dataset,
    dataset_path: PathBuf,
    file_bytes: usize,
    rows: usize,
    rejected: Vec<Rejection>,
    parse_seconds: f64,
    load_seconds: f64,
) -> PrepareReport {
    let mut by_heavy_atoms: BTreeMap<usize, [usize; 3]> = BTreeMap::new();
    let mut split_sizes = [0; 3];
    for (s, split) in Split::ALL.into_iter().enumerate() {
        for record in dataset.split_records(split) {
            by_heavy_atoms
                .entry(record.molecule.heavy_atom_count())
                .or_default()[s] += 1;
            split_sizes[s] += 1;
        }
    }
    let charged = dataset
        .records
        .iter()
        .filter(|r| r.molecule.atoms().iter().any(|a| a.charge != 0))
        .count();
    let distinct_canonical = dataset
        .records
        .iter()
        .map(|r| r.canonical.as_str())
        .collect::<HashSet<_>>()
        .len();
    PrepareReport {
        dataset_path,
        file_bytes,
        rows,
        rejected,
        split_sizes,
        by_heavy_atoms,
        charged,
        distinct_canonical,
        seed: dataset.split.seed,
        parse_seconds,
        load_seconds,
    }
}

impl fmt::Display for PrepareReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept: usize = self.split_sizes.iter().sum();
        writeln!(f, "QM9 prepared: {}", self.dataset_path.display())?;
        writeln!(
            f,
            "  rows read        {:>7}   ({:.1} s, {:.0} rows/s)",
            self.rows,
            self.parse_seconds,
            self.rows as f64 / self.parse_seconds
        )?;
        writeln!(f, "  molecules kept   {kept:>7}")?;
        writeln!(f, "  rows rejected    {:>7}", self.rejected.len())?;
        writeln!(
            f,
            "  with charged atoms {:>5}   (zwitterions, and nitro groups as [N+](=O)[O-])",
            self.charged
        )?;
        writeln!(f, "  distinct canonical SMILES {}", self.distinct_canonical)?;
        writeln!(
            f,
            "  file             {:.1} MB, loads in {:.0} ms",
            self.file_bytes as f64 / 1e6,
            self.load_seconds * 1e3
        )?;
        writeln!(f)?;
        writeln!(f, "split (seed {})", self.seed)?;
        writeln!(f, "  heavy atoms     train   valid    test   total")?;
        for (atoms, counts) in &self.by_heavy_atoms {
            let total: usize = counts.iter().sum();
            writeln!(
                f,
                "  {atoms:>11} {:>9} {:>7} {:>7} {total:>7}",
                counts[0], counts[1], counts[2]
            )?;
        }
        let [train, valid, test] = self.split_sizes;
        writeln!(
            f,
            "  {:>11} {train:>9} {valid:>7} {test:>7} {kept:>7}",
            "all"
        )?;
        if !self.rejected.is_empty() {
            writeln!(f)?;
            let mut by_kind: BTreeMap<&str, Vec<&Rejection>> = BTreeMap::new();
            for r in &self.rejected {
                by_kind.entry(r.kind).or_default().push(r);
            }
            writeln!(f, "rejected rows by reason")?;
            for (kind, rows) in by_kind {
                writeln!(f, "  {kind}: {}", rows.len())?;
                for r in rows.iter().take(5) {
                    writeln!(f, "    #{} {}: {}", r.index, r.smiles, r.reason)?;
                }
            }
        }
        Ok(())
    }
}
