//! DFT on a Dask cluster: one bridge process (`py/cluster.py`) holds a Dask
//! client and runs each job as a task on the cluster's nodes.
//!
//! Why Dask: HPC users reach their SLURM/PBS/LSF machines through
//! `dask-jobqueue`, its scheduler and workers are plain `pip install`s with no
//! daemons beyond the two commands, and a task lost with its node is re-run
//! elsewhere by the scheduler. The scorer's job store stays the source of
//! truth: the worker slots claim jobs there as for the local pool and store
//! each reply there; the cluster only executes.
//!
//! Replies come back in the order tasks finish, so the bridge is shared by
//! every slot: each call waits on its own channel, keyed by job id. A bridge
//! that dies fails the jobs it held and is started again for the next one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::lock;
use crate::python::{PythonProcess, Script, describe_exit, last_line, send_line};

const CLUSTER_PY: Script = Script {
    name: "cluster.py",
    source: include_str!("../py/cluster.py"),
};

/// How long the bridge tries to reach the scheduler before giving up.
const CONNECT_TIMEOUT_S: u64 = 10;

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The Dask scheduler, e.g. `tcp://head-node:8786`.
    pub scheduler: String,
    /// Jobs sent to the cluster at once; `None`: its thread count at start.
    pub in_flight: Option<usize>,
    /// Times Dask re-runs a task that raised outside the chemistry (a node
    /// without PySCF, say). Lost nodes are the scheduler's `allowed-failures`.
    pub retries: u32,
    /// OpenMP threads each task's PySCF may use on its node.
    pub threads_per_task: usize,
}

type Waiters = Arc<Mutex<HashMap<i64, oneshot::Sender<Result<Value, String>>>>>;

pub struct Bridge {
    python: PathBuf,
    config: ClusterConfig,
    running: tokio::sync::Mutex<Option<Running>>,
}

/// A live bridge process: its input, and the calls waiting on its output.
struct Running {
    stdin: tokio::process::ChildStdin,
    waiters: Waiters,
    /// Cleared by the reader when the process's output ends.
    alive: Arc<std::sync::atomic::AtomicBool>,
}

/// What the cluster reported when the bridge connected.
pub struct ClusterInfo {
    pub threads: usize,
    pub nodes: usize,
    pub versions: Value,
}

impl Bridge {
    /// Connects to the scheduler; fails if it cannot be reached.
    pub async fn connect(python: PathBuf, config: ClusterConfig) -> Result<(Bridge, ClusterInfo)> {
        let bridge = Bridge {
            python,
            config,
            running: tokio::sync::Mutex::new(None),
        };
        let (running, info) = bridge.start().await.with_context(|| {
            format!(
                "cannot use the Dask cluster at {} (is `dask scheduler` running there, and is `distributed` installed in this Python?)",
                bridge.config.scheduler
            )
        })?;
        *bridge.running.lock().await = Some(running);
        Ok((bridge, info))
    }

    async fn start(&self) -> Result<(Running, ClusterInfo)> {
        let config = json!({
            "scheduler": self.config.scheduler,
            "retries": self.config.retries,
            "threads": self.config.threads_per_task,
            "connect_timeout_s": CONNECT_TIMEOUT_S,
        });
        // The bridge itself computes nothing: one thread is plenty.
        let process = PythonProcess::start(&self.python, CLUSTER_PY, &config, 1).await?;
        let info = ClusterInfo {
            threads: process.hello["cluster_threads"].as_u64().unwrap_or(0) as usize,
            nodes: process.hello["nodes"].as_u64().unwrap_or(0) as usize,
            versions: process.hello["versions"].clone(),
        };
        let PythonProcess {
            mut child,
            stdin,
            mut stdout,
            stderr_tail,
            ..
        } = process;
        let waiters: Waiters = Arc::default();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (reader_waiters, reader_alive) = (waiters.clone(), alive.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let Ok(reply) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("cluster bridge: not JSON: {line:.200}");
                    continue;
                };
                let Some(id) = reply["job"].as_i64() else {
                    continue;
                };
                // A reply nobody waits for (a cancelled job) is dropped.
                let waiter = lock(&reader_waiters).remove(&id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Ok(reply));
                }
            }
            reader_alive.store(false, std::sync::atomic::Ordering::SeqCst);
            let status =
                match tokio::time::timeout(std::time::Duration::from_secs(5), child.wait()).await {
                    Ok(Ok(status)) => describe_exit(status),
                    _ => {
                        let _ = child.kill().await;
                        "closed its output".to_string()
                    }
                };
            let reason = match last_line(&stderr_tail) {
                Some(last) => format!("the cluster bridge {status}; last output: {last}"),
                None => format!("the cluster bridge {status}"),
            };
            eprintln!("scorer: {reason}");
            for (_, waiter) in lock(&reader_waiters).drain() {
                let _ = waiter.send(Err(reason.clone()));
            }
        });
        Ok((
            Running {
                stdin,
                waiters,
                alive,
            },
            info,
        ))
    }

    /// Runs one job on the cluster; `Ok` is the bridge's reply line (which
    /// may still say the job failed), `Err` a reason the bridge gave none.
    pub async fn run(&self, request: &Value) -> Result<Value, String> {
        let id = request["job"]
            .as_i64()
            .expect("requests carry their job id");
        let (sender, receiver) = oneshot::channel();
        {
            let mut running = self.running.lock().await;
            let dead = running
                .as_ref()
                .is_none_or(|r| !r.alive.load(std::sync::atomic::Ordering::SeqCst));
            if dead {
                let (started, _) = self
                    .start()
                    .await
                    .map_err(|e| format!("the cluster bridge could not start: {e:#}"))?;
                *running = Some(started);
            }
            let live = running.as_mut().expect("started above");
            lock(&live.waiters).insert(id, sender);
            if let Err(e) = send_line(&mut live.stdin, request).await {
                lock(&live.waiters).remove(&id);
                live.alive.store(false, std::sync::atomic::Ordering::SeqCst);
                return Err(format!("cannot reach the cluster bridge: {e:#}"));
            }
        }
        receiver
            .await
            .unwrap_or_else(|_| Err("the cluster bridge dropped the job".to_string()))
    }

    /// Gives up on a job: its reply, if one comes, is dropped.
    pub async fn cancel(&self, id: i64) {
        let mut running = self.running.lock().await;
        if let Some(live) = running.as_mut() {
            lock(&live.waiters).remove(&id);
            let _ = send_line(&mut live.stdin, &json!({ "cancel": id })).await;
        }
    }
}
