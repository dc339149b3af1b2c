//! The worker pool: N slots, each running one job at a time, claimed from the
//! job store, on one of two backends:
//!
//! - **local** (the default): each slot drives one Python worker process
//!   (`py/worker.py`) through a JSON-lines protocol over its stdin and stdout.
//!   A timeout kills the process; a process that dies fails only the job it
//!   held, with the reason, and the slot starts a new process for the next
//!   job. A process found dead before a job is sent (killed while idle) is
//!   replaced first, so the job never sees it.
//! - **dask**: the slots share one bridge to a Dask cluster (`cluster.rs`),
//!   which runs each job as a task on the cluster's nodes.
//!
//! Either way a job is stored once, when its slot gets the answer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use scorer_api::DftResult;

use crate::cluster::{Bridge, ClusterConfig};
use crate::lock;
use crate::python::{PythonProcess, Script, describe_exit, last_line};
use crate::store::{ClaimedJob, Store};

const WORKER_PY: Script = Script {
    name: "worker.py",
    source: include_str!("../py/worker.py"),
};
/// Longest pause between attempts to store a finished job.
const STORE_RETRY_MAX: Duration = Duration::from_secs(10);
/// Seed of the RDKit embedding, so a molecule always gets the same geometry.
pub const EMBED_SEED: u64 = 0xF00D;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Python with pyscf and rdkit (and `distributed` for the dask backend).
    pub python: PathBuf,
    pub job_timeout: Duration,
    pub backend: Backend,
}

/// Where the DFT runs.
#[derive(Clone, Debug)]
pub enum Backend {
    /// Worker processes on this machine.
    Local {
        workers: usize,
        /// OpenMP threads each worker's PySCF may use.
        threads_per_worker: usize,
    },
    /// Tasks on a Dask cluster.
    Dask(ClusterConfig),
}

/// Wakes slots when work arrives and announces job state changes to waiters.
pub struct Signals {
    work: Notify,
    changes: watch::Sender<u64>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            work: Notify::new(),
            changes: watch::channel(0).0,
        }
    }
}

impl Signals {
    pub fn work_arrived(&self) {
        self.work.notify_waiters();
        self.job_changed();
    }

    pub fn job_changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// Starts the slots; returns how many. The dask backend connects first and
/// fails here if the cluster cannot be reached.
pub async fn start_pool(
    config: WorkerConfig,
    store: Arc<Store>,
    signals: Arc<Signals>,
    versions: Arc<Mutex<Value>>,
) -> Result<usize> {
    // How many slots, and what each computes with.
    let (slots, executor): (usize, Box<dyn Fn() -> Executor>) = match &config.backend {
        &Backend::Local {
            workers,
            threads_per_worker,
        } => (
            workers,
            Box::new(move || Executor::Local {
                process: None,
                threads: threads_per_worker,
            }),
        ),
        Backend::Dask(cluster) => {
            let (bridge, info) = Bridge::connect(config.python.clone(), cluster.clone()).await?;
            let slots = match cluster.in_flight {
                Some(n) => n,
                None if info.threads > 0 => info.threads,
                None => bail!(
                    "the Dask cluster at {} has no workers yet; start some (`dask worker {}`) or give --workers",
                    cluster.scheduler,
                    cluster.scheduler
                ),
            };
            eprintln!(
                "scorer: Dask cluster at {}: {} nodes, {} threads; {slots} jobs in flight",
                cluster.scheduler, info.nodes, info.threads
            );
            *lock(&versions) = json!({ "cluster": info.versions });
            let bridge = Arc::new(bridge);
            (slots, Box::new(move || Executor::Cluster(bridge.clone())))
        }
    };
    let slots = slots.max(1);
    for index in 0..slots {
        let slot = Slot {
            index,
            config: config.clone(),
            store: store.clone(),
            signals: signals.clone(),
            versions: versions.clone(),
        };
        tokio::spawn(slot.run(executor()));
    }
    Ok(slots)
}

/// What a slot computes with.
// One per slot for the slot's life: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Executor {
    /// Its own worker process, started on demand with `threads` OpenMP threads.
    Local {
        process: Option<WorkerProcess>,
        threads: usize,
    },
    /// The bridge to the cluster, shared by every slot.
    Cluster(Arc<Bridge>),
}

/// A finished job: the result and the code versions that made it, or why it
/// failed.
type Outcome = std::result::Result<(DftResult, Value), String>;

struct Slot {
    index: usize,
    config: WorkerConfig,
    store: Arc<Store>,
    signals: Arc<Signals>,
    /// Code versions the workers report, shared with the health endpoint.
    versions: Arc<Mutex<Value>>,
}

