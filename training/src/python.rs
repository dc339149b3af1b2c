//! Finding the project's Python (the virtualenv that `scripts/setup.sh` makes),
//! used for pip downloads and for RDKit comparisons; our own code never needs it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    run_script_with_input(python, source, args, "")
}

/// [`run_script`] with `input` on the script's standard input.
pub fn run_script_with_input(
    python: &Path,
    source: &str,
    args: &[&str],
    input: &str,
) -> Result<String> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(source)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {}; run scripts/setup.sh to create the project's virtualenv",
                python.display()
            )
        })?;
    // Write from a thread so a script that prints before reading all its
    // input cannot deadlock against a full pipe.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    // A script that exits without reading everything closes the pipe; its
    // exit status below says what went wrong.
    let _ = writer.join();
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
