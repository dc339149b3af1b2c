//! The scorer's job life cycle against real PySCF workers, on tiny molecules
//! at the `tiny` level (B3LYP/STO-3G, about a second each).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{Scorer, scratch};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(300);

fn submit_one(scorer: &Scorer, smiles: &str, level: &str) -> Value {
    let r = scorer.post(&format!(r#"{{"smiles": "{smiles}", "level": "{level}"}}"#));
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["jobs"][0].clone()
}

#[test]
fn water_is_computed_then_served_from_the_store() {
    let dir = scratch("water");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let job = submit_one(&scorer, "O", "tiny");
    assert_eq!(job["disposition"], "queued");
    let done = scorer.wait(job["id"].as_i64().unwrap(), LONG);
    assert_eq!(done["state"], "done", "{done}");
    let result = &done["result"];
    let gap = result["gap_ev"].as_f64().unwrap();
    // B3LYP/STO-3G puts water's gap near 13 eV; anything far off is wrong chemistry.
    assert!((10.0..16.0).contains(&gap), "gap {gap} eV");
    assert!(result["homo_ha"].as_f64().unwrap() < result["lumo_ha"].as_f64().unwrap());
    assert_eq!(result["converged"], true);
    assert_eq!(
        result["xyz"].as_str().unwrap().lines().count(),
        5,
        "3 atoms + 2 header lines"
    );
    assert_eq!(done["cached"], false);

    // Another spelling of water is answered from the store, with no new calculation.
    let again = submit_one(&scorer, "[H]O[H]", "tiny");
    assert_eq!(again["disposition"], "cached");
    assert_eq!(again["state"], "done");
    assert_eq!(again["result"]["gap_ev"], result["gap_ev"]);
    let health = scorer.health();
    assert_eq!(health["queue"]["results"], 1, "{health}");
    assert_eq!(
        health["worker_versions"]["pyscf"]
            .as_str()
            .map(|v| !v.is_empty()),
        Some(true)
    );

    let found = scorer.get("/v1/molecules?smiles=%5BOH2%5D").json();
    assert_eq!(found["canonical"], "O");
    assert_eq!(found["results"][0]["level"], "tiny");
    assert_eq!(found["results"][0]["result"]["gap_ev"], result["gap_ev"]);
    assert!(found["results"][0]["versions"]["worker"]["pyscf"].is_string());
    std::fs::remove_dir_all(dir).ok();
}

/// From the job's seed, ETKDG's first conformer of this spiropentane has the
/// spiro carbon inverted (both rings in one plane): its STO-3G gap came out
/// 1.9 eV. The lowest-energy of several conformers has the real geometry.
#[test]
fn a_molecule_breaking_a_structural_rule_is_queued_with_a_warning() {
    let dir = scratch("warning");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let r = scorer.post(r#"{"smiles": ["CC1=CC1", "COOC", "CC1CC1"], "level": "tiny"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    let jobs = r.json()["jobs"].clone();
    let warnings = |i: usize| jobs[i]["warnings"].to_string();
    assert!(warnings(0).contains("3- or 4-membered ring"), "{}", jobs[0]);
    assert!(warnings(1).contains("O-O bond"), "{}", jobs[1]);
    assert!(jobs[2].get("warnings").is_none(), "{}", jobs[2]);
    let found = scorer.get("/v1/molecules?smiles=C1OOC1").json();
    assert!(
        found["warnings"][0].as_str().unwrap().contains("O-O"),
        "{found}"
    );
}

#[test]
fn a_strained_spiro_centre_gets_its_real_geometry() {
    let dir = scratch("spiro");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let job = submit_one(&scorer, "CC(C)CC1CC12CC2", "tiny");
    let done = scorer.wait(job["id"].as_i64().unwrap(), LONG);
    assert_eq!(done["state"], "done", "{done}");
    let gap = done["result"]["gap_ev"].as_f64().unwrap();
    // A saturated hydrocarbon: its gap at this level is above 10 eV.
    assert!(gap > 10.0, "gap {gap} eV");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn restart_mid_queue_loses_no_job() {
    let dir = scratch("restart");
    let db = dir.join("jobs.sqlite");
    let scorer = Scorer::start(&db, &["--workers", "1"]);
    let r = scorer.post(r#"{"smiles": ["CO", "CN", "CC", "C=O", "N#N"], "level": "tiny"}"#);
    assert_eq!(r.status, 202);
    let ids: Vec<i64> = r.json()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    scorer.wait_running(ids[0], LONG);
    let (db, args) = scorer.kill();

    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let scorer = Scorer::start(&db, &arg_refs);
    assert!(
        scorer.banner.contains("1 interrupted jobs requeued"),
        "{}",
        scorer.banner
    );
    for id in &ids {
        let job = scorer.wait(*id, LONG);
        assert_eq!(job["state"], "done", "{job}");
    }
    assert_eq!(scorer.health()["queue"]["results"], 5);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_killed_worker_fails_only_its_job() {
    let dir = scratch("crash");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    // Benzene at the QM9 level runs long enough to be caught mid-job.
    let slow = submit_one(&scorer, "c1ccccc1", "qm9");
    let queued_after = submit_one(&scorer, "N", "tiny");
    let running = scorer.wait_running(slow["id"].as_i64().unwrap(), LONG);
    let pid = running["worker_pid"].as_i64().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let failed = scorer.wait(slow["id"].as_i64().unwrap(), LONG);
    assert_eq!(failed["state"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("worker crashed") && error.contains("signal 9"),
        "{error}"
    );
    // The job queued behind it runs on a fresh worker.
    let next = scorer.wait(queued_after["id"].as_i64().unwrap(), LONG);
    assert_eq!(next["state"], "done", "{next}");
    assert_ne!(next["worker_pid"], running["worker_pid"]);
    assert_eq!(scorer.health()["status"], "ok");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_job_over_its_timeout_fails_and_the_next_succeeds() {
    let dir = scratch("timeout");
    // Margins both ways on a busy machine: the slow job (9 heavy atoms at
    // the QM9 level) needs about a minute, methane at `tiny` well under a
    // second when idle; with 4 s, methane once timed out too beside a build.
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--timeout", "10"],
    );
    let slow = submit_one(&scorer, "CCc1ccccc1C", "qm9");
    let next = submit_one(&scorer, "C", "tiny");
    let failed = scorer.wait(slow["id"].as_i64().unwrap(), LONG);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().starts_with("timeout"),
        "{failed}"
    );
    let next = scorer.wait(next["id"].as_i64().unwrap(), LONG);
    assert_eq!(next["state"], "done", "{next}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn eight_clients_ten_jobs_each_all_accounted_for_none_computed_twice() {
    let dir = scratch("concurrent");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "2"]);
    // Several spellings per molecule, so clients collide on the same molecules.
    const SPELLINGS: [&str; 16] = [
        "C", "[CH4]", "N", "[NH3]", "O", "CC", "C-C", "CO", "OC", "C=O", "O=C", "C#N", "N#C", "CF",
        "FC", "N#N",
    ];
    let addr = scorer.addr.clone();
    let handles: Vec<_> = (0..8)
        .map(|client| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|k| {
                        let smiles = SPELLINGS[(client * 3 + k * 5) % SPELLINGS.len()];
                        let body = format!(r#"{{"smiles": "{smiles}", "level": "tiny"}}"#);
                        let r = common::request(
                            &addr,
                            "POST",
                            "/v1/jobs",
                            &[("content-type", "application/json")],
                            Some(&body),
                        );
                        assert_eq!(r.status, 202, "{}", r.body);
                        r.json()["jobs"][0]["id"].as_i64().unwrap()
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let submitted: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(submitted.len(), 80);

    let ids: HashSet<i64> = submitted.iter().copied().collect();
    let mut computed_per_molecule: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        let job = scorer.wait(*id, LONG);
        assert_eq!(job["state"], "done", "{job}");
        if job["cached"] == false {
            *computed_per_molecule
                .entry(job["canonical"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let molecules = SPELLINGS
        .iter()
        .map(|s| model_core::chem::canonical_smiles(&model_core::chem::parse_smiles(s).unwrap()))
        .collect::<HashSet<_>>()
        .len();
    assert_eq!(molecules, 9);
    assert_eq!(
        computed_per_molecule.len(),
        molecules,
        "{computed_per_molecule:?}"
    );
    assert!(
        computed_per_molecule.values().all(|&n| n == 1),
        "{computed_per_molecule:?}"
    );
    let health = scorer.health();
    assert_eq!(health["queue"]["results"], molecules, "{health}");
    assert_eq!(health["queue"]["failed"], 0);
    assert_eq!(health["queue"]["queued"], 0);
    std::fs::remove_dir_all(dir).ok();
}

/// The geometry the DFT ran on comes back as XYZ and as an SDF record that
/// RDKit reads, with the results as data items.
#[test]
fn a_done_job_serves_its_geometry_as_sdf_that_rdkit_reads() {
    let dir = scratch("sdf");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let job = submit_one(&scorer, "CO", "tiny");
    let id = job["id"].as_i64().unwrap();
    let done = scorer.wait(id, LONG);
    assert_eq!(done["state"], "done", "{done}");
    let xyz = scorer.get(&format!("/v1/jobs/{id}/geometry?format=xyz"));
    assert_eq!(xyz.status, 200, "{}", xyz.body);
    assert_eq!(xyz.header("content-type"), Some("chemical/x-xyz"));
    assert_eq!(xyz.body.lines().next(), Some("6"), "C, O and four H");
    let sdf = scorer.get(&format!("/v1/jobs/{id}/geometry?format=sdf"));
    assert_eq!(sdf.status, 200, "{}", sdf.body);
    let path = dir.join("job.sdf");
    std::fs::write(&path, &sdf.body).unwrap();
    let read = std::process::Command::new(common::python())
        .args([
            "-c",
            "import json, sys\n\
             from rdkit import Chem\n\
             mols = [m for m in Chem.SDMolSupplier(sys.argv[1], removeHs=False)]\n\
             m = mols[0]\n\
             print(json.dumps({'n': len(mols), 'atoms': m.GetNumAtoms(), 'conformer_3d': m.GetConformer().Is3D(),\n\
                 'smiles': Chem.MolToSmiles(Chem.RemoveHs(m)), 'props': m.GetPropsAsDict()}))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let read: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(read["n"], 1);
    assert_eq!(read["atoms"], 6);
    assert_eq!(read["conformer_3d"], true);
    assert_eq!(read["smiles"], "CO");
    let props = &read["props"];
    for key in [
        "SMILES",
        "level",
        "method",
        "homo_ev",
        "lumo_ev",
        "gap_ev",
        "energy_ha",
        "geometry",
        "scorer_job",
    ] {
        assert!(!props[key].is_null(), "{key} missing: {props}");
    }
    assert_eq!(props["level"], "tiny");
    let gap = props["gap_ev"].as_f64().unwrap();
    assert!((gap - done["result"]["gap_ev"].as_f64().unwrap()).abs() < 1e-9);
    let bad = scorer.get(&format!("/v1/jobs/{id}/geometry?format=pdb"));
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["code"], "bad_format");
    std::fs::remove_dir_all(dir).ok();
}
