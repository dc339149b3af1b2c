//! The `trainer` binary as a user runs it, on the real QM9 wheel.

mod common;

use common::{ok, qm9_wheel, scratch_dir, trainer, workspace_root};
use model_core::data::{Qm9Dataset, Split};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prepare_writes_a_checked_split_dataset_and_info_reads_it() {
    let dir = scratch_dir("prepare");
    let wheel = qm9_wheel();
    let args = [
        "prepare",
        "--data-dir",
        "d1",
        "--wheel",
        wheel.to_str().unwrap(),
    ];
    let out = trainer(&args, &dir);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "rows read         130831",
        "molecules kept    130831",
        "rows rejected          0",
        "distinct canonical SMILES 130744",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }

    let bytes = std::fs::read(dir.join("d1/qm9.bin")).unwrap();
    let dataset = Qm9Dataset::from_bytes(&bytes).unwrap();
    assert_eq!(dataset.records.len(), 130_831);
    let sizes: Vec<usize> = Split::ALL
        .iter()
        .map(|&s| dataset.split.get(s).len())
        .collect();
    assert_eq!(sizes, vec![104_664, 13_083, 13_084]);
    // Each heavy-atom count above 6 is spread over the splits in proportion.
    for split in [Split::Valid, Split::Test] {
        let nines = dataset
            .split_records(split)
            .filter(|r| r.molecule.heavy_atom_count() == 9)
            .count();
        let share = nines as f64 / dataset.split.get(split).len() as f64;
        assert!((share - 0.8326).abs() < 0.01, "{split:?}: {share}");
    }

    // Same seed, same bytes; another seed, another split.
    let again = trainer(
        &[
            "prepare",
            "--data-dir",
            "d2",
            "--wheel",
            wheel.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(again.status.success());
    assert!(std::fs::read(dir.join("d2/qm9.bin")).unwrap() == bytes);
    let other = trainer(
        &[
            "prepare",
            "--data-dir",
            "d3",
            "--seed",
            "7",
            "--wheel",
            wheel.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(other.status.success());
    let other = Qm9Dataset::from_bytes(&std::fs::read(dir.join("d3/qm9.bin")).unwrap()).unwrap();
    assert_ne!(other.split.test, dataset.split.test);

    let info = trainer(&["info", "--data-dir", "d1"], &dir);
    let stdout = text(&info.stdout);
    assert!(info.status.success());
    assert!(
        stdout.contains("130831 molecules") && stdout.contains("test     13084"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn damaged_inputs_fail_with_a_way_forward() {
    let dir = scratch_dir("damaged");
    std::fs::create_dir_all(dir.join("data")).unwrap();

    let out = trainer(&["info"], &dir);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("run `trainer prepare` first"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        dir.join("data/qm9.bin"),
        b"MOLGAPQ9\x01\0\0\0garbagegarbage",
    )
    .unwrap();
    let out = trainer(&["info"], &dir);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("corrupt"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(dir.join("fake.whl"), b"not a wheel").unwrap();
    let out = trainer(&["prepare", "--wheel", "fake.whl"], &dir);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not the qm9pack 1.0.3 wheel"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn canon_prints_canonical_forms_and_reasons() {
    let dir = scratch_dir("canon");
    let file = dir.join("more.smi");
    std::fs::write(&file, "CC(N)O 1\n\nC=C=CNN\n").unwrap();
    let out = trainer(
        &[
            "canon",
            "OCC",
            "C1=CC=CC=C1",
            "C(C",
            "[CH3]",
            "--file",
            file.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2), "some inputs are bad");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "OCC\tCCO\tC2H6O\t-");
    assert_eq!(lines[1], "C1=CC=CC=C1\tc1ccccc1\tC6H6\t-");
    assert!(lines[2].starts_with("C(C\terror: invalid SMILES"));
    assert!(lines[3].contains("radical"));
    // The file's lines follow, each with the rules it breaks.
    assert_eq!(lines[4], "CC(N)O\tCC(N)O\tC2H7NO\tgeminal_heteroatoms");
    assert_eq!(
        lines[5],
        "C=C=CNN\tC=C=CNN\tC3H6N2\tcumulated_double_bonds,acyclic_n_n_bond,heteroatom_on_acyclic_alkene"
    );
    let ok = trainer(&["canon", "--ignore-stereo", "C[C@@H](O)F"], &dir);
    assert!(ok.status.success());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_lists_every_command() {
    let out = trainer(&["--help"], &workspace_root());
    let stdout = text(&out.stdout);
    for command in ["prepare", "info", "canon", "bench"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

/// Training settings have one source: the defaults in code, a TOML file over
/// them, flags over both; `--print-config` shows the result, and feeding it
/// back as `--config` gives the same settings.
#[test]
fn print_config_shows_defaults_file_and_flags_layered() {
    let dir = scratch_dir("config");
    let defaults = ok(&trainer(&["train", "--print-config"], &dir));
    assert!(defaults.contains("epochs = 40"), "{defaults}");
    assert!(defaults.contains("[prior]"), "{defaults}");
    std::fs::write(
        dir.join("partial.toml"),
        "epochs = 4\n[model]\nlatent = 16\n",
    )
    .unwrap();
    let layered = ok(&trainer(
        &[
            "train",
            "--config",
            "partial.toml",
            "--seed",
            "7",
            "--hidden",
            "64",
            "--prior-components",
            "3",
            "--kl-weight",
            "0.01",
            "--schedule",
            "constant",
            "--final-learning-rate",
            "0.00002",
            "--decoder-dropout",
            "0.15",
            "--trainable",
            "encoder",
            "--encoder-dropout",
            "0.05",
            "--print-config",
        ],
        &dir,
    ));
    // Flags land in their tables beside the file's keys there.
    for expected in [
        "epochs = 4",
        "latent = 16",
        "hidden = 64",
        "components = 3",
        "kl_weight = 0.01",
        "schedule = \"constant\"",
        "final_learning_rate = 0.00002",
        "decoder_dropout = 0.15",
        "trainable = \"encoder\"",
        "encoder_dropout = 0.05",
        "seed = 7",
        "batch_size = 128",
    ] {
        assert!(layered.contains(expected), "{expected} missing:\n{layered}");
    }
    std::fs::write(dir.join("full.toml"), &layered).unwrap();
    let again = ok(&trainer(
        &["train", "--config", "full.toml", "--print-config"],
        &dir,
    ));
    assert_eq!(again, layered);
    std::fs::write(dir.join("typo.toml"), "epoch = 4\n").unwrap();
    let refused = trainer(&["train", "--config", "typo.toml", "--print-config"], &dir);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("not a valid training config"));
    // A setting no run can use is refused before the data is read or the
    // run directory made; an encoder-only fine-tune needs a trained network.
    for (flags, reason) in [
        (
            ["--decoder-dropout", "1.5"],
            "decoder_dropout is a rate in [0, 1)",
        ),
        (
            ["--encoder-dropout", "1.0"],
            "encoder_dropout is a rate in [0, 1)",
        ),
        (["--trainable", "encoder"], "give it one with init_weights"),
    ] {
        let refused = trainer(&["train", flags[0], flags[1], "--out", "runs/bad"], &dir);
        assert!(!refused.status.success(), "{flags:?} ran");
        assert!(
            text(&refused.stderr).contains(reason),
            "{flags:?}: {}",
            text(&refused.stderr)
        );
        assert!(!dir.join("runs/bad").exists(), "{flags:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn latent_paths_bridge_jumps_with_single_edits() {
    use model_core::chem::edit::single_edit_neighbours;
    use model_core::chem::{Element, canonical_smiles, parse_smiles};
    let dir = scratch_dir("paths");
    let weights = workspace_root().join("public/weights.bin");
    let weights = weights.to_str().unwrap();
    let path = |extra: &[&str]| -> Vec<Vec<String>> {
        let mut args = vec![
            "interpolate",
            "CC(C)(C)C#N",
            "OC1=CC=CN=C1",
            "--weights",
            weights,
        ];
        args.extend(extra);
        ok(&trainer(&args, &dir))
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    };
    let straight = path(&["--straight"]);
    let refined = path(&[]);
    assert!(refined.len() > straight.len(), "{refined:?}");
    // Both start and end at the decodings of the two ends of the line.
    assert_eq!(refined[0][1], straight[0][1]);
    assert_eq!(refined.last().unwrap()[1], straight.last().unwrap()[1]);
    let ts: Vec<f64> = refined.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    // Every bridged step is one edit of its neighbour, checked here by
    // enumerating the edits of either molecule.
    let one_edit = |a: &str, b: &str| {
        let (a, b) = (parse_smiles(a).unwrap(), parse_smiles(b).unwrap());
        let of = |x: &model_core::chem::Molecule, y: &model_core::chem::Molecule| {
            single_edit_neighbours(x, &Element::ALL, 9)
                .iter()
                .any(|m| canonical_smiles(m) == canonical_smiles(y))
        };
        of(&a, &b) || of(&b, &a)
    };
    let bridged = refined.iter().filter(|r| r[2] == "edit").count();
    assert!(bridged > 0, "no jump was bridged: {refined:?}");
    for pair in refined.windows(2) {
        let claimed_one = pair[1][3] == "one edit";
        assert_eq!(one_edit(&pair[0][1], &pair[1][1]), claimed_one, "{pair:?}");
        if pair[1][2] == "edit" {
            assert!(claimed_one, "{pair:?}");
        }
    }

    // Over random test pairs the refined and bridged paths take more
    // one-edit steps than the evenly spaced ones.
    let data = common::prepared_data_dir();
    ok(&trainer(
        &[
            "interpolate",
            "--test-pairs",
            "6",
            "--weights",
            weights,
            "--data-dir",
            data.to_str().unwrap(),
            "--json",
            "paths.json",
        ],
        &dir,
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("paths.json")).unwrap()).unwrap();
    let share = |i: usize| json["paths"][i]["one_edit_steps"].as_f64().unwrap();
    assert_eq!(json["paths"][0]["variant"], "evenly spaced");
    assert_eq!(json["paths"][2]["variant"], "refined and bridged");
    assert!(share(2) > share(0), "{json}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn refined_latents_give_back_what_the_mean_misses() {
    use model_core::chem::{Molecule, canonical_smiles};
    use model_core::model::refine::{Outcome, Refinement, refined_latents};
    use model_core::model::sample::{decode_greedy, encode_means};
    let root = workspace_root();
    let device = training::backend::Backend::Flex.device();
    let weights = root.join("public/weights.bin");
    let (model, config) = training::generate::load_model(&weights, &device).unwrap();
    let data = common::prepared_data_dir();
    let dataset = training::prepare::load_dataset(&training::prepare::dataset_path(&data)).unwrap();
    let test: Vec<_> = dataset.split_records(Split::Test).collect();
    let picked = training::realism::spread(&test, 300);
    let molecules: Vec<&Molecule> = picked.iter().map(|r| &r.molecule).collect();
    let refined = refined_latents(&model, &config, &molecules, Refinement::default(), &device);
    let latent = config.latent;
    let means = encode_means(&model, &molecules, &device);
    // Checked apart from the refinement's own bookkeeping: greedy decoding of
    // every latent it reports as giving its molecule back does so.
    let decoded = decode_greedy(&model, &config, &refined.z, &device);
    let (mut at_mean, mut moved) = (0, 0);
    for (i, outcome) in refined.outcomes.iter().enumerate() {
        let row = i * latent..(i + 1) * latent;
        let back = canonical_smiles(&decoded[i]) == picked[i].canonical;
        assert_eq!(
            back,
            outcome.given_back(),
            "{}: {outcome:?}",
            picked[i].canonical
        );
        match outcome {
            Outcome::Mean => {
                at_mean += 1;
                assert_eq!(&refined.z[row.clone()], &means[row]);
                assert_eq!(refined.moved_sigmas[i], 0.0);
            }
            Outcome::Refined { steps } => {
                moved += 1;
                assert!(*steps >= 1 && *steps <= 40);
                assert!(refined.moved_sigmas[i] > 0.0);
            }
            Outcome::Missed => {}
            Outcome::Unbuildable => panic!("QM9's test molecules are all buildable"),
        }
    }
    // The shipped network's mean misses about one test molecule in ten
    // (`trainer evaluate`); refinement gives back nearly all of them.
    assert!(moved >= 10, "{at_mean} at the mean, {moved} refined");
    assert!(
        at_mean + moved >= 290,
        "{at_mean} at the mean, {moved} refined"
    );
    let again = refined_latents(&model, &config, &molecules, Refinement::default(), &device);
    assert_eq!(again, refined, "the same molecules give the same latents");

    // The CLI: a molecule the mean misses, encoded with --refine, decodes to itself.
    let dir = scratch_dir("refine");
    let w = weights.to_str().unwrap();
    let i = refined
        .outcomes
        .iter()
        .position(|o| matches!(o, Outcome::Refined { .. }))
        .unwrap();
    let smiles = picked[i].canonical.as_str();
    let decode_of = |extra: &[&str]| {
        let mut args = vec!["encode", smiles, "--weights", w];
        args.extend(extra);
        let z = ok(&trainer(&args, &dir));
        ok(&trainer(&["decode", z.trim(), "--weights", w], &dir))
            .split('\t')
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(decode_of(&[]), smiles);
    assert_eq!(decode_of(&["--refine"]), smiles);
    // A molecule the decoder cannot build says so instead of searching.
    let too_big = trainer(
        &["encode", "CCCCCCCCCCCC", "--refine", "--weights", w],
        &dir,
    );
    ok(&too_big);
    assert!(
        text(&too_big.stderr).contains("cannot build this molecule"),
        "{}",
        text(&too_big.stderr)
    );
    // A latent path starts at that molecule, not at its mean's decoding.
    let path = ok(&trainer(
        &[
            "interpolate",
            smiles,
            "OC1=CC=CN=C1",
            "--straight",
            "--weights",
            w,
        ],
        &dir,
    ));
    let ends: Vec<&str> = path
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(ends[0], smiles, "{path}");
    assert_eq!(*ends.last().unwrap(), "Oc1cccnc1", "{path}");
    std::fs::remove_dir_all(dir).ok();
}
