//! Helpers shared by the end-to-end tests in `tests/`.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// The project's virtualenv Python (made by `scripts/setup.sh`).
pub fn project_python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing; run scripts/setup.sh first",
        venv.display()
    );
    venv
}

/// The verified QM9 wheel in `data/cache`, downloaded if missing.
pub fn qm9_wheel() -> PathBuf {
    training::wheel::ensure_wheel(&workspace_root().join("data/cache"), &project_python())
        .expect("QM9 wheel")
}
