//! The `[cloudwatch]` signal source through the real SDK against a loopback CloudWatch that
//! speaks Smithy RPC v2 CBOR (tests/common/cloudwatch.rs; moto 5.2 answers that protocol's
//! path with a 404): one GetMetricData per poll for both envs, whole periods only, the
//! latest point's time said, coarse data stale only after its period; and the binary with
//! an ALB on moto beside it: `status --json` and the cockpit show CloudWatch's numbers.
//!
//! The incident matrix, for this source: CloudWatch failing or hanging fails the poll
//! (said, bounded by the call's timeout), never a zero; old points (past the look-back)
//! are no data; a period without requests is no data, never 0 %; the minute still filling
//! is never read. Values out of range (negative, NaN) are checked by `EnvPoll::apply_to`
//! for every source (core's tests); an answer's size is capped by the AWS HTTP client
//! (`backends/aws_http.rs`) as for every AWS call.
#![allow(clippy::too_many_lines)] // a test tells one story from start to end

mod common;

use common::cloudwatch::{Cw, Fault};
use common::moto::{moto, peers};
use cutover::backends::cloudwatch::{CloudWatchSettings, CloudWatchSource, alb_metrics};
use cutover::core::{EnvPair, Reading};
use cutover::signals::SignalSource;
use std::process::Command;
use std::time::Duration;