impl Slot {
    async fn run(self, mut executor: Executor) {
        loop {
            let notified = self.signals.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let job = match self.store.claim_next() {
                Ok(Some(job)) => job,
                Ok(None) => {
                    // The timeout covers jobs queued by a restart or another process.
                    let _ = tokio::time::timeout(Duration::from_secs(2), notified).await;
                    continue;
                }
                Err(e) => {
                    eprintln!("worker slot {}: job store error: {e:#}", self.index);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.signals.job_changed();
            let outcome = match &mut executor {
                Executor::Local { process, threads } => {
                    self.compute_locally(process, *threads, &job).await
                }
                Executor::Cluster(bridge) => self.compute_on_cluster(bridge, &job).await,
            };
            self.store_outcome(&job, outcome).await;
            self.signals.job_changed();
        }
    }

    /// Writes a finished job to the store, retrying until the store takes it:
    /// a result is never dropped because the store was busy or locked. The
    /// slot takes no new job meanwhile (it could not claim one either).
    async fn store_outcome(&self, job: &ClaimedJob, outcome: Outcome) {
        let mut pause = Duration::from_millis(250);
        loop {
            let stored = match &outcome {
                Ok((result, versions)) => self.store.finish_ok(job, result, versions),
                Err(reason) => self.store.finish_err(job.id, reason),
            };
            match stored {
                Ok(()) => return,
                Err(e) => {
                    eprintln!(
                        "worker slot {}: cannot store job {} yet ({e:#}); retrying in {:.1} s",
                        self.index,
                        job.id,
                        pause.as_secs_f64()
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(STORE_RETRY_MAX);
                }
            }
        }
    }

    /// Runs one job in this slot's worker process.
    async fn compute_locally(
        &self,
        process: &mut Option<WorkerProcess>,
        threads: usize,
        job: &ClaimedJob,
    ) -> Outcome {
        if let Some(status) = process.as_mut().and_then(WorkerProcess::exited) {
            eprintln!(
                "worker slot {}: the idle worker {}; starting a new one for job {}",
                self.index,
                describe_exit(status),
                job.id
            );
            *process = None;
        }
        if process.is_none() {
            let started = WorkerProcess::start(&self.config, threads)
                .await
                .map_err(|e| format!("worker could not start: {e:#}"))?;
            *lock(&self.versions) = started.versions.clone();
            *process = Some(started);
        }
        let worker = process.as_mut().expect("started above");
        let _ = self.store.set_worker_pid(job.id, worker.pid());
        self.signals.job_changed();
        let timeout = self.config.job_timeout;
        match tokio::time::timeout(timeout, worker.call(&job_request(job))).await {
            Ok(Ok(reply)) => read_reply(&reply, &worker.versions),
            Ok(Err(e)) => {
                let reason = process.take().expect("running").died(e).await;
                Err(format!("worker crashed: {reason}"))
            }
            Err(_) => {
                process.take().expect("running").kill().await;
                Err(format!(
                    "timeout: no result after {} s; the worker was stopped",
                    timeout.as_secs_f64()
                ))
            }
        }
    }

    /// Runs one job as a task on the Dask cluster.
    async fn compute_on_cluster(&self, bridge: &Bridge, job: &ClaimedJob) -> Outcome {
        let timeout = self.config.job_timeout;
        match tokio::time::timeout(timeout, bridge.run(&job_request(job))).await {
            Ok(Ok(reply)) => read_reply(&reply, &reply["versions"]),
            Ok(Err(reason)) => Err(reason),
            Err(_) => {
                bridge.cancel(job.id).await;
                Err(format!(
                    "timeout: no result after {} s; the task was cancelled on the cluster",
                    timeout.as_secs_f64()
                ))
            }
        }
    }
}

/// The protocol line that asks for one job.
fn job_request(job: &ClaimedJob) -> Value {
    json!({
        "job": job.id,
        "smiles": job.canonical,
        "charge": job.charge,
        "level": job.level,
        "seed": EMBED_SEED,
    })
}

/// A reply line as the job's outcome, stored with the versions of the
/// scorer and of the `worker` that computed it. The worker already retried
/// with more robust SCF settings; an unconverged gap is not a result and is
/// never cached.
fn read_reply(reply: &Value, worker: &Value) -> Outcome {
    if reply["ok"].as_bool() != Some(true) {
        return Err(reply["error"]
            .as_str()
            .unwrap_or("worker gave no reason")
            .to_string());
    }
    let result: DftResult = serde_json::from_value(reply["result"].clone())
        .map_err(|e| format!("the worker's result is not understood ({e}); not stored"))?;
    if !result.converged {
        return Err(format!(
            "the SCF did not converge (attempts: {}); not stored as a result",
            result.scf_attempts.join(", ")
        ));
    }
    let versions = json!({ "scorer": env!("CARGO_PKG_VERSION"), "worker": worker });
    Ok((result, versions))
}

/// A local worker process, one job at a time.
struct WorkerProcess {
    process: PythonProcess,
    versions: Value,
}

impl WorkerProcess {
    async fn start(config: &WorkerConfig, threads: usize) -> Result<WorkerProcess> {
        let process =
            PythonProcess::start(&config.python, WORKER_PY, &Value::Null, threads).await?;
        let versions = process.hello["versions"].clone();
        Ok(WorkerProcess { process, versions })
    }

    fn pid(&self) -> u32 {
        self.process.pid
    }

    /// The exit status, if the process has stopped.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.child.try_wait().ok().flatten()
    }

    async fn call(&mut self, request: &Value) -> Result<Value> {
        self.process.send(request).await?;
        match self.process.stdout.next_line().await? {
            Some(reply) => {
                let reply: Value = serde_json::from_str(&reply).map_err(|e| {
                    anyhow::anyhow!(
                        "worker replied with something other than JSON ({e}): {reply:.200}"
                    )
                })?;
                if reply["job"] != request["job"] {
                    bail!(
                        "worker answered job {} when asked for {}",
                        reply["job"],
                        request["job"]
                    );
                }
                Ok(reply)
            }
            None => bail!("the worker closed its output"),
        }
    }

    /// Collects why the process stopped answering: its exit status and the
    /// last lines of its stderr.
    async fn died(mut self, error: anyhow::Error) -> String {
        let status =
            match tokio::time::timeout(Duration::from_secs(5), self.process.child.wait()).await {
                Ok(Ok(status)) => format!("worker {}", describe_exit(status)),
                _ => {
                    let _ = self.process.child.kill().await;
                    format!("{error:#}")
                }
            };
        match last_line(&self.process.stderr_tail) {
            Some(last) => format!("{status}; last output: {last}"),
            None => status,
        }
    }

    async fn kill(mut self) {
        let _ = self.process.child.kill().await;
    }
}
