//! The OpenAPI document checked against the running server by Schemathesis (PyPI): it
//! generates requests from `/api/openapi.json`, valid and invalid, and checks every answer
//! against the document (status codes, content types, response schemas, no 5xx).
//!
//! Schemathesis comes from `scripts/install-python` (a venv under `~/.cache/vigie/python`), or
//! `$VIGIE_SCHEMATHESIS` names the executable.

mod common;

use std::path::PathBuf;
use std::process::Command;

use time::macros::datetime;
use vigie_store::fixtures::varied_events;

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("VIGIE_SCHEMATHESIS").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/vigie/python/bin/schemathesis")
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "schemathesis is not installed at {}: run scripts/install-python (or set VIGIE_SCHEMATHESIS)",
        path.display()
    );
    path
}

#[test]
fn the_running_server_answers_as_its_openapi_document_says() {
    let schemathesis = schemathesis();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = vigie_stack::Mysql::shared()
        .fresh_database("server_schemathesis")
        .unwrap();
    let (address, stop, server) = runtime.block_on(async {
        let pool = vigie_server::connect(&url).await.unwrap();
        let events = varied_events(3, 300, datetime!(2026-11-22 00:00:00 UTC));
        vigie_store::record_events(&pool, &events).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = vigie_server::Config::with_database(&url);
        let server = tokio::spawn(vigie_server::serve(config, listener, async {
            stopped.await.ok();
        }));
        // The history answers 503 until the server has checked the migrations.
        common::wait_until_ready(address, &server, 10).await;
        (address, stop, server)
    });

    // Schemathesis writes its example database and reports into the working directory.
    let workdir = tempfile::tempdir().unwrap();
    let output = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("http://{address}/api/openapi.json"))
        .args(["--checks", "all", "--max-examples", "25", "--workers", "2"])
        // Cross-field rules (from ≤ to, bbox minimums ≤ maximums, a cursor this API issued, a
        // bucket small enough for the range) are beyond OpenAPI: a request valid by the schema
        // alone may rightly get a 400. Every other check runs, 5xx included.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--seed", "1", "--no-color"])
        .current_dir(workdir.path())
        .output()
        .expect("schemathesis runs");
    stop.send(()).ok();
    runtime.block_on(server).unwrap().unwrap();
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