const LB: &str = "app/checkout/50dc6c495c0c9188";
const BLUE_TG: &str = "targetgroup/checkout-blue/73e2d6bc24d8a067";
const GREEN_TG: &str = "targetgroup/checkout-green/83e2d6bc24d8a067";

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Waits (at most 6 s) until the minute is not about to turn: the test's own "minute
/// filling now" must still be filling when the source polls.
fn away_from_the_minute_edge() {
    while !(1..=54).contains(&now_s().rem_euclid(60)) {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The start of the last whole minute `back` minutes before the one filling now.
fn minute(back: i64) -> i64 {
    let now = now_s();
    now - now.rem_euclid(60) - 60 * back
}

/// One period of ALB metrics for `tg`.
fn put(cw: &Cw, tg: &str, at: i64, requests: f64, errors: Option<f64>, p99_s: f64) {
    let dims = [("TargetGroup", tg), ("LoadBalancer", LB)];
    let ns = "AWS/ApplicationELB";
    cw.put(ns, "RequestCount", &dims, "Sum", at, requests);
    if let Some(e) = errors {
        cw.put(ns, "HTTPCode_Target_5XX_Count", &dims, "Sum", at, e);
    }
    cw.put(ns, "TargetResponseTime", &dims, "p99", at, p99_s);
}

fn settings(cw: &Cw) -> CloudWatchSettings {
    let (requests, errors, p99, labels) =
        alb_metrics(LB, &EnvPair::new(BLUE_TG.into(), GREEN_TG.into()));
    CloudWatchSettings {
        region: Some("eu-west-1".into()),
        profile: None,
        endpoint_url: Some(cw.url.clone()),
        period: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
        requests,
        errors,
        p99: Some(p99),
        p99_ms_per_unit: 1000.0,
        absent_errors_are_zero: true,
        labels,
        static_credentials: Some(("test".into(), "test".into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_per_poll_gives_both_envs_from_whole_periods() {
    away_from_the_minute_edge();
    let cw = Cw::start();
    // The minute filling now holds a partial count: it must never be read as a rate.
    put(&cw, BLUE_TG, minute(0), 5.0, None, 0.1);
    put(&cw, BLUE_TG, minute(1), 1200.0, Some(6.0), 0.180);
    put(&cw, BLUE_TG, minute(2), 1180.0, Some(2.0), 0.170);
    put(&cw, GREEN_TG, minute(1), 120.0, None, 0.450);
    let src = CloudWatchSource::connect(settings(&cw)).await;
    let p = src.poll().await.unwrap();
    assert_eq!(cw.calls(), 1, "both envs, all metrics: one GetMetricData");
    let req = cw.last_request().unwrap();
    assert_eq!(req.queries.len(), 6, "{req:?}");
    assert!(
        req.end <= (now_s() - now_s().rem_euclid(60)) as f64,
        "never the minute still filling: {req:?}"
    );
    let v = |r: &Option<Reading>| r.as_ref().and_then(Reading::value);
    assert_eq!(v(&p.blue.requests), Some(1200.0), "the last whole minute");
    assert!((v(&p.blue.error_rate).unwrap() - 0.005).abs() < 1e-12);
    assert!((v(&p.blue.rps).unwrap() - 20.0).abs() < 1e-12);
    assert!((v(&p.blue.p99_ms).unwrap() - 180.0).abs() < 1e-9);
    // No 5xx datapoint beside 120 requests: the ALB publishes 5xx only when not zero.
    assert_eq!(v(&p.green.error_rate), Some(0.0));
    assert!((v(&p.green.p99_ms).unwrap() - 450.0).abs() < 1e-9);
    let note = p.blue.note.clone().unwrap();
    assert!(note.starts_with("CloudWatch 1-min, latest "), "{note}");
    // Its lag is the age of the period's end: about a minute and never a poll's worth.
    assert!(p.blue.lags.rps <= 125_000, "{:?}", p.blue.lags);
    src.poll().await.unwrap();
    assert_eq!(cw.calls(), 2, "one call per poll");

    // Data older than the look-back is no data for that env, never a number.
    let cw = Cw::start();
    put(&cw, BLUE_TG, minute(20), 1000.0, Some(1.0), 0.2);
    put(&cw, GREEN_TG, minute(1), 100.0, Some(1.0), 0.2);
    let src = CloudWatchSource::connect(settings(&cw)).await;
    let p = src.poll().await.unwrap();
    assert!(
        matches!(p.blue.rps, Some(Reading::NoData(_))),
        "{:?}",
        p.blue
    );
    assert_eq!(v(&p.green.error_rate), Some(0.01));

    // CloudWatch refusing or not answering: the source fails, said, never zeros.
    cw.fault(Fault::internal());
    let e = src.poll().await.unwrap_err().to_string();
    assert!(
        e.contains("GetMetricData") && e.contains("InternalServiceError"),
        "{e}"
    );
    cw.fault(Fault::Hang);
    let t = std::time::Instant::now();
    assert!(src.poll().await.is_err());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        t.elapsed()
    );
    cw.clear_fault();
}

#[test]
fn a_minute_old_point_is_fresh_and_judged_while_a_poll_interval_is_far_shorter() {
    // The cutover state's own staleness: CloudWatch's sample is minutes old by nature.
    use cutover::core::signal::{EnvPoll, EnvSignals, Lags};
    let poll = EnvPoll {
        error_rate: Some(Reading::Value(0.01)),
        lags: Lags {
            error_rate: 100_000,
            ..Lags::default()
        },
        stale_after: Some(6 * 60_000),
        ..EnvPoll::default()
    };
    let mut s = EnvSignals::default();
    poll.clone().apply_to(&mut s, 1_000_000, 1_000);
    assert!(
        !s.error_rate.is_stale(1_000_000, 1_000),
        "100 s old, stale after 6 min"
    );
    assert_eq!(s.error_rate.fresh_value(1_000_000, 1_000), Some(0.01));
    assert!(
        s.error_rate.is_stale(1_000_000 + 300_000, 1_000),
        "then stale"
    );
    // Without the source's word it would be stale at once (3 poll intervals).
    let mut s = EnvSignals::default();
    EnvPoll {
        stale_after: None,
        ..poll
    }
    .apply_to(&mut s, 1_000_000, 1_000);
    assert!(s.error_rate.is_stale(1_000_000, 1_000));
}

/// An ALB on moto (setup.py) and CloudWatch on loopback: the binary's config.
fn alb_config(dir: &std::path::Path, moto_url: &str, cw: &Cw) -> std::path::PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/alb/setup.py");
    let o = Command::new("python3")
        .args([script, "--endpoint", moto_url, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cfg = dir.join("cutover.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text = text.replace(
        "name = \"checkout-api\"",
        &format!(
            "name = \"checkout-api\"\njournal = \"{}\"",
            dir.join("journal.jsonl").display()
        ),
    );
    text.push_str(&format!("\n[cloudwatch]\nendpoint-url = \"{}\"\n", cw.url));
    std::fs::write(&cfg, text).unwrap();
    // The dimensions cutover derives from the ARNs, with the points put under them.
    let dim = |arn: &str| arn.splitn(6, ':').nth(5).unwrap().to_string();
    let lb = dim(r["listener"].as_str().unwrap())
        .trim_start_matches("listener/")
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    for (tg, req, err) in [
        (dim(r["blue"].as_str().unwrap()), 1200.0, 1.0),
        (dim(r["green"].as_str().unwrap()), 300.0, 12.0),
    ] {
        let dims = [("TargetGroup", tg.as_str()), ("LoadBalancer", lb.as_str())];
        for back in 1..=3 {
            let ns = "AWS/ApplicationELB";
            cw.put(ns, "RequestCount", &dims, "Sum", minute(back), req);
            cw.put(
                ns,
                "HTTPCode_Target_5XX_Count",
                &dims,
                "Sum",
                minute(back),
                err,
            );
            cw.put(ns, "TargetResponseTime", &dims, "p99", minute(back), 0.2);
        }
    }
    cfg
}

#[test]
fn status_json_and_the_cockpit_show_cloudwatch_numbers_for_an_alb() {
    if !peers() {
        return;
    }
    let m = moto();
    let cw = Cw::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = alb_config(dir.path(), &m.endpoint, &cw);
    let (ok, out) = common::run_aws(&cfg, &["status", "--json"]);
    assert!(ok, "{out}");
    assert_eq!(cw.calls(), 1, "one poll, one GetMetricData");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let env = |e: &str, k: &str| v["envs"][e][k].as_f64();
    assert_eq!(env("blue", "rps"), Some(20.0), "{v}");
    assert_eq!(env("green", "error_rate"), Some(0.04), "{v}");
    assert_eq!(env("green", "p99_ms"), Some(200.0), "{v}");
    assert!(
        v["envs"]["green"]["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("CloudWatch 1-min, latest ")),
        "{v}"
    );
    if !common::require("tmux") {
        return;
    }
    let t = common::Tmux::new("cloudwatch");
    t.start(120, 32, &common::aws_cockpit_cmd(&cfg));
    let s = t.wait(20, "CloudWatch's numbers on screen", |s| {
        s.contains("CloudWatch 1-min, latest") && s.contains("4.00 %")
    });
    assert!(
        s.contains("BREACH"),
        "green's 4 % errors breach the 1 % guardrail: {s}"
    );
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}
