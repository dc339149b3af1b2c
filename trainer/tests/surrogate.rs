//! The gap surrogate through the `trainer` CLI on a small real QM9 subset:
//! its error falls with training, it resumes, and the search refuses broken
//! surrogate weights and a scorer that is not there with a way forward.

mod common;

use common::{ok, prepared_data_dir, scratch_dir, trainer};

fn valid_mae(metrics: &str) -> Vec<f64> {
    metrics
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn surrogate_error_falls_and_training_resumes() {
    let data = prepared_data_dir();
    let data = data.to_str().unwrap();
    let dir = scratch_dir("surrogate");
    let args = |epochs: &'static str, resume: bool| {
        let mut a = vec![
            "train-surrogate",
            "--data-dir",
            data,
            "--out",
            "run",
            "--max-train",
            "3000",
            "--max-valid",
            "1000",
            "--hidden",
            "48",
            "--layers",
            "3",
            "--epochs",
            epochs,
        ];
        if resume {
            a.push("--resume");
        }
        a
    };
    ok(&trainer(&args("2", false), &dir));
    let stdout = ok(&trainer(&args("4", true), &dir));
    assert!(stdout.contains("test MAE"), "{stdout}");
    let metrics = std::fs::read_to_string(dir.join("run/metrics.csv")).unwrap();
    let mae = valid_mae(&metrics);
    assert_eq!(mae.len(), 4, "{metrics}");
    // The QM9 gap spread is about 1.3 eV; a model that learned anything beats 1 eV,
    // and more epochs help.
    assert!(mae[3] < mae[0] && mae[3] < 1.0, "{mae:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap())
            .unwrap();
    assert!(summary["test_mae_ev"].as_f64().unwrap() < 1.0);
}

#[test]
fn search_refuses_broken_surrogates_and_a_missing_scorer() {
    let data = prepared_data_dir();
    let data = data.to_str().unwrap();
    let dir = scratch_dir("search-errors");
    std::fs::write(dir.join("bad.bin"), b"MOLGAPS1 not really").unwrap();
    let weights = common::workspace_root().join("public/weights.bin");
    let weights = weights.to_str().unwrap();
    let out = trainer(
        &[
            "optimize",
            "--data-dir",
            data,
            "--weights",
            weights,
            "--surrogate",
            "bad.bin",
        ],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.bin"), "{stderr}");
    // Port 9 (discard) has no scorer: the message says how to start one.
    let shipped = common::workspace_root().join("public/surrogate.bin");
    let out = trainer(
        &[
            "optimize",
            "--data-dir",
            data,
            "--surrogate",
            shipped.to_str().unwrap(),
            "--weights",
            weights,
            "--scorer",
            "http://127.0.0.1:9",
        ],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no scorer answers") && stderr.contains("-p scorer -- serve"),
        "{stderr}"
    );
}

#[test]
fn predict_gives_gaps_beside_qm9_and_flags_bad_input() {
    let data = prepared_data_dir();
    let dataset = training::prepare::load_dataset(&data.join("qm9.bin")).unwrap();
    let data = data.to_str().unwrap();
    let dir = scratch_dir("predict");
    let qm9_best_f = "FC(F)(F)CC(F)(F)F";
    let qm9_gap = dataset
        .records
        .iter()
        .find(|r| r.canonical == qm9_best_f)
        .map(|r| r.gap_ev())
        .expect("QM9 holds its best fluorinated molecule");
    let surrogate = common::workspace_root().join(training::surrogate::DEFAULT_SURROGATE);
    // The first field of each line: a name after the SMILES is ignored.
    let input = format!("{qm9_best_f}\nC1C2C3CC4C1C3CC24\nOCC ethanol\nCC(C\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["predict", "--data-dir", data, "--file", "-", "CCCCCCCCCC"])
        .arg("--surrogate")
        .arg(&surrogate)
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One unparsable input: the others are still answered, and the exit code says so.
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0][2], "predicted_gap_ev");
    let row = |input: &str| rows.iter().find(|r| r[0] == input).unwrap().clone();

    let best = row(qm9_best_f);
    let given: f64 = best[3].parse().unwrap();
    assert!((given - qm9_gap).abs() < 1e-3, "{best:?} vs {qm9_gap}");
    let predicted: f64 = best[2].parse().unwrap();
    assert!((predicted - qm9_gap).abs() < 1.0, "{best:?}");
    assert_eq!(best[4], "yes");

    // A cage with a framework QM9 lacks; decane is not in QM9 (10 heavy atoms).
    assert_eq!(row("C1C2C3CC4C1C3CC24")[4], "no");
    let decane = row("CCCCCCCCCC");
    assert_eq!(decane[3], "-");
    assert_eq!(row("OCC")[1], "CCO");
    assert!(row("CC(C")[1].starts_with("error: "));
    std::fs::remove_dir_all(dir).ok();
}
