//! A tiny gap search end to end: shipped VAE and surrogate weights, real QM9,
//! a real scorer (PySCF workers) on 127.0.0.1 at the STO-3G level.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e_tests::{project_python, workspace_root};
use model_core::chem::{Element, SmilesOptions, StereoPolicy, parse_smiles, parse_smiles_with};
use scorer::serve::{ServeConfig, serve};
use scorer::validate::Limits;
use scorer::workers::{Backend as DftBackend, WorkerConfig};
use search::run::FAILURES_THAT_STOP;
use search::state::{STATE_FILE, read_state};
use search::{Constraints, OptimizeOptions, SearchSettings, Strategy, optimize, parse_elements};
use training::backend::Backend;
use training::qm9_index::Qm9Index;

/// Starts a scorer in this process; returns its URL. It lives until the test process ends.
fn start_scorer(db: &Path) -> String {
    start_scorer_with(db, project_python())
}

/// A scorer whose workers run `python`.
fn start_scorer_with(db: &Path, python: PathBuf) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ServeConfig {
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        db: db.to_path_buf(),
        workers: WorkerConfig {
            python,
            job_timeout: Duration::from_secs(300),
            backend: DftBackend::Local {
                workers: 2,
                threads_per_worker: 1,
            },
        },
        queue_capacity: 100,
        limits: Limits {
            max_heavy_atoms: 12,
            max_molecules_per_request: 100,
        },
        allowed_origins: Vec::new(),
        max_body_bytes: 64 * 1024,
        token: None,
        extra_hosts: Vec::new(),
        header_timeout: Duration::from_secs(10),
        max_new_jobs_per_minute: 600,
        app_dir: None,
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(serve(config)).unwrap();
    });
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return url;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the scorer did not start on {url}");
}

fn options(out_dir: PathBuf, scorer_url: &str, rounds: usize, resume: bool) -> OptimizeOptions {
    options_with(Strategy::Latent, out_dir, scorer_url, rounds, resume)
}

