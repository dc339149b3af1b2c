//! A Python helper process speaking JSON lines: the local DFT worker
//! (`py/worker.py`) and the cluster bridge (`py/cluster.py`) both start here.
//!
//! The Python sources are compiled into the binary and handed to an isolated
//! interpreter (`python -I`) on its stdin: no script directory exists that
//! another user could plant a module in, and neither the working directory
//! nor `PYTHONPATH` is on its `sys.path`.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::lock;

pub const DFT_PY: &str = include_str!("../py/dft.py");

/// Reads the sources from the first stdin line, installs `dft` as a module
/// and runs the main script as `__main__` with `CONFIG` and `DFT_SOURCE` in
/// its globals; later lines are the script's protocol.
const BOOTSTRAP_PY: &str = "import json, sys, types\n\
sources = json.loads(sys.stdin.readline())\n\
dft = types.ModuleType('dft')\n\
exec(compile(sources['dft'], 'dft.py', 'exec'), dft.__dict__)\n\
sys.modules['dft'] = dft\n\
exec(compile(sources['main'], sources['main_name'], 'exec'), \
{'__name__': '__main__', 'CONFIG': sources['config'], 'DFT_SOURCE': sources['dft']})\n";

/// How long a new process may take to import its libraries and say it is ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Lines of stderr kept for crash reports.
const STDERR_TAIL: usize = 20;

/// Which script a process runs.
#[derive(Clone, Copy, Debug)]
pub struct Script {
    pub name: &'static str,
    pub source: &'static str,
}

pub struct PythonProcess {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: Lines<BufReader<ChildStdout>>,
    /// The last lines the process wrote to stderr, for crash reports.
    pub stderr_tail: Arc<Mutex<VecDeque<String>>>,
    pub pid: u32,
    /// The process's first line, `{"ready": true, ...}`.
    pub hello: Value,
}

impl PythonProcess {
    /// Starts `script` and waits for its ready line. `threads` caps the
    /// OpenMP and BLAS threads of the libraries it loads.
    pub async fn start(
        python: &Path,
        script: Script,
        config: &Value,
        threads: usize,
    ) -> Result<PythonProcess> {
        let threads = threads.to_string();
        // -I: isolated (no script or working directory on sys.path, no
        // PYTHON* variables, no user site-packages).
        let mut child = Command::new(python)
            .args(["-I", "-u", "-c", BOOTSTRAP_PY])
            .env("OMP_NUM_THREADS", &threads)
            .env("OPENBLAS_NUM_THREADS", &threads)
            .env("MKL_NUM_THREADS", &threads)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", python.display()))?;
        let pid = child.id().unwrap_or(0);
        let mut stdin = child.stdin.take().expect("piped");
        let mut sources = json!({
            "dft": DFT_PY,
            "main": script.source,
            "main_name": script.name,
            "config": config,
        })
        .to_string();
        sources.push('\n');
        stdin
            .write_all(sources.as_bytes())
            .await
            .with_context(|| format!("cannot hand {} its sources", script.name))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
        let tail = stderr_tail.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let mut tail = lock(&tail);
                if tail.len() == STDERR_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        let hello = tokio::time::timeout(STARTUP_TIMEOUT, stdout.next_line())
            .await
            .map_err(|_| anyhow!("no ready line within {} s", STARTUP_TIMEOUT.as_secs()))??;
        let hello: Value = match hello {
            Some(line) => serde_json::from_str(&line)
                .with_context(|| format!("{}'s first line is not JSON", script.name))?,
            None => {
                let status = child.wait().await?;
                bail!(
                    "exited at start ({status}): {}",
                    joined(&lock(&stderr_tail))
                );
            }
        };
        if hello["ready"] != Value::Bool(true) {
            bail!("unexpected first line {hello}");
        }
        Ok(PythonProcess {
            child,
            stdin,
            stdout,
            stderr_tail,
            pid,
            hello,
        })
    }

    /// Writes one protocol line.
    pub async fn send(&mut self, message: &Value) -> Result<()> {
        send_line(&mut self.stdin, message).await
    }
}

pub async fn send_line(stdin: &mut ChildStdin, message: &Value) -> Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    stdin.write_all(line.as_bytes()).await?;
    stdin.flush().await?;
    Ok(())
}

/// The last line a process wrote to stderr, if any.
pub fn last_line(tail: &Mutex<VecDeque<String>>) -> Option<String> {
    lock(tail).back().cloned()
}

fn joined(tail: &VecDeque<String>) -> String {
    tail.iter().cloned().collect::<Vec<_>>().join(" | ")
}

pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => format!("stopped ({status})"),
    }
}
