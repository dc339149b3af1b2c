//! Finding the project's Python (the virtualenv that `scripts/setup.sh` makes),
//! used for pip downloads and for RDKit comparisons; our own code never needs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// `--python` if given, else `$MOLGAP_PYTHON`, else `.venv/bin/python` when it
/// exists, else `python3` from the PATH.
pub fn resolve(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("MOLGAP_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(".venv/bin/python");
    if venv.exists() {
        return venv.to_path_buf();
    }
    PathBuf::from("python3")
}

/// Runs a Python script given as source text with `args`, returning stdout.
pub fn run_script(python: &Path, source: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(python)
        .arg("-c")
        .arg(source)
        .args(args)
        .output()
        .with_context(|| {
            format!(
                "cannot run {}; run scripts/setup.sh to create the project's virtualenv",
                python.display()
            )
        })?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
