//! Helpers for the trainer's CLI tests: the real binary, the project's
//! Python, the real QM9 wheel and dataset.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing; run scripts/setup.sh first",
        venv.display()
    );
    venv
}

pub fn qm9_wheel() -> PathBuf {
    training::wheel::ensure_wheel(&workspace_root().join("data/cache"), &python())
        .expect("QM9 wheel")
}

/// `data/` with a prepared `qm9.bin` (prepared first if missing; the write is
/// atomic, so test binaries racing here are safe).
pub fn prepared_data_dir() -> PathBuf {
    // Tests of one binary run as threads: prepare once for all of them.
    static DATA: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let data = workspace_root().join("data");
        training::prepare::ensure_prepared(&data, &python()).expect("prepared QM9");
        data
    })
    .clone()
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("molgap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

pub fn trainer(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run trainer")
}

/// The command's stdout, after checking it succeeded (showing stderr if not).
pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
