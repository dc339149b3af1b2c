//! Wiring: open the store, start the workers, serve the API until a signal.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::api::{AppState, router};
use crate::store::Store;
use crate::validate::Limits;
use crate::workers::{Signals, WorkerConfig, install_scripts, start_pool};

pub struct ServeConfig {
    pub bind: IpAddr,
    pub port: u16,
    pub db: PathBuf,
    pub workers: WorkerConfig,
    pub queue_capacity: usize,
    pub limits: Limits,
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
}

pub async fn serve(config: ServeConfig) -> Result<()> {
    let (store, requeued) = Store::open(&config.db)?;
    let store = Arc::new(store);
    let signals = Arc::new(Signals::default());
    let versions = Arc::new(Mutex::new(Value::Null));
    let scripts = std::env::temp_dir().join(format!("molgap-scorer-{}", std::process::id()));
    let script = install_scripts(&scripts).context("cannot write the worker scripts")?;
    start_pool(
        config.workers.clone(),
        script,
        store.clone(),
        signals.clone(),
        versions.clone(),
    );

    let state = Arc::new(AppState {
        store,
        signals,
        limits: config.limits,
        queue_capacity: config.queue_capacity,
        workers: config.workers.workers,
        job_timeout: config.workers.job_timeout,
        worker_versions: versions,
    });
    let app = router(state, &config.allowed_origins, config.max_body_bytes);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(config.bind, config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let address = listener.local_addr()?;
    println!(
        "scorer listening on http://{address} ({} workers, {} s job timeout, job store {}, {requeued} interrupted jobs requeued)",
        config.workers.workers,
        config.workers.job_timeout.as_secs_f64(),
        config.db.display()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    std::fs::remove_dir_all(&scripts).ok();
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    // Jobs still running stay `running` in the store and are queued again at
    // the next start.
    eprintln!("scorer: shutting down");
}

pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
