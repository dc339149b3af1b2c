//! Bad requests get a clear 4xx JSON error, and none of them reaches a worker.

mod common;

use common::{Scorer, request, scratch};

#[test]
fn bad_input_table() {
    let dir = scratch("bad-input");
    let scorer = Scorer::start(&dir.join("jobs.sqlite"), &["--workers", "1"]);
    let many: Vec<String> = (0..101).map(|_| "\"C\"".to_string()).collect();
    let many = format!(r#"{{"smiles": [{}], "level": "tiny"}}"#, many.join(","));
    let huge = format!(r#"{{"smiles": "{}", "level": "tiny"}}"#, "C".repeat(70_000));
    let one = |smiles: &str| format!(r#"{{"smiles": "{smiles}", "level": "tiny"}}"#);
    // (method, path, body, expected status, expected code, phrase in the message)
    let cases: Vec<(&str, &str, String, u16, &str, &str)> = vec![
        (
            "POST",
            "/v1/jobs",
            "not json".into(),
            400,
            "bad_request",
            "send {\"smiles\"",
        ),
        (
            "POST",
            "/v1/jobs",
            "{}".into(),
            422,
            "bad_request",
            "smiles",
        ),
        (
            "POST",
            "/v1/jobs",
            r#"{"smiles": 5}"#.into(),
            422,
            "bad_request",
            "smiles",
        ),
        (
            "POST",
            "/v1/jobs",
            r#"{"smiles": "C", "lvl": "x"}"#.into(),
            422,
            "bad_request",
            "unknown field",
        ),
        (
            "POST",
            "/v1/jobs",
            r#"{"smiles": "C", "level": "ccsd"}"#.into(),
            400,
            "unknown_level",
            "qm9, fast, tiny",
        ),
        (
            "POST",
            "/v1/jobs",
            r#"{"smiles": []}"#.into(),
            400,
            "no_molecules",
            "empty",
        ),
        (
            "POST",
            "/v1/jobs",
            many,
            413,
            "too_many_molecules",
            "limit is 100",
        ),
        (
            "POST",
            "/v1/jobs",
            huge,
            413,
            "body_too_large",
            "length limit",
        ),
        (
            "POST",
            "/v1/jobs",
            one(""),
            422,
            "invalid_molecule",
            "empty",
        ),
        (
            "POST",
            "/v1/jobs",
            one("C(C"),
            422,
            "invalid_molecule",
            "parenthesis",
        ),
        (
            "POST",
            "/v1/jobs",
            one("C1CC"),
            422,
            "invalid_molecule",
            "ring closure",
        ),
        (
            "POST",
            "/v1/jobs",
            one("CCCl"),
            422,
            "invalid_molecule",
            "element Cl",
        ),
        (
            "POST",
            "/v1/jobs",
            one("[Si](C)(C)C"),
            422,
            "invalid_molecule",
            "element Si",
        ),
        (
            "POST",
            "/v1/jobs",
            one("[CH3]"),
            422,
            "invalid_molecule",
            "radical",
        ),
        (
            "POST",
            "/v1/jobs",
            one("CC[O]"),
            422,
            "invalid_molecule",
            "radical",
        ),
        (
            "POST",
            "/v1/jobs",
            one("[F-]"),
            422,
            "invalid_molecule",
            "charge",
        ),
        (
            "POST",
            "/v1/jobs",
            one("C(C)(C)(C)(C)C"),
            422,
            "invalid_molecule",
            "valence",
        ),
        (
            "POST",
            "/v1/jobs",
            one("CC.O"),
            422,
            "invalid_molecule",
            "fragments",
        ),
        (
            "POST",
            "/v1/jobs",
            one("CCCCCCCCCCCCC"),
            422,
            "invalid_molecule",
            "13 heavy atoms; the limit is 12",
        ),
        (
            "POST",
            "/v1/jobs",
            one("C[C@H](O)N"),
            422,
            "invalid_molecule",
            "stereo",
        ),
        (
            "POST",
            "/v1/jobs",
            one("CCé"),
            422,
            "invalid_molecule",
            "not ASCII",
        ),
        (
            "POST",
            "/v1/jobs",
            one("[13CH4]"),
            422,
            "invalid_molecule",
            "isotope",
        ),
        (
            "POST",
            "/v1/jobs",
            one("*C"),
            422,
            "invalid_molecule",
            "wildcard",
        ),
        (
            "POST",
            "/v1/jobs",
            r#"{"smiles": ["CCO", "C1CC", "CCN"], "level": "tiny"}"#.into(),
            422,
            "invalid_molecule",
            "1 of 3 molecules are invalid, nothing was queued; first, #1",
        ),
        (
            "GET",
            "/v1/jobs/999",
            String::new(),
            404,
            "no_such_job",
            "999",
        ),
        (
            "GET",
            "/v1/jobs/abc",
            String::new(),
            404,
            "no_such_job",
            "abc",
        ),
        (
            "GET",
            "/v1/jobs/1?wait=soon",
            String::new(),
            400,
            "bad_wait",
            "soon",
        ),
        (
            "GET",
            "/v1/molecules",
            String::new(),
            400,
            "no_smiles",
            "?smiles=",
        ),
        (
            "GET",
            "/v1/molecules?smiles=C(",
            String::new(),
            422,
            "invalid_molecule",
            "parenthesis",
        ),
        (
            "GET",
            "/v2/jobs",
            String::new(),
            404,
            "not_found",
            "no such endpoint",
        ),
    ];
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    println!(
        "{:<6} {:<44} {:>6}  {:<20} message",
        "method", "request", "status", "code"
    );
    for (method, path, body, status, code, phrase) in &cases {
        let r = scorer.request(method, path, (!body.is_empty()).then_some(body.as_str()));
        let shown: String = format!("{path} {body}").chars().take(44).collect();
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let message = json["error"].as_str().unwrap_or("");
        println!(
            "{method:<6} {shown:<44} {:>6}  {:<20} {message}",
            r.status,
            json["code"].as_str().unwrap_or("")
        );
        if r.status != *status || json["code"] != *code || !message.contains(phrase) {
            failures.push(format!("{method} {shown}: got {} {}", r.status, r.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let no_type = request(
        &scorer.addr,
        "POST",
        "/v1/jobs",
        &[],
        Some(r#"{"smiles": "C"}"#),
    );
    assert_eq!(no_type.status, 415);
    assert_eq!(no_type.json()["code"], "not_json");

    // Nothing reached the queue, let alone a worker.
    let queue = &scorer.health()["queue"];
    for field in ["queued", "running", "done", "failed", "results"] {
        assert_eq!(queue[field], 0, "{field}: {queue}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_full_queue_answers_429_with_a_retry_hint_and_keeps_nothing() {
    let dir = scratch("queue-full");
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--max-queue", "2"],
    );
    let r = scorer.post(r#"{"smiles": ["C", "N", "O"], "level": "tiny"}"#);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["code"], "queue_full");
    assert!(r.json()["error"].as_str().unwrap().contains("retry later"));
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(scorer.health()["queue"]["queued"], 0);
    let r = scorer.post(r#"{"smiles": ["C", "N"], "level": "tiny"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn cors_allows_the_web_app_origin_only() {
    let dir = scratch("cors");
    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--allow-origin", "http://127.0.0.1:8080"],
    );
    let preflight = |origin: &str| {
        request(
            &scorer.addr,
            "OPTIONS",
            "/v1/jobs",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
    };
    let allowed = preflight("http://127.0.0.1:8080");
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8080")
    );
    let other = preflight("http://example.com");
    assert_eq!(other.header("access-control-allow-origin"), None);
    std::fs::remove_dir_all(dir).ok();
}
