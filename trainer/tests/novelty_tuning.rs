//! `trainer tune-novelty` through the CLI, from the shipped maximum-likelihood
//! weights on real QM9: novelty rises, a run resumes where it stopped, and
//! the tuned weights sample valid molecules.

mod common;

use common::{ok, prepared_data_dir, scratch_dir, trainer, workspace_root};
use model_core::chem::{canonical_smiles, parse_smiles};

/// Rows of `metrics.csv`: (step, novelty).
fn novelty_by_step(csv: &str) -> Vec<(usize, f64)> {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "novelty").unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].parse().unwrap(), cells[column].parse().unwrap())
        })
        .collect()
}

#[test]
fn tuning_raises_novelty_resumes_exactly_and_samples_validly() {
    let data = prepared_data_dir();
    let data = data.to_str().unwrap();
    let dir = scratch_dir("novelty");
    let weights = workspace_root().join(training::generate::DEFAULT_WEIGHTS);
    let weights = weights.to_str().unwrap();
    let run = |out: &str, steps: &str, resume: bool| {
        let mut args = vec![
            "tune-novelty",
            "--weights",
            weights,
            "--data-dir",
            data,
            "--out",
            out,
            "--steps",
            steps,
            "--eval-every",
            "3",
            "--batch-size",
            "256",
            "--eval-samples",
            "1024",
            "--learning-rate",
            "1e-3",
        ];
        if resume {
            args.push("--resume");
        }
        let out = trainer(&args, &dir);
        ok(&out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Interrupted after 3 steps and resumed, against 6 steps in one go.
    run("split", "3", false);
    let stderr = run("split", "6", true);
    assert!(stderr.contains("resuming split after step 3"), "{stderr}");
    run("whole", "6", false);
    let read = |path: &str| std::fs::read(dir.join(path)).unwrap();
    assert!(
        read("split/weights.bin") == read("whole/weights.bin"),
        "a resumed run ended with other weights than an uninterrupted one"
    );

    let rows = novelty_by_step(&String::from_utf8(read("whole/metrics.csv")).unwrap());
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 3, 6]);
    let (before, after) = (rows[0].1, rows[2].1);
    assert!(
        after > before + 0.02,
        "novelty {before} -> {after} did not rise"
    );
    assert!(dir.join("whole/curves.png").exists());

    let sampled = ok(&trainer(
        &["sample", "--weights", "whole/weights.bin", "--n", "300"],
        &dir,
    ));
    assert_eq!(sampled.lines().count(), 300);
    for smiles in sampled.lines() {
        let m = parse_smiles(smiles).unwrap_or_else(|e| panic!("{smiles}: {e}"));
        assert_eq!(canonical_smiles(&m), smiles);
    }
    std::fs::remove_dir_all(dir).ok();
}
