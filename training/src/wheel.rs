//! The QM9 source: the `qm9pack==1.0.3` wheel from PyPI, read as a zip.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use model_core::data::Qm9Row;
use sha2::{Digest, Sha256};

pub const WHEEL_FILE: &str = "qm9pack-1.0.3-py3-none-any.whl";
pub const WHEEL_REQUIREMENT: &str = "qm9pack==1.0.3";
pub const WHEEL_SHA256: &str = "1d88c2988007c6778e717ee3224cf511bd60e10732ebe3b7ed500ea5af05c9f0";
/// Rows across the three CSV parts.
pub const QM9_ROWS: usize = 130_831;
const CSV_PARTS: [&str; 3] = [
    "qm9pack/data/qm9_part1.csv",
    "qm9pack/data/qm9_part2.csv",
    "qm9pack/data/qm9_part3.csv",
];

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Returns the path of a verified wheel in `cache_dir`, downloading it with
/// `pip download --no-deps` when it is missing or does not match the checksum.
pub fn ensure_wheel(cache_dir: &Path, python: &Path) -> Result<PathBuf> {
    let path = cache_dir.join(WHEEL_FILE);
    if path.exists() {
        if sha256_file(&path)? == WHEEL_SHA256 {
            return Ok(path);
        }
        eprintln!(
            "{} does not match its checksum; downloading it again",
            path.display()
        );
        std::fs::remove_file(&path)?;
    }
    std::fs::create_dir_all(cache_dir)?;
    eprintln!("downloading {WHEEL_REQUIREMENT} from PyPI (about 100 MB) ...");
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            WHEEL_REQUIREMENT,
            "-d",
        ])
        .arg(cache_dir)
        .status()
        .with_context(|| {
            format!(
                "cannot run {} to download QM9; run scripts/setup.sh or pass --wheel",
                python.display()
            )
        })?;
    if !status.success() {
        bail!(
            "pip download {WHEEL_REQUIREMENT} failed ({status}); check access to PyPI, or download the wheel yourself and pass --wheel"
        );
    }
    verify_wheel(&path)?;
    Ok(path)
}

pub fn verify_wheel(path: &Path) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != WHEEL_SHA256 {
        bail!(
            "{} has sha256 {actual}, expected {WHEEL_SHA256}; it is not the qm9pack 1.0.3 wheel",
            path.display()
        );
    }
    Ok(())
}

/// Calls `each` with every QM9 row, in file order, reading the CSVs straight
/// out of the wheel.
pub fn for_each_row(wheel: &Path, mut each: impl FnMut(Qm9Row<'_>)) -> Result<()> {
    let file = File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{} is not a readable zip", wheel.display()))?;
    for part in CSV_PARTS {
        let entry = zip
            .by_name(part)
            .with_context(|| format!("{part} is missing from {}", wheel.display()))?;
        let mut reader = csv::Reader::from_reader(BufReader::with_capacity(1 << 20, entry));
        let columns = Columns::find(reader.headers()?).with_context(|| format!("in {part}"))?;
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .with_context(|| format!("reading {part}"))?
        {
            each(columns.row(&record));
        }
    }
    Ok(())
}

/// All QM9 SMILES in file order.
pub fn read_smiles(wheel: &Path) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(QM9_ROWS);
    for_each_row(wheel, |row| out.push(row.smiles.to_string()))?;
    Ok(out)
}

struct Columns {
    index: usize,
    smiles: usize,
    n_atoms: usize,
    stoichiometry: usize,
    elements: usize,
    xyz: usize,
    homo: usize,
    lumo: usize,
    gap: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Columns> {
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .with_context(|| format!("CSV has no column {name}"))
        };
        Ok(Columns {
            index: col("Index")?,
            smiles: col("SMILES")?,
            n_atoms: col("N_atoms")?,
            stoichiometry: col("Stoichiometry")?,
            elements: col("Elements")?,
            xyz: col("XYZ_Ang")?,
            homo: col("HOMO_au")?,
            lumo: col("LUMO_au")?,
            gap: col("HOMO_LUMO_gap_au")?,
        })
    }

    fn row<'a>(&self, r: &'a csv::StringRecord) -> Qm9Row<'a> {
        let f = |i: usize| r.get(i).unwrap_or("");
        Qm9Row {
            index: f(self.index),
            smiles: f(self.smiles),
            n_atoms: f(self.n_atoms),
            stoichiometry: f(self.stoichiometry),
            elements: f(self.elements),
            xyz: f(self.xyz),
            homo: f(self.homo),
            lumo: f(self.lumo),
            gap: f(self.gap),
        }
    }
}
