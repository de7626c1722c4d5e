//! The smoke gate: `[[smoke]]` HTTP checks against each env's own address on a real
//! `cutover sim serve`, and the pre-flight before the first step in the cockpit (tmux).
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::config::Config;
use cutover::core::Env;
use cutover::signals::smoke::HttpSmoke;

fn smoke_config(sim: &SimServe, checks: &str) -> String {
    format!(
        "poll-interval = \"500ms\"\n[envs.blue]\naddress = \"http://{}\"\n[envs.green]\naddress = \"http://{}\"\n{checks}",
        sim.blue, sim.green
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_pass_and_fail_against_the_candidates_own_address() {
    let sim = SimServe::start("happy", &[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        &smoke_config(
            &sim,
            r#"
[[smoke]]
name = "home"
path = "/?sleep=0"
expect-body = "v1."
[[smoke]]
name = "teapot"
path = "/health"
expect-status = 418
[[smoke]]
name = "fast"
method = "get"
path = "/"
max-latency = "1ms"
[[smoke]]
name = "by-label"
url = "http://127.0.0.1:1/{env}/never"
timeout = "1s"
"#,
        ),
    );
    let config = Config::load(&cfg).unwrap();
    assert_eq!(config.smoke.len(), 4);
    assert_eq!(
        config.smoke[3].probes.green.url,
        "http://127.0.0.1:1/green/never"
    );
    let report = HttpSmoke::new(config.smoke[..3].to_vec())
        .run(Env::Green)
        .await;
    assert!(!report.passed);
    let s = &report.summary;
    assert!(s.starts_with("2 of 3 checks failed"), "{s}");
    assert!(
        s.contains(&format!(
            "teapot: http://{}/health → HTTP 200 (expected 418)",
            sim.green
        )),
        "{s}"
    );
    assert!(s.contains("fast: ") && s.contains("> max 1 ms"), "{s}");
    assert!(!s.contains("home"), "home passed: {s}");
    let report = HttpSmoke::new(config.smoke[..1].to_vec())
        .run(Env::Blue)
        .await;
    assert!(report.passed, "{}", report.summary);
    assert_eq!(report.summary, "1/1 checks passed");
    let report = HttpSmoke::new(config.smoke[3..].to_vec())
        .run(Env::Green)
        .await;
    assert!(
        !report.passed && report.summary.contains("by-label"),
        "{}",
        report.summary
    );

    // Bad smoke config: the key, the value and what was expected; exit 2.
    for (checks, words) in [
        (
            "[[smoke]]\npath = \"health\"\n",
            "key `smoke[0].path`: value \"health\"",
        ),
        ("[[smoke]]\nname = \"x\"\n", "expected exactly one of them"),
        (
            "[[smoke]]\npath = \"/\"\nexpect-stauts = 200\n",
            "unknown field `expect-stauts`",
        ),
        (
            "[[smoke]]\npath = \"/\"\nmax-latency = \"fast\"\n",
            "key `smoke[0].max-latency`",
        ),
    ] {
        let bad = sim.config(dir.path(), &smoke_config(&sim, checks));
        let o = cutover(&bad, &["check"]);
        assert_eq!(o.status.code(), Some(2), "{checks}");
        assert!(stderr(&o).contains(words), "{checks}: {}", stderr(&o));
    }
}

/// A failing smoke check stops the first step with the pre-flight checklist; stepping on
/// is an explicit override, journaled.
#[test]
fn a_failed_preflight_asks_for_an_override_that_is_journaled() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        &smoke_config(
            &sim,
            "[[smoke]]\nname = \"home\"\npath = \"/\"\n[[smoke]]\nname = \"teapot\"\npath = \"/health\"\nexpect-status = 418\n",
        ),
    );
    let t = Tmux::new("smoke");
    t.start(120, 32, &cockpit_cmd(&cfg));
    let s = t.wait(20, "the checklist", |s| {
        s.contains("pre-flight") && s.contains("✓ green healthy")
    });
    assert!(s.contains("○ smoke not run"), "{s}");
    t.keys(&["Right"]);
    // The whole dialog, down to its keys line: a frame caught mid-draw is not it.
    let s = t.wait(20, "the override question", |s| {
        s.contains("PRE-FLIGHT") && s.contains("y confirm")
    });
    assert!(
        s.contains("✕ smoke failed: 1 of 2 checks failed: teapot"),
        "{s}"
    );
    assert!(s.contains("y confirm"), "{s}");
    assert_eq!(
        status(&cfg)["share"],
        0,
        "nothing written before the override"
    );
    t.keys(&["y"]);
    t.wait(20, "10 % applied", |s| {
        s.contains("[10]") && s.contains("→ 10 % applied")
    });
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"preflight-override\""), "{journal}");
    assert!(journal.contains("not met: smoke passed"), "{journal}");
    t.keys(&["r"]);
    t.wait(20, "rolled back", |s| s.contains("[0]"));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

/// A smoke check passes on an answer, not on its first line: a 200 whose body trickles
/// forever fails at the check's timeout, and one whose body never ends fails at 16 MB;
/// both passed before (the status was all that was looked at).
#[tokio::test(flavor = "multi_thread")]
async fn a_smoke_check_needs_the_whole_answer() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Bounded: at most 8 connections, each at most 5 s or 64 MB.
        for s in l.incoming().take(8) {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n",
                );
                let (chunk, pause, count) = if req.starts_with("GET /trickle") {
                    (vec![b'.'; 1], std::time::Duration::from_millis(100), 50)
                } else if req.starts_with("GET /endless") {
                    (vec![b'x'; 64 * 1024], std::time::Duration::ZERO, 1024)
                } else {
                    let _ = s.write_all(b"2\r\nok\r\n0\r\n\r\n");
                    return;
                };
                for _ in 0..count {
                    let head = format!("{:x}\r\n", chunk.len());
                    if s.write_all(head.as_bytes()).is_err()
                        || s.write_all(&chunk).is_err()
                        || s.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                    std::thread::sleep(pause);
                }
            });
        }
    });
    let text = format!(
        "name = \"a\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:1\"\n[[smoke]]\nname = \"trickle\"\nurl = \"http://127.0.0.1:{port}/trickle\"\ntimeout = \"1s\"\n[[smoke]]\nname = \"endless\"\nurl = \"http://127.0.0.1:{port}/endless\"\ntimeout = \"20s\"\n[[smoke]]\nname = \"whole\"\nurl = \"http://127.0.0.1:{port}/whole\"\ntimeout = \"2s\"\n"
    );
    let config = Config::parse(&text, "t").unwrap();
    let report = HttpSmoke::new(config.smoke.clone()).run(Env::Green).await;
    let s = &report.summary;
    assert!(!report.passed, "{s}");
    assert!(s.starts_with("2 of 3 checks failed"), "{s}");
    assert!(
        s.contains("trickle: ") && s.contains("answer not finished within 1.0 s"),
        "{s}"
    );
    assert!(
        s.contains("endless: ") && s.contains("body: response over 16 MB: not read"),
        "{s}"
    );
    assert!(!s.contains("whole"), "the whole answer passes: {s}");
}
