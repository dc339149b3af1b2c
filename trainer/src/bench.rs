//! `trainer bench smiles`: our SMILES parse + canonical write over all of QM9,
//! side by side with RDKit's `MolFromSmiles` + `MolToSmiles` on the same input.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use model_core::chem::{canonical_smiles, parse_smiles};

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
