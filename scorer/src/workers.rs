//! The worker pool: N slots, each driving one Python worker process
//! (`py/worker.py`) through a JSON-lines protocol over its stdin and stdout.
//!
//! A slot claims the oldest queued job from the store, sends it to its process
//! and waits up to the job timeout. A timeout kills the process; a process that
//! dies fails only the job it held, with the reason, and the slot starts a new
//! process for the next job. A process found dead before a job is sent (killed
//! while idle) is replaced first, so the job never sees it.
//!
//! The Python sources are compiled into the binary and handed to an isolated
//! interpreter (`python -I`) on its stdin: no script directory exists that
//! another user could plant a module in, and neither the working directory
//! nor `PYTHONPATH` is on its `sys.path`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, watch};

use crate::store::{ClaimedJob, Store};

const WORKER_PY: &str = include_str!("../py/worker.py");
const DFT_PY: &str = include_str!("../py/dft.py");
/// Reads the two sources from the first stdin line, installs `dft` as a module
/// and runs the worker as `__main__`; later lines are the job protocol.
const BOOTSTRAP_PY: &str = "import json, sys, types\n\
sources = json.loads(sys.stdin.readline())\n\
dft = types.ModuleType('dft')\n\
exec(compile(sources['dft'], 'dft.py', 'exec'), dft.__dict__)\n\
sys.modules['dft'] = dft\n\
exec(compile(sources['worker'], 'worker.py', 'exec'), {'__name__': '__main__'})\n";
/// How long a new worker may take to import PySCF and RDKit.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest pause between attempts to store a finished job.
const STORE_RETRY_MAX: Duration = Duration::from_secs(10);
/// Seed of the RDKit embedding, so a molecule always gets the same geometry.
pub const EMBED_SEED: u64 = 0xF00D;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub python: PathBuf,
    pub workers: usize,
    pub job_timeout: Duration,
    /// OpenMP threads each worker's PySCF may use.
    pub threads_per_worker: usize,
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

pub fn start_pool(
    config: WorkerConfig,
    store: Arc<Store>,
    signals: Arc<Signals>,
    versions: Arc<Mutex<Value>>,
) {
    for slot in 0..config.workers {
        let slot = Slot {
            index: slot,
            config: config.clone(),
            store: store.clone(),
            signals: signals.clone(),
            versions: versions.clone(),
        };
        tokio::spawn(slot.run());
    }
}

struct Slot {
    index: usize,
    config: WorkerConfig,
    store: Arc<Store>,
    signals: Arc<Signals>,
    /// Code versions the workers report, shared with the health endpoint.
    versions: Arc<Mutex<Value>>,
}

impl Slot {
    async fn run(self) {
        let mut process: Option<WorkerProcess> = None;
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
            let outcome = self.compute(&mut process, &job).await;
            self.store_outcome(&job, outcome).await;
            self.signals.job_changed();
        }
    }

    /// Writes a finished job to the store, retrying until the store takes it:
    /// a result is never dropped because the store was busy or locked. The
    /// slot takes no new job meanwhile (it could not claim one either).
    async fn store_outcome(
        &self,
        job: &ClaimedJob,
        outcome: std::result::Result<(Value, Value), String>,
    ) {
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

    /// Runs one job; `Err` is the reason the job failed.
    async fn compute(
        &self,
        process: &mut Option<WorkerProcess>,
        job: &ClaimedJob,
    ) -> std::result::Result<(Value, Value), String> {
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
            let started = WorkerProcess::start(&self.config)
                .await
                .map_err(|e| format!("worker could not start: {e:#}"))?;
            *self.versions.lock().unwrap_or_else(|e| e.into_inner()) = started.versions.clone();
            *process = Some(started);
        }
        let worker = process.as_mut().expect("started above");
        let _ = self.store.set_worker_pid(job.id, worker.pid);
        self.signals.job_changed();
        let request = json!({
            "job": job.id,
            "smiles": job.canonical,
            "charge": job.charge,
            "level": job.level,
            "seed": EMBED_SEED,
        });
        let timeout = self.config.job_timeout;
        match tokio::time::timeout(timeout, worker.call(&request)).await {
            Ok(Ok(reply)) => {
                let versions = json!({
                    "scorer": env!("CARGO_PKG_VERSION"),
                    "worker": worker.versions,
                });
                if reply["ok"].as_bool() == Some(true) {
                    let result = reply["result"].clone();
                    // The worker already retried with more robust SCF settings;
                    // an unconverged gap is not a result and is never cached.
                    if result["converged"] != Value::Bool(true) {
                        return Err(format!(
                            "the SCF did not converge (attempts: {}); not stored as a result",
                            result["scf_attempts"]
                        ));
                    }
                    Ok((result, versions))
                } else {
                    Err(reply["error"]
                        .as_str()
                        .unwrap_or("worker gave no reason")
                        .to_string())
                }
            }
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
}

struct WorkerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// The last lines the process wrote to stderr, for crash reports.
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    pid: u32,
    versions: Value,
}

impl WorkerProcess {
    async fn start(config: &WorkerConfig) -> Result<WorkerProcess> {
        let threads = config.threads_per_worker.to_string();
        // -I: isolated (no script or working directory on sys.path, no
        // PYTHON* variables, no user site-packages).
        let mut child = Command::new(&config.python)
            .args(["-I", "-u", "-c", BOOTSTRAP_PY])
            .env("OMP_NUM_THREADS", &threads)
            .env("OPENBLAS_NUM_THREADS", &threads)
            .env("MKL_NUM_THREADS", &threads)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", config.python.display()))?;
        let pid = child.id().unwrap_or(0);
        let mut stdin = child.stdin.take().expect("piped");
        let mut sources = json!({"dft": DFT_PY, "worker": WORKER_PY}).to_string();
        sources.push('\n');
        stdin
            .write_all(sources.as_bytes())
            .await
            .context("cannot hand the worker its sources")?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
        let tail = stderr_tail.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        let hello = tokio::time::timeout(STARTUP_TIMEOUT, stdout.next_line())
            .await
            .map_err(|_| anyhow!("no ready line within {} s", STARTUP_TIMEOUT.as_secs()))??;
        let hello: Value = match hello {
            Some(line) => serde_json::from_str(&line).context("worker's first line is not JSON")?,
            None => {
                let status = child.wait().await?;
                let tail = stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
                bail!(
                    "exited at start ({status}): {}",
                    tail.iter().cloned().collect::<Vec<_>>().join(" | ")
                );
            }
        };
        if hello["ready"] != Value::Bool(true) {
            bail!("unexpected first line {hello}");
        }
        Ok(WorkerProcess {
            child,
            stdin,
            stdout,
            stderr_tail,
            pid,
            versions: hello["versions"].clone(),
        })
    }

    /// The exit status, if the process has stopped.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    async fn call(&mut self, request: &Value) -> Result<Value> {
        let mut line = request.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        match self.stdout.next_line().await? {
            Some(reply) => {
                let reply: Value = serde_json::from_str(&reply).with_context(|| {
                    format!("worker replied with something other than JSON: {reply:.200}")
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
        let status = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => describe_exit(status),
            _ => {
                let _ = self.child.kill().await;
                format!("{error:#}")
            }
        };
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        match tail.back() {
            Some(last) => format!("{status}; last output: {last}"),
            None => status,
        }
    }

    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("worker exited with status {code}"),
        (None, Some(signal)) => format!("worker killed by signal {signal}"),
        _ => format!("worker stopped ({status})"),
    }
}
