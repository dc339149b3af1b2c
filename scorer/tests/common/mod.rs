//! A real scorer process on 127.0.0.1 and a minimal HTTP/1.1 client for it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing; run scripts/setup.sh",
        venv.display()
    );
    venv
}

pub fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("molgap-scorer-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Scorer {
    child: Child,
    pub addr: String,
    pub banner: String,
    db: PathBuf,
    args: Vec<String>,
}

impl Scorer {
    /// Starts `scorer serve` on a free port with the job store `db`.
    pub fn start(db: &Path, extra: &[&str]) -> Scorer {
        Scorer::start_in(db, extra, &[], None)
    }

    /// Starts `scorer serve` with extra environment variables and, if given,
    /// its own working directory.
    pub fn start_in(db: &Path, extra: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> Scorer {
        let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut command = serve_command(db, &args);
        command.envs(env.iter().copied());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scorer");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|r| r.split(|c: char| c.is_whitespace() || c == '/').next())
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_string();
        Scorer {
            child,
            addr,
            banner,
            db: db.to_path_buf(),
            args,
        }
    }

    /// Kills the service at once (SIGKILL), as a crash or power cut would.
    pub fn kill(mut self) -> (PathBuf, Vec<String>) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.db.clone(), self.args.clone())
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        request(
            &self.addr,
            method,
            path,
            &[("content-type", "application/json")],
            body,
        )
    }

    pub fn post(&self, body: &str) -> Response {
        self.request("POST", "/v1/jobs", Some(body))
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// Waits (long-polling) until job `id` is done or failed.
    pub fn wait(&self, id: i64, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let job = self.get(&format!("/v1/jobs/{id}?wait=20")).json();
            if job["state"] == "done" || job["state"] == "failed" {
                return job;
            }
            assert!(
                start.elapsed() < limit,
                "job {id} still {} after {limit:?}",
                job["state"]
            );
        }
    }

    /// Waits until job `id` is running on a worker, and returns that job view.
    pub fn wait_running(&self, id: i64, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let job = self.get(&format!("/v1/jobs/{id}")).json();
            if job["state"] == "running" && job["worker_pid"].is_i64() {
                return job;
            }
            assert!(
                job["state"] == "queued" || job["state"] == "running",
                "{job}"
            );
            assert!(start.elapsed() < limit, "job {id} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn health(&self) -> Value {
        self.get("/v1/health").json()
    }
}

fn serve_command(db: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scorer"));
    command
        .args(["serve", "--port", "0", "--db"])
        .arg(db)
        .arg("--python")
        .arg(python())
        .args(args);
    command
}

/// Runs `scorer serve` expecting it to refuse to start; returns its stderr.
pub fn start_fails(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let mut child = serve_command(db, &args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scorer");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "the scorer exited 0");
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return stderr;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the scorer started, but should have refused to");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Scorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect to scorer");
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}