fn options_with(
    strategy: Strategy,
    out_dir: PathBuf,
    scorer_url: &str,
    rounds: usize,
    resume: bool,
) -> OptimizeOptions {
    let root = workspace_root();
    let data = root.join("data");
    training::prepare::ensure_prepared(&data, &project_python()).expect("prepared QM9");
    OptimizeOptions {
        out_dir,
        weights: root.join(training::generate::DEFAULT_WEIGHTS),
        surrogate: root.join(training::surrogate::DEFAULT_SURROGATE),
        dataset: training::prepare::dataset_path(&data),
        backend: Backend::Flex,
        scorer_url: scorer_url.to_string(),
        constraints: Constraints {
            heavy_atoms: Some(9),
            elements: parse_elements("CNO").unwrap(),
            neutral: true,
            novel: true,
            known_ring_systems: true,
        },
        settings: SearchSettings {
            strategy,
            rounds,
            per_round: 2,
            finalists: 1,
            generations: 4,
            population: 4,
            samples: 16,
            prescreen_level: scorer_api::Level::Tiny,
            final_level: scorer_api::Level::Tiny,
            refit_steps: 20,
            seed: 3,
            ..SearchSettings::default()
        },
        resume,
        progress: false,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("molgap-search-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn qm9_reference() -> Qm9Index {
    let dataset = training::prepare::load_dataset(&training::prepare::dataset_path(
        &workspace_root().join("data"),
    ))
    .unwrap();
    Qm9Index::from_dataset(&dataset)
}

/// Every scored molecule meets the CNO task's constraints (new to QM9, built
/// from ring systems QM9 has) and has a DFT gap or a reason it has none: some
/// novel molecules cannot be embedded in 3D, and those jobs fail with that
/// reason. At least one molecule must score.
fn assert_constrained(state: &search::SearchState, known: &Qm9Index) {
    let mut gaps = 0;
    for s in &state.scored {
        let m = parse_smiles(&s.smiles).unwrap();
        assert_eq!(m.heavy_atom_count(), 9, "{}", s.smiles);
        assert!(
            m.atoms()
                .iter()
                .all(|a| a.charge == 0 && a.element != Element::F),
            "{}",
            s.smiles
        );
        assert!(s.novel && !known.contains(&s.smiles), "{}", s.smiles);
        assert!(known.has_ring_frameworks_of(&m), "{}", s.smiles);
        match (s.dft_gap_ev, &s.error) {
            (Some(gap), None) => {
                assert!((2.0..25.0).contains(&gap), "{} gap {gap}", s.smiles);
                gaps += 1;
            }
            (None, Some(reason)) => assert!(!reason.trim().is_empty(), "{}", s.smiles),
            other => panic!("{}: gap and error {other:?}", s.smiles),
        }
    }
    assert!(gaps > 0, "no scored molecule has a DFT gap");
}

#[test]
fn tiny_search_scores_constrained_novel_molecules_resumes_and_repeats() {
    let scratch = scratch("latent");
    let url = start_scorer(&scratch.join("jobs.sqlite"));

    let first = optimize(&options(scratch.join("a"), &url, 1, false)).expect("search");
    let state = &first.state;
    assert_eq!(state.rounds_done, 1);
    assert_eq!(state.scored.len(), 2, "{:?}", state.scored);

    let known = qm9_reference();
    assert_constrained(state, &known);
    // After the round a distribution moved to the best verified molecule:
    // its centre decodes to it.
    let best_verified = state
        .scored
        .iter()
        .filter_map(|s| Some((s.calibrated_gap_ev?, s.smiles.clone())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
        .1;
    assert_eq!(state.centred_on, std::slice::from_ref(&best_verified));
    let device = Backend::Flex.device();
    let (vae, vae_config) = training::generate::load_model(
        &workspace_root().join(training::generate::DEFAULT_WEIGHTS),
        &device,
    )
    .unwrap();
    let centres: Vec<f32> = state
        .distributions
        .iter()
        .flat_map(|d| d.mean.iter().copied())
        .collect();
    let decoded: Vec<String> =
        model_core::model::sample::decode_greedy(&vae, &vae_config, &centres, &device)
            .iter()
            .map(model_core::chem::canonical_smiles)
            .collect();
    assert!(
        decoded.contains(&best_verified),
        "{best_verified}: {decoded:?}"
    );
    // QM9's best C/N/O molecule with 9 heavy atoms, found from the data and scored as reference.
    let (best, gap) = state.qm9_best.clone().unwrap();
    assert!(gap > 10.0 && known.contains(&best), "{best} {gap}");
    assert!(state.qm9_best_final.as_ref().unwrap().dft_gap_ev.is_some());

    // Outputs: the ranked CSV (one row per result), the summary and both plots.
    let dir = scratch.join("a");
    let mut csv = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..7],
        [
            "rank",
            "smiles",
            "predicted_gap_ev",
            "dft_gap_ev",
            "level",
            "novel",
            "heavy_atoms"
        ]
    );
    assert_eq!(csv.records().count(), state.scored.len());
    for plot in ["best_gap.png", "gap_distribution.png"] {
        assert!(
            std::fs::metadata(dir.join(plot)).unwrap().len() > 5_000,
            "{plot}"
        );
    }

    // The verified molecules as an SD file that RDKit reads, every record
    // with its DFT geometry (hydrogens included) and every property.
    let verified = state
        .scored
        .iter()
        .filter(|s| s.level == state.settings.final_level && s.dft_gap_ev.is_some())
        .count();
    assert!(verified > 0);
    let read = std::process::Command::new(project_python())
        .args([
            "-c",
            "import json, sys\n\
             from rdkit import Chem\n\
             out = []\n\
             for m in Chem.SDMolSupplier(sys.argv[1], removeHs=False):\n\
             \x20   assert m is not None, 'a record RDKit cannot read'\n\
             \x20   out.append({'props': m.GetPropsAsDict(), 'hydrogens': sum(a.GetSymbol() == 'H' for a in m.GetAtoms()),\n\
             \x20               'is_3d': m.GetConformer().Is3D(), 'smiles': Chem.MolToSmiles(Chem.RemoveHs(m))})\n\
             print(json.dumps(out))",
        ])
        .arg(dir.join("verified.sdf"))
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let records: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), verified);
    for record in records {
        let props = &record["props"];
        for key in [
            "SMILES",
            "level",
            "method",
            "dft_homo_ev",
            "dft_lumo_ev",
            "dft_gap_ev",
            "gap_ev_qm9_scale",
            "predicted_gap_ev",
            "novel",
            "round",
            "geometry",
        ] {
            assert!(!props[key].is_null(), "{key} missing: {props}");
        }
        assert_eq!(record["is_3d"], true);
        assert!(record["hydrogens"].as_u64().unwrap() > 0);
        let scored = state
            .scored
            .iter()
            .find(|s| s.smiles == props["SMILES"].as_str().unwrap())
            .expect("a record of a scored molecule");
        let gap = props["dft_gap_ev"].as_f64().unwrap();
        assert!((gap - scored.dft_gap_ev.unwrap()).abs() < 1e-5, "{props}");
        // The geometry is this molecule's (RDKit's canonical form of the same
        // graph; read from 3D, it marks stereocentres, which the graph drops).
        let ignore_stereo = SmilesOptions {
            stereo: StereoPolicy::Ignore,
            ..SmilesOptions::default()
        };
        let ours = parse_smiles_with(record["smiles"].as_str().unwrap(), &ignore_stereo).unwrap();
        assert_eq!(model_core::chem::canonical_smiles(&ours), scored.smiles);
    }

    // Resuming with one more round keeps what was found and scores two more.
    let resumed = optimize(&options(scratch.join("a"), &url, 2, true)).expect("resume");
    assert_eq!(resumed.state.rounds_done, 2);
    assert_eq!(resumed.state.scored.len(), 4);
    let before: Vec<&str> = state.scored.iter().map(|s| s.smiles.as_str()).collect();
    let after: Vec<&str> = resumed.state.scored[..2]
        .iter()
        .map(|s| s.smiles.as_str())
        .collect();
    assert_eq!(before, after);

    // The same seed picks the same molecules (the scorer's cache answers them).
    let again = optimize(&options(scratch.join("b"), &url, 1, false)).expect("repeat");
    let repeat: Vec<&str> = again
        .state
        .scored
        .iter()
        .map(|s| s.smiles.as_str())
        .collect();
    assert_eq!(before, repeat);

    // A second run into a used directory without --resume refuses, losing nothing.
    let err = optimize(&options(scratch.join("b"), &url, 1, false))
        .err()
        .expect("refuses")
        .to_string();
    assert!(err.contains("--resume"), "{err}");
    // The scorer thread keeps its (now unlinked) job store until the process ends.
    std::fs::remove_dir_all(&scratch).ok();
}

