//! The scorer is safe to share: each test here is one of the failures found
//! by probing the service as a hostile or careless user would (issue 14's
//! table, numbered as there), against the real binary and real workers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Scorer, request, scratch, start_fails};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(300);

fn submit(scorer: &Scorer, smiles: &str) -> Value {
    let r = scorer.post(&format!(r#"{{"smiles": {smiles}, "level": "tiny"}}"#));
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()
}

fn first_id(reply: &Value) -> i64 {
    reply["jobs"][0]["id"].as_i64().unwrap()
}

fn total_jobs(scorer: &Scorer) -> u64 {
    let queue = &scorer.health()["queue"];
    ["queued", "running", "done", "failed"]
        .iter()
        .map(|k| queue[k].as_u64().unwrap())
        .sum()
}

/// Probe 1: Another local user could plant a module where the worker imports from:
/// the scorer once wrote its scripts to `<tmp>/molgap-scorer-<pid>` and ran
/// them from there. Now nothing is written to the temporary directory, and
/// neither the working directory nor PYTHONPATH can shadow a module.
#[test]
fn the_worker_imports_nothing_another_user_can_plant() {
    let dir = scratch("planted");
    let tmp = dir.join("tmp");
    let planted = dir.join("planted");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&planted).unwrap();
    let marker = dir.join("planted-code-ran");
    for module in ["json", "dft", "types", "pyscf", "numpy"] {
        std::fs::write(
            planted.join(format!("{module}.py")),
            format!("open({:?}, 'a').write('{module}\\n')\n", marker.display()),
        )
        .unwrap();
    }
    let scorer = Scorer::start_in(
        &dir.join("jobs.sqlite"),
        &["--workers", "1"],
        &[
            ("TMPDIR", tmp.to_str().unwrap()),
            ("PYTHONPATH", planted.to_str().unwrap()),
        ],
        Some(&planted),
    );
    let done = scorer.wait(first_id(&submit(&scorer, r#""O""#)), LONG);
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        !marker.exists(),
        "planted modules ran: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let written: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("molgap-scorer") || name.ends_with(".py"))
        .collect();
    assert!(
        written.is_empty(),
        "written to the shared temp dir: {written:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 2: Two services on one store computed jobs twice and got "database is
/// locked"; the second now refuses to start, and the lock goes with the first.
#[test]
fn a_second_scorer_on_the_same_store_refuses_to_start() {
    let dir = scratch("two-instances");
    let db = dir.join("jobs.sqlite");
    let first = Scorer::start(&db, &["--workers", "1"]);
    let stderr = start_fails(&db, &["--workers", "1"], &[]);
    assert!(
        stderr.contains("in use by another scorer") && stderr.contains("--db"),
        "{stderr}"
    );
    assert_eq!(first.health()["status"], "ok");
    first.kill();
    // The lock is the process's: once it is gone, the store opens again.
    let again = Scorer::start(&db, &["--workers", "1"]);
    assert_eq!(again.health()["status"], "ok");
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 3: A result that finished while the store was locked was dropped, and its
/// job stayed `running`. Now the slot retries until the store takes it.
#[test]
fn a_result_finished_while_the_store_is_locked_is_kept() {
    let dir = scratch("locked-store");
    let db = dir.join("jobs.sqlite");
    let scorer = Scorer::start(&db, &["--workers", "1"]);
    let id = first_id(&submit(&scorer, r#""O""#));
    scorer.wait_running(id, LONG);
    // Another writer holds the store for longer than SQLite's busy timeout (5 s)
    // while water at STO-3G (about a second) finishes.
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    std::thread::sleep(Duration::from_secs(12));
    blocker.execute_batch("COMMIT").unwrap();
    let job = scorer.wait(id, Duration::from_secs(60));
    assert_eq!(job["state"], "done", "{job}");
    assert!(job["result"]["gap_ev"].is_f64(), "{job}");
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 4a: Listening beyond loopback needs a token, and then every request must
/// carry it.
#[test]
fn beyond_loopback_every_request_needs_the_token() {
    let dir = scratch("token");
    let db = dir.join("jobs.sqlite");
    let stderr = start_fails(&db, &["--bind", "0.0.0.0"], &[("MOLGAP_SCORER_TOKEN", "")]);
    assert!(stderr.contains("token is empty"), "{stderr}");
    let stderr = start_fails(&db, &["--bind", "0.0.0.0"], &[]);
    assert!(stderr.contains("MOLGAP_SCORER_TOKEN"), "{stderr}");

    let token = "correct horse battery staple";
    let scorer = Scorer::start_in(
        &db,
        &["--bind", "0.0.0.0", "--workers", "1"],
        &[("MOLGAP_SCORER_TOKEN", token)],
        None,
    );
    // Reach it over loopback only.
    let port = scorer.addr.rsplit(':').next().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let json = ("content-type", "application/json");
    let body = Some(r#"{"smiles": "C", "level": "tiny"}"#);
    let bearer = format!("Bearer {token}");
    for auth in [None, Some("Bearer wrong"), Some(token)] {
        let mut headers = vec![json];
        headers.extend(auth.map(|a| ("authorization", a)));
        let r = request(&addr, "POST", "/v1/jobs", &headers, body);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.body);
        assert_eq!(r.json()["code"], "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let health = request(
        &addr,
        "GET",
        "/v1/health",
        &[("authorization", &bearer)],
        None,
    );
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["queue"]["queued"], 0, "nothing was queued");
    let r = request(
        &addr,
        "POST",
        "/v1/jobs",
        &[json, ("authorization", &bearer)],
        body,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 4b: On loopback, a request addressed to another name (a web page whose DNS
/// name was rebound to 127.0.0.1) is refused.
#[test]
fn on_loopback_a_foreign_host_name_is_refused() {
    let dir = scratch("host");
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--allow-host", "scorer.lab"],
    );
    let port = scorer.addr.rsplit(':').next().unwrap().to_string();
    let post = |host: &str| {
        request(
            &scorer.addr,
            "POST",
            "/v1/jobs",
            &[("content-type", "application/json"), ("host", host)],
            Some(r#"{"smiles": "C", "level": "tiny"}"#),
        )
    };
    let evil = post(&format!("evil.example:{port}"));
    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(evil.json()["code"], "foreign_host");
    assert_eq!(total_jobs(&scorer), 0);
    for host in [format!("localhost:{port}"), format!("scorer.lab:{port}")] {
        assert_eq!(post(&host).status, 202, "{host}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 5: A worker killed while idle failed the next job ("signal 9") without
/// running it. Now it is replaced before the job is sent.
#[test]
fn a_worker_killed_while_idle_is_replaced_before_the_next_job() {
    let dir = scratch("idle-kill");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let first = scorer.wait(first_id(&submit(&scorer, r#""O""#)), LONG);
    assert_eq!(first["state"], "done", "{first}");
    let pid = first["worker_pid"].as_i64().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(500));
    let next = scorer.wait(first_id(&submit(&scorer, r#""N""#)), LONG);
    assert_eq!(next["state"], "done", "{next}");
    assert_ne!(next["worker_pid"], first["worker_pid"]);
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 6: `wait=2e19` panicked the handler (an empty reply).
#[test]
fn a_huge_wait_is_bounded_not_a_panic() {
    let dir = scratch("wait");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let r = scorer.get("/v1/jobs/999?wait=2e19");
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["code"], "no_such_job");
    let id = first_id(&submit(&scorer, r#""O""#));
    scorer.wait(id, LONG);
    let started = Instant::now();
    let r = scorer.get(&format!("/v1/jobs/{id}?wait=1e300"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "done");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(scorer.get("/v1/jobs/1?wait=-1").json()["code"], "bad_wait");
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 7: 405, 414, 431 and bad escapes had the right status but no JSON body.
#[test]
fn every_error_has_a_json_body() {
    let dir = scratch("json-errors");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let long_query = format!("/v1/molecules?smiles={}", "C".repeat(10_000));
    let many_headers: Vec<(String, String)> = (0..80)
        .map(|i| (format!("x-h{i}"), "v".to_string()))
        .collect();
    let many: Vec<(&str, &str)> = many_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cases = [
        (
            request(&scorer.addr, "DELETE", "/v1/jobs", &[], None),
            405,
            "method_not_allowed",
        ),
        (
            request(&scorer.addr, "GET", &long_query, &[], None),
            414,
            "uri_too_long",
        ),
        (
            request(&scorer.addr, "GET", "/v1/health", &many, None),
            431,
            "headers_too_large",
        ),
        (
            request(&scorer.addr, "GET", "/v1/jobs/%FF%FE", &[], None),
            400,
            "bad_request",
        ),
        // A query decodes lossily, so this reaches the SMILES check.
        (
            request(&scorer.addr, "GET", "/v1/molecules?smiles=%FF", &[], None),
            422,
            "invalid_molecule",
        ),
        (
            request(&scorer.addr, "GET", "/v1/jobs/1?wait=%FF", &[], None),
            400,
            "bad_wait",
        ),
        (
            request(&scorer.addr, "GET", "/v1/nothing", &[], None),
            404,
            "not_found",
        ),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status, status, "{}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{status}: {}",
            response.body
        );
        let body = response.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(!body["error"].as_str().unwrap().is_empty(), "{body}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 8: 1,100 connections that never finished their headers stopped health
/// from answering. Now each is cut off after the header timeout.
#[test]
fn stalled_connections_are_cut_off_and_health_answers() {
    let dir = scratch("slowloris");
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--header-timeout", "2"],
    );
    let mut stalled: Vec<TcpStream> = (0..1100)
        .map(|_| {
            let mut s = TcpStream::connect(&scorer.addr).unwrap();
            s.write_all(b"GET /v1/health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    assert_eq!(scorer.health()["status"], "ok");
    assert!(started.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buffer = Vec::new();
        // The server closed the connection (a 408 at most, then EOF).
        let closed = s.read_to_end(&mut buffer).is_ok() || buffer.starts_with(b"HTTP/1.1 408");
        assert!(closed, "a stalled connection is still open");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 9: `--allow-origin '*'` panicked at start-up; a malformed origin was
/// silently dropped.
#[test]
fn any_origin_works_and_a_malformed_one_is_an_error() {
    let dir = scratch("cors-any");
    let db = dir.join("jobs.sqlite");
    let stderr = start_fails(&db, &["--allow-origin", "not an origin"], &[]);
    assert!(stderr.contains("is not an origin"), "{stderr}");
    let scorer = Scorer::start(&db, &["--workers", "1", "--allow-origin", "*"]);
    let preflight = request(
        &scorer.addr,
        "OPTIONS",
        "/v1/jobs",
        &[
            ("origin", "http://example.com"),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 10: An SCF that did not converge was stored as done and served from the
/// cache for ever. Now, after the robust retries, it fails and is not cached.
#[test]
fn an_unconverged_scf_fails_and_is_never_cached() {
    let dir = scratch("unconverged");
    let scorer = Scorer::start_in(
        &dir.join("jobs.sqlite"),
        &["--workers", "1"],
        &[("MOLGAP_SCF_MAX_CYCLE", "0")],
        None,
    );
    let failed = scorer.wait(first_id(&submit(&scorer, r#""O""#)), LONG);
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("did not converge") && error.contains("newton"),
        "{error}"
    );
    let again = submit(&scorer, r#""O""#);
    assert_eq!(again["jobs"][0]["disposition"], "queued", "{again}");
    assert_eq!(scorer.health()["queue"]["results"], 0);
    std::fs::remove_dir_all(dir).ok();
}

/// Probe 11: 200 requests of 100 cached molecules made 20,000 job rows in 23 s.
/// Now one client may create a set number of rows per minute.
#[test]
fn new_jobs_per_client_are_limited() {
    let dir = scratch("rate");
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--max-new-jobs-per-minute", "5"],
    );
    submit(&scorer, r#"["C", "N", "O"]"#);
    let r = scorer.post(r#"{"smiles": ["CC", "CO", "CN"], "level": "tiny"}"#);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["code"], "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(total_jobs(&scorer), 3);
    // Joining jobs that exist creates no rows and costs nothing.
    let joined = scorer.post(r#"{"smiles": ["C", "N"], "level": "tiny"}"#);
    if joined.status == 202 {
        assert_eq!(total_jobs(&scorer) - 3, {
            let jobs = joined.json()["jobs"].as_array().unwrap().clone();
            jobs.iter().filter(|j| j["disposition"] != "joined").count() as u64
        });
    }
    let too_many = scorer.post(r#"{"smiles": ["C", "N", "O", "CC", "CO", "CN"], "level": "tiny"}"#);
    assert_eq!(too_many.status, 413, "{}", too_many.body);
    assert_eq!(scorer.health()["limits"]["max_new_jobs_per_minute"], 5);
    std::fs::remove_dir_all(dir).ok();
}
