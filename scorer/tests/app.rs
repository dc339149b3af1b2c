//! `scorer serve --app DIR` serves the built browser app at / beside the API,
//! on one origin (what `scripts/app.sh` runs).

mod common;

use common::{Scorer, scratch, start_fails};

#[test]
fn the_app_and_the_api_share_one_origin() {
    let dir = scratch("app");
    let app = dir.join("dist");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("index.html"),
        "<!DOCTYPE html><title>molgap</title>",
    )
    .unwrap();
    std::fs::write(app.join("weights.bin"), b"MOLGAPW1 not really").unwrap();

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let stderr = start_fails(
        &dir.join("jobs.sqlite"),
        &["--app", empty.to_str().unwrap()],
        &[],
    );
    assert!(stderr.contains("no index.html"), "{stderr}");

    let scorer = Scorer::start(
        &dir.join("jobs.sqlite"),
        &["--workers", "1", "--app", app.to_str().unwrap()],
    );
    let url = format!("http://{}", scorer.addr);
    assert!(
        scorer
            .banner
            .contains(&format!("molgap app at {url}/?scorer={url}")),
        "{}",
        scorer.banner
    );
    let page = scorer.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("<title>molgap</title>"));
    assert_eq!(scorer.get("/weights.bin").body, "MOLGAPW1 not really");
    assert_eq!(scorer.health()["status"], "ok");
    let missing = scorer.get("/no-such-file.js");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "not_found");
    assert_eq!(scorer.get("/v1/nothing").json()["code"], "not_found");
    std::fs::remove_dir_all(dir).ok();
}