#[test]
fn tiny_graph_search_edits_molecules_within_the_constraints_and_resumes() {
    let scratch = scratch("graph");
    let url = start_scorer(&scratch.join("jobs.sqlite"));
    let run = |dir: &str, rounds, resume| {
        optimize(&options_with(
            Strategy::Graph,
            scratch.join(dir),
            &url,
            rounds,
            resume,
        ))
        .expect("graph search")
    };
    let first = run("a", 1, false);
    assert_eq!(first.state.scored.len(), 2, "{:?}", first.state.scored);
    let known = qm9_reference();
    assert_constrained(&first.state, &known);
    // The population is kept between rounds, and holds only valid molecules.
    let population = &first.state.population;
    assert_eq!(population.len(), 4 * 8);
    assert!(population.iter().all(|s| parse_smiles(s).is_ok()));

    let resumed = run("a", 2, true);
    assert_eq!(resumed.state.scored.len(), 4);
    assert_eq!(resumed.state.scored[..2].len(), 2);
    assert_eq!(resumed.state.scored[0].smiles, first.state.scored[0].smiles);
    assert_constrained(&resumed.state, &known);

    let again = run("b", 1, false);
    let picks = |s: &search::SearchState| {
        s.scored
            .iter()
            .map(|x| x.smiles.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        picks(&first.state),
        picks(&again.state),
        "same seed, same molecules"
    );
    std::fs::remove_dir_all(&scratch).ok();
}

/// A scorer whose workers cannot start fails every job: the search stops
/// with the scorer's reason and a way on, instead of spending its budget.
#[test]
fn a_search_stops_when_every_dft_job_fails() {
    let scratch = scratch("broken-scorer");
    let url = start_scorer_with(&scratch.join("jobs.sqlite"), PathBuf::from("/bin/false"));
    let mut options = options(scratch.join("a"), &url, 4, false);
    options.settings.per_round = FAILURES_THAT_STOP / 2;
    let err = optimize(&options)
        .err()
        .expect("the search stops")
        .to_string();
    assert!(err.contains("worker could not start"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    // The rounds before the stop are recorded, all failed; the stopping round is not.
    let state = read_state(&scratch.join("a").join(STATE_FILE)).expect("a round was recorded");
    assert!(
        state.rounds_done >= 1 && state.rounds_done < 4,
        "{}",
        state.rounds_done
    );
    assert!(state.scored.iter().all(|s| s.calibrated_gap_ev.is_none()));
    assert!(
        state.scored.len() < FAILURES_THAT_STOP,
        "{}",
        state.scored.len()
    );
    assert!(state.fits.iter().all(|f| f.mae_before_ev.is_none()));
    std::fs::remove_dir_all(&scratch).ok();
}
