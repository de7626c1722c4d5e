//! Webhooks: told of every write, in Slack or generic JSON; a receiver that hangs is said
//! to have failed and does not delay a rollback.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use axum::Router;
use axum::routing::post;
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A receiver on loopback: `/ok` records bodies, `/hang` never answers.
fn receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new()
                .route(
                    "/ok",
                    post(move |body: axum::Json<serde_json::Value>| {
                        let seen = seen.clone();
                        async move {
                            seen.lock().unwrap().push(body.0);
                            "ok"
                        }
                    }),
                )
                .route(
                    "/hang",
                    post(|| async {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                        "late"
                    }),
                );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    (format!("http://{addr}"), got)
}

#[test]
fn webhooks_are_told_and_a_hanging_one_does_not_delay_rollback() {
    if !require("tmux") {
        return;
    }
    let (base, got) = receiver();
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "[[notify]]\nurl-env = \"HOOK_SLACK\"\n[[notify]]\nurl-env = \"HOOK_JSON\"\nformat = \"json\"\n[[notify]]\nurl-env = \"HOOK_HANG\"\ntimeout = \"3s\"\n",
    );
    let env = format!("HOOK_SLACK={base}/ok HOOK_JSON={base}/ok HOOK_HANG={base}/hang");

    // The command line tells every webhook after its write.
    let o = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{env} {} --config {} set 10",
                bin().display(),
                cfg.display()
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("webhook HOOK_HANG not told: no answer within 3.0 s"),
        "{}",
        stderr(&o)
    );
    let bodies = got.lock().unwrap().clone();
    assert!(
        bodies.iter().any(|b| b["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("cutover checkout-api: set green → 10 %"))),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b["event"] == "write" && b["who"].as_str().is_some_and(|w| w.contains('@'))),
        "{bodies:?}"
    );

    // The cockpit: a rollback is applied at once although one webhook hangs.
    let t = Tmux::new("notify");
    t.start(120, 32, &format!("{env} {}", cockpit_cmd(&cfg)));
    t.wait(20, "the cockpit", |s| s.contains("[10]"));
    got.lock().unwrap().clear();
    t.keys(&["r"]);
    let s = t.wait(20, "rollback applied", |s| {
        s.contains("ROLLBACK → 0 % applied in")
    });
    let line = s
        .lines()
        .find(|l| l.contains("ROLLBACK → 0 % applied in"))
        .unwrap();
    let ms: u64 = line
        .split("applied in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        ms < 1000,
        "the hanging webhook (3 s timeout) did not delay the rollback: {ms} ms"
    );
    t.wait(20, "the hanging webhook said to have failed", |s| {
        s.contains("webhook HOOK_HANG not told")
    });
    wait_until(10, "the rollback notice", || {
        got.lock().unwrap().iter().any(|b| {
            b["text"]
                .as_str()
                .is_some_and(|t| t.contains("ROLLBACK → 0 % applied"))
        })
    });
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

#[test]
fn a_webhook_without_its_url_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[[notify]]\nurl-env = \"CUTOVER_TEST_NO_SUCH_HOOK\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:1\"\n").unwrap();
    let o = cutover(&cfg, &["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("notify[0].url-env")
            && stderr(&o).contains("CUTOVER_TEST_NO_SUCH_HOOK"),
        "{}",
        stderr(&o)
    );
}

/// `check` says each webhook: its host takes a connection (nothing posted, the URL's path
/// never shown) or not; a URL with a space or a line break inside is exit 2.
#[test]
fn check_says_each_webhook_and_sends_nothing() {
    let (base, got) = receiver();
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "[[notify]]\nurl-env = \"HOOK_UP\"\n[[notify]]\nurl-env = \"HOOK_DOWN\"\n",
    );
    let run = |up: &str, down: &str| {
        std::process::Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("check")
            .env("HOOK_UP", up)
            .env("HOOK_DOWN", down)
            .output()
            .unwrap()
    };
    let closed = format!("http://127.0.0.1:{}/T0/B1/SecretPathX9", closed_port());
    let o = run(&format!("{base}/ok/SecretPathX9\n"), &closed);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "✓ notify $HOOK_UP: {base}/… accepts connections (nothing sent)"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("✕ notify $HOOK_DOWN: http://127.0.0.1:")
                && l.contains("/…: cannot connect")),
        "{out}"
    );
    assert!(!out.contains("SecretPathX9"), "{out}");
    assert!(got.lock().unwrap().is_empty(), "check posted a notice");
    // A space inside: no URL, and the value not echoed.
    let o = run(&format!("{base}/ok bad"), &closed);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("key `notify[0].url-env`: $HOOK_UP does not hold an http(s) URL"),
        "{}",
        stderr(&o)
    );
}
