//! The whole chain: `cutover sim serve` → a real Prometheus scraping it every second →
//! cutover reading error rate and p99 through PromQL.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use std::time::{Duration, Instant};

fn prom_config(sim: &SimServe, dir: &std::path::Path, prom: &str) -> std::path::PathBuf {
    sim.config(
        dir,
        &format!(
            "poll-interval = \"500ms\"\n\n[prometheus]\nurl = \"{prom}\"\nwindow = \"10s\"\n\n[[prometheus.queries]]\nname = \"ok/s\"\nquery = 'sum by (env) (rate(http_requests_total{{env=~\"{{envs}}\",code=\"200\"}}[{{window}}]))'\nunit = \"/s\"\nbad = \"down\"\nmax-change = 0.9\n\n[guardrails]\nmax-error-rate = 0.01\nmax-p99 = \"1s\"\n"
        ),
    )
}

fn green(s: &serde_json::Value, key: &str) -> Option<f64> {
    s["envs"]["green"][key].as_f64()
}

/// Polls `status --json` until `pred` holds, returning that status.
fn status_until(
    cfg: &std::path::Path,
    secs: u64,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = status(cfg);
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for {what}; last status: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn bad_release_through_prometheus_rises_falls_and_survives_prometheus_dying() {
    if !require("prometheus") {
        return;
    }
    let sim = SimServe::start("bad-release", &["--no-sleep"]);
    let mut prom = Prometheus::start(&[&sim.blue, &sim.green]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = prom_config(&sim, dir.path(), &prom.url);

    // Before any traffic on green: no data through PromQL, said as NaN/empty, never 0.
    let s = status_until(&cfg, 60, "blue's rps through Prometheus", |s| {
        green(s, "rps").is_some() || s["envs"]["blue"]["rps"].as_f64().is_some_and(|r| r > 0.0)
    });
    assert!(
        green(&s, "error_rate").is_none(),
        "no traffic is not 0 % errors: {s:#}"
    );
    let note = s["envs"]["green"]["notes"]["error_rate"]
        .as_str()
        .unwrap_or_default();
    assert!(
        note.starts_with("NaN") || note.starts_with("empty"),
        "{s:#}"
    );

    let o = cutover(&cfg, &["set", "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status_until(
        &cfg,
        120,
        "green's error rate and p99 past the guardrail",
        |s| {
            green(s, "error_rate").is_some_and(|e| e > 0.01)
                && green(s, "p99_ms").is_some_and(|p| p > 1000.0)
        },
    );
    assert_eq!(s["guardrails"]["status"], "breach", "{s:#}");
    let breaches = s["guardrails"]["breaches"].as_array().unwrap();
    assert!(
        breaches.iter().any(|b| b == "error-rate") && breaches.iter().any(|b| b == "p99"),
        "{s:#}"
    );
    assert!(
        s["errors"]["signals"].as_array().unwrap().is_empty(),
        "{s:#}"
    );
    assert!(
        green(&s, "requests").is_some_and(|n| n > 100.0),
        "counts come through increase(): {s:#}"
    );
    assert_eq!(
        s["vs_live"]["significant"], true,
        "a real regression is called out: {s:#}"
    );
    let ok_rate = |env: &str| s["envs"][env]["metrics"]["ok/s"].as_f64();
    assert!(
        ok_rate("blue").is_some_and(|v| v > 10.0) && ok_rate("green").is_some_and(|v| v > 10.0),
        "the business metric per env: {s:#}"
    );
    assert!(
        !breaches.iter().any(|b| b == "ok/s"),
        "ok/s per request as live's: {s:#}"
    );

    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status_until(&cfg, 120, "the breach to clear after rollback", |s| {
        s["guardrails"]["status"] != "breach" && green(s, "error_rate").is_none_or(|e| e < 0.01)
    });
    assert_eq!(s["share"], 0);

    // Prometheus dies: signals are said to be unavailable, values are unknown, writes work.
    // (Straight back onto the release just rolled back is a pre-flight --yes overrides.)
    assert!(cutover(&cfg, &["set", "10", "--yes"]).status.success());
    prom.kill();
    let o = cutover(&cfg, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        green(&s, "error_rate").is_none() && green(&s, "p99_ms").is_none(),
        "{s:#}"
    );
    let err = s["errors"]["signals"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("prometheus") && (err.contains("refused") || err.contains("connect")),
        "{err}"
    );
    let o = cutover(&cfg, &["rollback"]);
    assert!(
        o.status.success(),
        "rollback works with Prometheus down: {}",
        stderr(&o)
    );
    assert_eq!(status(&cfg)["share"], 0);
}

#[test]
fn cockpit_marks_values_stale_when_prometheus_dies_and_still_rolls_back() {
    if !require("prometheus") || !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let mut prom = Prometheus::start(&[&sim.blue, &sim.green]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = prom_config(&sim, dir.path(), &prom.url);
    assert!(cutover(&cfg, &["set", "30"]).status.success());
    let socket = format!("cutover-prom-{}", std::process::id());
    let tmux = |args: &[&str]| {
        let o = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let cmd = format!(
        "{} --config {}; echo EXITED:$?; sleep 600",
        bin().display(),
        cfg.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "32",
        &cmd,
    ]);
    let screen = || tmux(&["capture-pane", "-p", "-t", "t"]);
    let wait = |secs, what: &str, pred: &dyn Fn(&str) -> bool| {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > end {
                tmux(&["kill-server"]);
                panic!("timed out waiting for {what}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait(90, "green's p99 through Prometheus", &|s| {
        s.lines()
            .any(|l| l.contains("p99") && l.split('│').nth(2).is_some_and(|g| g.contains(" ms")))
    });
    assert!(
        screen().contains("ok/s"),
        "the business metric has its row:\n{}",
        screen()
    );
    prom.kill();
    let s = wait(30, "values marked STALE", &|s| {
        s.contains("STALE") && s.contains("⚠ prometheus")
    });
    assert!(s.contains("[30]"), "the traffic state is still shown:\n{s}");
    tmux(&["send-keys", "-t", "t", "r"]);
    wait(20, "rollback verified on screen", &|s| {
        s.contains("ROLLBACK → 0 % applied")
    });
    assert_eq!(status(&cfg)["share"], 0);
    tmux(&["send-keys", "-t", "t", "q"]);
    wait(20, "exit", &|s| s.contains("EXITED:0"));
    tmux(&["kill-server"]);
}
