//! Wiring: open the store, start the workers, serve the API until a signal.
//!
//! Connections are served by hyper directly rather than `axum::serve`, which
//! sets no timer: here a client that never finishes its request head is cut
//! off after the header timeout instead of holding a connection for ever.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use tower::ServiceExt;

use crate::api::{AppState, HttpConfig, router};
use crate::guard::{Access, LOOPBACK_HOSTS};
use crate::limit::NewJobLimiter;
use crate::store::Store;
use crate::validate::Limits;
use crate::workers::{Backend, Signals, WorkerConfig, start_pool};

/// Most header fields hyper itself parses; `guard` answers past its own,
/// lower limit with a JSON 431 before hyper's bare one.
const HYPER_MAX_HEADERS: usize = 256;

pub struct ServeConfig {
    pub bind: IpAddr,
    pub port: u16,
    pub db: PathBuf,
    pub workers: WorkerConfig,
    pub queue_capacity: usize,
    pub limits: Limits,
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// Access token; required when `bind` is not a loopback address.
    pub token: Option<String>,
    /// Host names accepted beside the loopback names (loopback binding only).
    pub extra_hosts: Vec<String>,
    pub header_timeout: Duration,
    pub max_new_jobs_per_minute: usize,
    /// The built browser app to serve at `/` (`None`: the API only).
    pub app_dir: Option<PathBuf>,
}

/// Who may call: a token whenever the service listens beyond loopback; on
/// loopback, requests must be addressed to a loopback name.
pub fn access_for(bind: IpAddr, token: Option<String>, extra_hosts: &[String]) -> Result<Access> {
    if !bind.is_loopback() && token.is_none() {
        bail!(
            "--bind {bind} listens beyond this machine, so clients must authenticate: put a secret in MOLGAP_SCORER_TOKEN or a file given with --token-file (clients send it as Authorization: Bearer TOKEN)"
        );
    }
    let hosts = bind.is_loopback().then(|| {
        LOOPBACK_HOSTS
            .iter()
            .map(|h| h.to_string())
            .chain(extra_hosts.iter().map(|h| h.to_ascii_lowercase()))
            .collect()
    });
    Ok(Access { token, hosts })
}

pub async fn serve(config: ServeConfig) -> Result<()> {
    let access = access_for(config.bind, config.token.clone(), &config.extra_hosts)?;
    let (store, requeued) = Store::open(&config.db)?;
    let store = Arc::new(store);
    let signals = Arc::new(Signals::default());
    let versions = Arc::new(Mutex::new(Value::Null));
    let workers = start_pool(
        config.workers.clone(),
        store.clone(),
        signals.clone(),
        versions.clone(),
    )
    .await?;
    let state = Arc::new(AppState {
        store: store.clone(),
        signals: signals.clone(),
        limits: config.limits,
        queue_capacity: config.queue_capacity,
        workers,
        job_timeout: config.workers.job_timeout,
        worker_versions: versions.clone(),
        new_jobs: NewJobLimiter::new(config.max_new_jobs_per_minute),
    });
    let http = HttpConfig {
        allowed_origins: config.allowed_origins.clone(),
        max_body_bytes: config.max_body_bytes,
        access,
        app_dir: config.app_dir.clone(),
    };
    if let Some(dir) = &config.app_dir
        && !dir.join("index.html").is_file()
    {
        bail!(
            "--app {}: no index.html there; build the browser app first (scripts/trunk.sh build --release, or scripts/app.sh)",
            dir.display()
        );
    }
    let app = router(state, &http)?;
    if http.allowed_origins.iter().any(|o| o == "*") {
        eprintln!(
            "scorer: warning: --allow-origin '*' lets any web page the user opens submit jobs"
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(config.bind, config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let address = listener.local_addr()?;
    // One line: a reader that takes only the first line and closes the pipe
    // must not make a later println! fail (it panics on a closed stdout).
    // The page asks its scorer at ?scorer=, so the app's URL works on any port.
    let app_url = if config.app_dir.is_some() {
        format!(
            "; molgap app at http://{address}/?scorer=http://{address} (the API at /v1, same origin)"
        )
    } else {
        String::new()
    };
    println!(
        "scorer listening on http://{address} ({workers} workers{}, {} s job timeout, job store {}, {requeued} interrupted jobs requeued){app_url}",
        match &config.workers.backend {
            Backend::Local { .. } => String::new(),
            Backend::Dask(cluster) => format!(" on the Dask cluster at {}", cluster.scheduler),
        },
        config.workers.job_timeout.as_secs_f64(),
        config.db.display()
    );
    accept_until_signal(listener, app, config.header_timeout).await;
    Ok(())
}

async fn accept_until_signal(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(HYPER_MAX_HEADERS);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin;
                    // header timeouts free stalled connections meanwhile.
                    eprintln!("scorer: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                Ok::<_, Infallible>(
                    app.oneshot(request.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {}),
                )
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, bad framing).
            let _ = connection.await;
        });
    }
    // Running long-polls get a few seconds to finish.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_loopback_needs_a_token_and_loopback_checks_names() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let error = access_for(any, None, &[]).unwrap_err().to_string();
        assert!(error.contains("MOLGAP_SCORER_TOKEN"), "{error}");
        let open = access_for(any, Some("s3cret".into()), &[]).unwrap();
        assert_eq!(open.hosts, None);
        let local = access_for(local, None, &["Scorer.Lab".into()]).unwrap();
        let hosts = local.hosts.unwrap();
        assert!(
            hosts.contains(&"localhost".to_string()) && hosts.contains(&"scorer.lab".to_string())
        );
    }
}
