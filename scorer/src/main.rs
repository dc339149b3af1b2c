//! `scorer`: the command-line front end of the DFT scoring service.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use scorer::cluster::ClusterConfig;
use scorer::serve::{ServeConfig, default_workers, serve};
use scorer::validate::Limits;
use scorer::workers::{Backend, WorkerConfig};

#[derive(Parser)]
#[command(
    name = "scorer",
    version,
    about = "HTTP service that verifies HOMO-LUMO gaps with PySCF DFT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the JSON API (see the README's Scorer section)
    Serve(Box<ServeArgs>),
    /// Print the API's OpenAPI document (JSON), generated from the scorer-api
    /// types; `scorer/openapi.json` is this output
    Openapi,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; 127.0.0.1 keeps the service local. Any other
    /// address needs an access token (MOLGAP_SCORER_TOKEN or --token-file)
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// File holding the access token clients must send as
    /// `Authorization: Bearer TOKEN` [default: $MOLGAP_SCORER_TOKEN, else none]
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Another name the service answers to when bound to loopback (e.g. a
    /// reverse proxy's); requests to other names get 403 (repeatable)
    #[arg(long = "allow-host")]
    allow_host: Vec<String>,
    /// Seconds a client may take to send its request head
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// New jobs (queued or answered from the cache) one client address may
    /// create per minute; past it, submissions get 429 with Retry-After
    #[arg(long, default_value_t = 600)]
    max_new_jobs_per_minute: usize,
    /// Port; 0 picks a free one (the chosen address is printed)
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// SQLite job store; created if missing
    #[arg(long, default_value = "data/scorer.sqlite")]
    db: PathBuf,
    /// Worker processes [default: number of cores]; with --dask, jobs sent
    /// to the cluster at once [default: the cluster's threads at start]
    #[arg(long)]
    workers: Option<usize>,
    /// OpenMP threads each local worker's PySCF uses [default: cores / workers]
    #[arg(long, conflicts_with = "dask")]
    threads_per_worker: Option<usize>,
    /// Run the DFT as tasks on the Dask cluster whose scheduler is at this
    /// address (e.g. tcp://head-node:8786) instead of in local worker
    /// processes. Its nodes need the same Python packages (see the README)
    #[arg(long, value_name = "SCHEDULER")]
    dask: Option<String>,
    /// With --dask: times a task that failed outside the chemistry (a node
    /// without PySCF, say) is re-run; lost nodes are the scheduler's
    /// allowed-failures
    #[arg(long, default_value_t = 2, requires = "dask")]
    task_retries: u32,
    /// With --dask: OpenMP threads each task's PySCF uses on its node
    /// (start nodes with `dask worker --nworkers TASKS --nthreads 1`)
    #[arg(long, default_value_t = 1, requires = "dask")]
    threads_per_task: usize,
    /// Seconds a job may run before its worker is stopped and the job fails
    #[arg(long, default_value_t = 1800.0)]
    timeout: f64,
    /// Most queued jobs; past it, submissions get 429
    #[arg(long, default_value_t = 1000)]
    max_queue: usize,
    /// Most heavy atoms a molecule may have
    #[arg(long, default_value_t = 12)]
    max_heavy_atoms: usize,
    /// Most molecules in one request
    #[arg(long, default_value_t = 100)]
    max_molecules: usize,
    /// Largest request body in bytes
    #[arg(long, default_value_t = 64 * 1024)]
    max_body: usize,
    /// Web origins allowed by CORS (repeatable; '*' allows any page)
    #[arg(long = "allow-origin", default_values_t = ["http://127.0.0.1:8080".to_string(), "http://localhost:8080".to_string()])]
    allow_origin: Vec<String>,
    /// Serve the built browser app (trunk's dist/) at / beside the API, on
    /// one origin (scripts/app.sh does this)
    #[arg(long)]
    app: Option<PathBuf>,
    /// Python with pyscf and rdkit [default: $MOLGAP_PYTHON, else .venv/bin/python, else python3]
    #[arg(long)]
    python: Option<PathBuf>,
}

/// The access token: from the file, else from the environment; never empty.
fn read_token(file: Option<&PathBuf>) -> Result<Option<String>, String> {
    let token = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?,
        ),
        None => std::env::var("MOLGAP_SCORER_TOKEN").ok(),
    };
    match token.map(|t| t.trim().to_string()) {
        Some(t) if t.is_empty() => Err("the access token is empty".to_string()),
        other => Ok(other),
    }
}

fn main() -> std::process::ExitCode {
    let Command::Serve(args) = Cli::parse().command else {
        print!("{}", scorer::openapi::document_text());
        return std::process::ExitCode::SUCCESS;
    };
    let ServeArgs {
        app,
        bind,
        token_file,
        allow_host,
        header_timeout,
        max_new_jobs_per_minute,
        port,
        db,
        workers,
        threads_per_worker,
        dask,
        task_retries,
        threads_per_task,
        timeout,
        max_queue,
        max_heavy_atoms,
        max_molecules,
        max_body,
        allow_origin,
        python,
    } = *args;
    let cores = default_workers();
    let python = python
        .or_else(|| std::env::var_os("MOLGAP_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| {
            let venv = PathBuf::from(".venv/bin/python");
            if venv.exists() {
                venv
            } else {
                PathBuf::from("python3")
            }
        });
    let token = match read_token(token_file.as_ref()) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let config = ServeConfig {
        bind,
        port,
        db,
        workers: WorkerConfig {
            python,
            job_timeout: std::time::Duration::from_secs_f64(timeout),
            backend: match dask {
                None => {
                    let workers = workers.unwrap_or(cores).max(1);
                    Backend::Local {
                        workers,
                        threads_per_worker: threads_per_worker.unwrap_or(cores / workers).max(1),
                    }
                }
                Some(scheduler) => Backend::Dask(ClusterConfig {
                    scheduler,
                    in_flight: workers.map(|n| n.max(1)),
                    retries: task_retries,
                    threads_per_task: threads_per_task.max(1),
                }),
            },
        },
        queue_capacity: max_queue,
        limits: Limits {
            max_heavy_atoms,
            max_molecules_per_request: max_molecules,
        },
        allowed_origins: allow_origin,
        max_body_bytes: max_body,
        token,
        extra_hosts: allow_host,
        header_timeout: std::time::Duration::from_secs_f64(header_timeout.clamp(0.1, 3600.0)),
        max_new_jobs_per_minute: max_new_jobs_per_minute.max(1),
        app_dir: app,
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
