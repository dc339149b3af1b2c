//! The Dask backend on a real two-node cluster on this machine: a `dask
//! scheduler` and two `dask worker` processes (one task each), the scorer
//! pointed at the scheduler. Jobs spread over both nodes; a node killed with
//! SIGKILL mid-job has its job re-run on the other; a scorer killed
//! mid-queue loses nothing. Each job is stored once.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scorer, python, scratch, start_fails};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(180);

/// A scheduler and named worker nodes, each in its own process group so a
/// node (nanny and worker process) can be killed at once.
struct Cluster {
    dir: PathBuf,
    scheduler: Child,
    nodes: Vec<(String, Child)>,
    address: String,
}

impl Cluster {
    fn start(dir: &Path, names: &[&str]) -> Cluster {
        let file = dir.join("scheduler.json");
        let log = std::fs::File::create(dir.join("scheduler.log")).unwrap();
        let scheduler = dask(dir, &["scheduler", "--host", "127.0.0.1", "--port", "0"])
            .arg("--scheduler-file")
            .arg(&file)
            .stderr(log)
            .spawn()
            .expect("start dask scheduler");
        wait_for(|| file.exists(), "the scheduler file");
        let nodes = names
            .iter()
            .map(|name| {
                let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
                let child = dask(dir, &["worker", "--nworkers", "1", "--nthreads", "1"])
                    .args(["--name", name, "--host", "127.0.0.1", "--local-directory"])
                    .arg(dir.join(name))
                    .arg("--scheduler-file")
                    .arg(&file)
                    .stderr(log)
                    .spawn()
                    .expect("start dask worker");
                (name.to_string(), child)
            })
            .collect();
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            scheduler,
            nodes,
            address: String::new(),
        };
        let registered = || {
            std::fs::read_to_string(dir.join("scheduler.log"))
                .unwrap_or_default()
                .matches("Register worker")
                .count()
        };
        wait_for(|| registered() == names.len(), "every node to register");
        let info: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        cluster.address = info["address"].as_str().unwrap().to_string();
        cluster
    }

    /// The node whose worker holds `key` (assigned or running), by asking the
    /// scheduler.
    fn node_processing(&self, key: &str) -> Option<String> {
        let out = Command::new(python())
            .args(["-I", "-c", QUERY, &self.address, key])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = String::from_utf8(out.stdout).unwrap().trim().to_string();
        (!name.is_empty()).then_some(name)
    }

    /// SIGKILL to the node's whole process group: a node lost, not shut down.
    fn kill_node(&mut self, name: &str) {
        let index = self.nodes.iter().position(|(n, _)| n == name).unwrap();
        let (_, mut child) = self.nodes.remove(index);
        assert!(kill_group(child.id()));
        child.wait().unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self
            .nodes
            .iter_mut()
            .map(|(_, c)| c)
            .chain([&mut self.scheduler])
        {
            kill_group(child.id());
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SIGKILL to process group `leader`. The `--` matters: procps-ng 4.0's
/// `kill -9 -PGID` reads `-PGID` as options, and `-1` among them means every
/// process the user may signal.
fn kill_group(leader: u32) -> bool {
    Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{leader}")])
        .status()
        .is_ok_and(|s| s.success())
}

const QUERY: &str = "import sys\n\
from distributed import Client\n\
c = Client(sys.argv[1], timeout=20)\n\
names = {a: w['name'] for a, w in c.scheduler_info(n_workers=-1)['workers'].items()}\n\
print(next((names[a] for a, keys in c.processing().items() if sys.argv[2] in map(str, keys)), ''))\n";

fn dask(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(python());
    command
        .args(["-m", "dask"])
        .args(args)
        .arg("--no-dashboard")
        .current_dir(dir)
        // Dask's own scratch space, out of the shared /tmp.
        .env("DASK_TEMPORARY_DIRECTORY", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0);
    command
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn submit(scorer: &Scorer, smiles: &[&str], level: &str) -> Vec<i64> {
    let list = serde_json::to_string(smiles).unwrap();
    let r = scorer.post(&format!(r#"{{"smiles": {list}, "level": "{level}"}}"#));
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

/// The node that computed the stored result for `smiles` at `level`.
fn computed_on(scorer: &Scorer, canonical: &str, level: &str) -> String {
    let found = scorer
        .get(&format!("/v1/molecules?smiles={}", encode(canonical)))
        .json();
    let result = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["level"] == level)
        .unwrap_or_else(|| panic!("no {level} result for {canonical}: {found}"));
    result["versions"]["worker"]["node"]
        .as_str()
        .unwrap_or_else(|| panic!("no node in {result}"))
        .to_string()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn two_nodes_share_the_jobs_and_a_lost_node_or_scorer_loses_none() {
    let dir = scratch("cluster");
    let mut cluster = Cluster::start(&dir, &["node-a", "node-b"]);
    let db = dir.join("jobs.sqlite");
    let scorer = Scorer::start(&db, &["--dask", &cluster.address, "--task-retries", "1"]);
    assert!(
        scorer.banner.contains("2 workers on the Dask cluster"),
        "{}",
        scorer.banner
    );

    // Jobs spread over both nodes.
    let small = ["CO", "CN", "CC", "C=O", "N#N", "O"];
    let ids = submit(&scorer, &small, "tiny");
    let mut nodes = std::collections::BTreeSet::new();
    for id in &ids {
        let job = scorer.wait(*id, LONG);
        assert_eq!(job["state"], "done", "{job}");
        nodes.insert(computed_on(
            &scorer,
            job["canonical"].as_str().unwrap(),
            "tiny",
        ));
    }
    assert_eq!(
        nodes.into_iter().collect::<Vec<_>>(),
        ["node-a", "node-b"],
        "both nodes computed"
    );

    // A node killed mid-job: the job is re-run on the other node, once.
    let slow = submit(&scorer, &["c1ccccc1"], "fast")[0];
    let key = format!("molgap-dft-job-{slow}");
    let start = Instant::now();
    let victim = loop {
        if let Some(node) = cluster.node_processing(&key) {
            break node;
        }
        assert!(start.elapsed() < LONG, "no node took {key}");
    };
    std::thread::sleep(Duration::from_secs(2));
    let before = scorer.get(&format!("/v1/jobs/{slow}")).json();
    assert_eq!(before["state"], "running", "killed mid-job: {before}");
    cluster.kill_node(&victim);
    let job = scorer.wait(slow, LONG);
    assert_eq!(job["state"], "done", "{job}");
    let survivor = if victim == "node-a" {
        "node-b"
    } else {
        "node-a"
    };
    assert_eq!(computed_on(&scorer, "c1ccccc1", "fast"), survivor);
    assert_eq!(
        job["started_at"], before["started_at"],
        "the scorer did not requeue it"
    );
    let queue = &scorer.health()["queue"];
    assert_eq!(
        (&queue["done"], &queue["failed"], &queue["results"]),
        (&Value::from(7), &Value::from(0), &Value::from(7)),
        "{queue}"
    );

    // The scorer killed mid-queue: the restarted one requeues what was
    // running and the one node left computes everything, each job once.
    let more = submit(&scorer, &["CCO", "CC#N", "C1CC1"], "fast");
    wait_for(
        || scorer.get(&format!("/v1/jobs/{}", more[0])).json()["state"] == "running",
        "the first job to start",
    );
    let (db, args) = scorer.kill();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let scorer = Scorer::start(&db, &args);
    assert!(
        scorer.banner.contains("interrupted jobs requeued")
            && !scorer.banner.contains(" 0 interrupted"),
        "{}",
        scorer.banner
    );
    for id in &more {
        let job = scorer.wait(*id, LONG);
        assert_eq!(job["state"], "done", "{job}");
        assert_eq!(
            computed_on(&scorer, job["canonical"].as_str().unwrap(), "fast"),
            survivor
        );
    }
    let queue = &scorer.health()["queue"];
    assert_eq!(
        (&queue["done"], &queue["failed"], &queue["results"]),
        (&Value::from(10), &Value::from(0), &Value::from(10)),
        "{queue}"
    );
    drop(scorer);
    drop(cluster);
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error_at_start() {
    let dir = scratch("cluster-unreachable");
    // Nothing listens on port 1.
    let stderr = start_fails(
        &dir.join("jobs.sqlite"),
        &["--dask", "tcp://127.0.0.1:1"],
        &[],
    );
    assert!(
        stderr.contains("cannot use the Dask cluster at tcp://127.0.0.1:1")
            && stderr.contains("dask scheduler"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_dask_options_need_dask() {
    let dir = scratch("cluster-options");
    let stderr = start_fails(&dir.join("jobs.sqlite"), &["--task-retries", "3"], &[]);
    assert!(stderr.contains("--dask <SCHEDULER>"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}
