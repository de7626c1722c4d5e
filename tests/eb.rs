//! The Elastic Beanstalk backend through the real SDK against the loopback EB Query API
//! (tests/common/eb.rs; moto has no SwapEnvironmentCNAMEs): the swap waits out `Updating`
//! and reads the CNAMEs back, a swap while an env is not Ready is refused with AWS's words,
//! enhanced health gives error rate and p99, the lease and record live in the
//! application's tags, and the CLI and the cockpit drive it.
//!
//! The incident matrix, for this backend: a refused swap (not Ready) is said in AWS's words
//! and nothing moves; a swap that stays Updating past `swap-timeout` or a swap call that
//! hangs is an unknown outcome, never "done"; a tag store that does not answer refuses a
//! forward swap before the call and lets a rollback go, saying what it could not record;
//! two writers on the tags are compared before written (no CAS: said in the README); the
//! health API failing is said per env, never a zero. Pair-driving, the journal's disk and
//! the terminal are the cockpit's, tested for every backend in `rollback_tmux.rs`,
//! `e2e_tmux.rs` and `writer.rs`.
#![allow(clippy::too_many_lines)] // a test tells one story from start to end

mod common;

use common::eb::{Eb, Fault, Metrics};
use common::order;
use cutover::app::engine::{self, WriteResult};
use cutover::app::journal::{Journal, Who};
use cutover::backends::eb::{EbBackend, EbHealth, EbSettings};
use cutover::backends::{Backend, BackendError, Slot, Switch, WriteCheck};
use cutover::core::{EnvPair, Reading, Weights};
use cutover::signals::SignalSource;
use std::time::Duration;

const BLUE: &str = "checkout-blue";
const GREEN: &str = "checkout-green";
const LIVE: &str = "checkout-live.us-east-1.elasticbeanstalk.com";
const STAGE: &str = "checkout-stage.us-east-1.elasticbeanstalk.com";

fn eb() -> Eb {
    Eb::start("checkout", (BLUE, LIVE), (GREEN, STAGE))
}

fn settings(e: &Eb) -> EbSettings {
    EbSettings {
        application: "checkout".into(),
        envs: EnvPair::new(BLUE.into(), GREEN.into()),
        production_cname: "checkout-live".into(),
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(e.url.clone()),
        timeout: Duration::from_secs(2),
        swap_timeout: Duration::from_secs(20),
        static_credentials: Some(("test".into(), "test".into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_waits_for_ready_and_reads_the_cnames_back() {
    let e = eb();
    e.set_updating_polls(3);
    let b = EbBackend::connect(settings(&e)).await;
    assert_eq!(b.read().await.unwrap(), Weights::new(1, 0));
    assert!(!b.capabilities().weighted);
    // While the swap runs, the backend says what it waits for.
    let watcher = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..200 {
                if let Some(p) = b.progress()
                    && !seen.contains(&p)
                {
                    seen.push(p);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };
    b.write(Weights::new(0, 1)).await.unwrap();
    assert_eq!(e.calls("SwapEnvironmentCNAMEs"), 1);
    assert_eq!(e.cname(GREEN), LIVE);
    assert_eq!(
        (e.status(BLUE), e.status(GREEN)),
        ("Ready".into(), "Ready".into())
    );
    assert_eq!(b.read().await.unwrap(), Weights::new(0, 1));
    assert!(b.progress().is_none(), "nothing in flight any more");
    let seen = watcher.await.unwrap();
    assert!(
        seen.iter()
            .any(|p| p.starts_with("swap in progress: blue Updating, green Updating")),
        "{seen:?}"
    );
    // Already there: no second swap.
    b.write(Weights::new(0, 1)).await.unwrap();
    assert_eq!(e.calls("SwapEnvironmentCNAMEs"), 1);
    // Back (a rollback retries harder; the same swap).
    b.write_urgent(Weights::new(1, 0)).await.unwrap();
    assert_eq!(e.cname(BLUE), LIVE);
    assert_eq!(b.read().await.unwrap(), Weights::new(1, 0));
    // The DNS tail: EB's CNAMEs have a 60 s TTL.
    assert_eq!(b.propagation(), Some(Duration::from_secs(60)));
    // A split is no swap.
    let err = b.write(Weights::new(50, 50)).await.unwrap_err().to_string();
    assert!(err.contains("never splits it"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_while_an_env_is_not_ready_is_refused_in_aws_words_and_check_names_it() {
    let e = eb();
    let b = EbBackend::connect(settings(&e)).await;
    e.set_status(GREEN, "Updating");
    let check = b.check_write().await;
    assert!(
        matches!(&check, WriteCheck::Denied(w) if w.contains("green (checkout-green) is Updating, not Ready")),
        "{check:?}"
    );
    let err = b.write(Weights::new(0, 1)).await.unwrap_err();
    assert!(matches!(err, BackendError::Rejected { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("SwapEnvironmentCNAMEs: AWS InvalidParameterValue")
            && text.contains("invalid state for this operation. Must be Ready"),
        "{text}"
    );
    assert_eq!(e.cname(BLUE), LIVE, "nothing swapped");
    e.set_status(GREEN, "Ready");
    assert!(matches!(b.check_write().await, WriteCheck::Unprovable(_)));

    // A swap that stays Updating past swap-timeout is an unknown outcome, never "done".
    e.set_updating_polls(1000);
    let mut s = settings(&e);
    s.swap_timeout = Duration::from_secs(2);
    let b = EbBackend::connect(s).await;
    let err = b.write(Weights::new(0, 1)).await.unwrap_err();
    assert!(matches!(err, BackendError::Unknown { .. }), "{err:?}");
    assert!(err.to_string().contains("it may still complete"), "{err}");

    // An environment that is not there is said with what the application has.
    let mut s = settings(&e);
    s.envs.green = "checkout-gren".into();
    let err = EbBackend::connect(s)
        .await
        .read()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no environment named checkout-gren (the green env); found: checkout-blue"),
        "{err}"
    );
    // A production CNAME neither holds.
    let mut s = settings(&e);
    s.production_cname = "checkout-prod".into();
    let err = EbBackend::connect(s)
        .await
        .read()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no env holds production-cname checkout-prod"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_health_gives_error_rate_p99_and_rps_and_no_traffic_is_no_data() {
    let e = eb();
    e.set_metrics(BLUE, Some(Metrics::traffic(200, 2, 0.180)));
    e.set_metrics(GREEN, None);
    e.set_health(
        GREEN,
        "Red",
        "Severe",
        &["100 % of the requests are failing with HTTP 5xx."],
    );
    let b = EbBackend::connect(settings(&e)).await;
    let src = EbHealth {
        backend: b,
        metrics: true,
    };
    let p = src.poll().await.unwrap();
    let v = |r: &Option<Reading>| r.as_ref().and_then(Reading::value);
    let blue_err = v(&p.blue.error_rate).unwrap();
    assert!((blue_err - 0.01).abs() < 1e-9, "{blue_err}");
    assert!((v(&p.blue.p99_ms).unwrap() - 180.0).abs() < 1e-6);
    assert!((v(&p.blue.rps).unwrap() - 20.0).abs() < 1e-9);
    assert_eq!(v(&p.blue.requests), Some(200.0));
    assert_eq!(v(&p.blue.errors), Some(2.0));
    assert_eq!(
        p.blue.health.as_ref().unwrap().health,
        cutover::core::Health::Up
    );
    // Green: no metrics is no data, never 0 %; its health says why.
    assert!(
        matches!(p.green.error_rate, Some(Reading::NoData(_))),
        "{:?}",
        p.green
    );
    let h = p.green.health.as_ref().unwrap();
    assert_eq!(h.health, cutover::core::Health::Down);
    assert!(
        h.detail
            .contains("Severe: 100 % of the requests are failing"),
        "{}",
        h.detail
    );
    // No requests in the window: no data either.
    e.set_metrics(GREEN, Some(Metrics::traffic(0, 0, 0.0)));
    let p = src.poll().await.unwrap();
    assert!(
        matches!(p.green.p99_ms, Some(Reading::NoData(_))),
        "{:?}",
        p.green
    );
    // An environment that is not Ready cannot be swapped: degraded, and said why.
    e.set_status(GREEN, "Updating");
    e.set_health(GREEN, "Green", "Ok", &[]);
    let p = src.poll().await.unwrap();
    let h = p.green.health.as_ref().unwrap();
    assert_eq!(h.health, cutover::core::Health::Degraded, "{h:?}");
    assert!(
        h.detail
            .starts_with("Updating, not Ready (no swap until it is)"),
        "{}",
        h.detail
    );
    e.set_status(GREEN, "Ready");
    // The API failing for one env: that env's health is unknown with the reason.
    e.fault("DescribeEnvironmentHealth", Fault::internal());
    assert!(src.poll().await.is_err(), "both failed: the source failed");
    e.clear_fault("DescribeEnvironmentHealth");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_and_record_are_application_tags_compared_before_written() {
    let e = eb();
    let b = EbBackend::connect(settings(&e)).await;
    assert_eq!(b.load(Slot::Record).await.unwrap(), None);
    let rec = "v1 live=blue by=alice@h at=1 pos=0";
    assert!(b.swap(Slot::Record, None, Some(rec)).await.unwrap());
    assert!(
        !b.swap(
            Slot::Record,
            None,
            Some("v1 live=green by=bob@h at=2 pos=0")
        )
        .await
        .unwrap(),
        "the stored value is not what bob expected"
    );
    assert_eq!(b.load(Slot::Record).await.unwrap().as_deref(), Some(rec));
    assert!(
        e.app_tags()
            .iter()
            .any(|(k, v)| k == "cutover:record" && v == rec),
        "{:?}",
        e.app_tags()
    );
    assert!(
        !e.tags(BLUE).iter().any(|(k, _)| k.starts_with("cutover:")),
        "never an environment's tags: tagging one is an environment operation"
    );
    assert!(b.swap(Slot::Record, Some(rec), None).await.unwrap());
    assert_eq!(b.load(Slot::Record).await.unwrap(), None);
    // Tags keep 256 characters: a longer value is said, not cut.
    let long = "x".repeat(300);
    let err = b.swap(Slot::Lease, None, Some(&long)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("300 characters where a tag value holds 256"),
        "{err}"
    );
    // A tag write still works while an env is Updating (the application is no env).
    e.set_status(GREEN, "Updating");
    assert!(
        b.swap(Slot::Lease, None, Some("alice@h 1 2 tok"))
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_during_someone_elses_swap_waits_for_it_then_swaps_back() {
    let e = eb();
    e.set_updating_polls(6);
    let b = EbBackend::connect(settings(&e)).await;
    // Someone swaps from the console: accepted, both Updating, the old CNAMEs still shown.
    let mut theirs = settings(&e);
    theirs.swap_timeout = Duration::from_secs(3);
    let other = EbBackend::connect(theirs).await;
    let swap = tokio::spawn(async move { other.write(Weights::new(0, 1)).await });
    for _ in 0..200 {
        if e.status(BLUE) == "Updating" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(e.status(BLUE), "Updating");
    assert_eq!(
        b.read().await.unwrap(),
        Weights::new(1, 0),
        "the old CNAMEs still shown"
    );
    // Blue seems to hold production: a rollback that believed it would send nothing and
    // say "verified" while green takes over. It waits for the swap to end, then swaps back.
    b.write_urgent(Weights::new(1, 0)).await.unwrap();
    assert_eq!(e.cname(BLUE), LIVE, "all traffic back on blue");
    assert_eq!(
        e.calls("SwapEnvironmentCNAMEs"),
        2,
        "theirs, then the rollback's"
    );
    swap.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tag_store_refuses_a_swap_but_not_a_rollback_and_a_hung_swap_is_unknown() {
    let e = eb();
    e.set_updating_polls(1);
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let b = EbBackend::connect(settings(&e)).await;
    let who = Who::current();
    // The store of the record does not answer: a forward swap is refused before the call.
    e.fault("ListTagsForResource", Fault::internal());
    let r = engine::apply(&b, &journal, &who, &order(1, 100))
        .await
        .result;
    assert!(matches!(r, WriteResult::Refused { .. }), "{r:?}");
    assert_eq!(e.calls("SwapEnvironmentCNAMEs"), 0, "nothing sent");
    e.clear_fault("ListTagsForResource");
    let r = engine::apply(&b, &journal, &who, &order(2, 100))
        .await
        .result;
    assert!(matches!(r, WriteResult::Verified { .. }), "{r:?}");
    assert_eq!(e.cname(GREEN), LIVE);
    // Now it stops answering again: the rollback goes ahead and says what it could not do.
    e.fault("ListTagsForResource", Fault::internal());
    e.fault("UpdateTagsForResource", Fault::internal());
    let out = engine::apply(&b, &journal, &who, &order(3, 0)).await;
    assert!(
        matches!(out.result, WriteResult::Verified { .. }),
        "{:?}",
        out.result
    );
    assert!(out.record_error.is_some(), "said: {out:?}");
    assert_eq!(e.cname(BLUE), LIVE, "rolled back");
    e.clear_fault("ListTagsForResource");
    e.clear_fault("UpdateTagsForResource");
    // A swap call that never answers: its outcome is unknown, never done nor failed.
    e.fault("SwapEnvironmentCNAMEs", Fault::Hang);
    let t = std::time::Instant::now();
    let r = engine::apply(&b, &journal, &who, &order(4, 100))
        .await
        .result;
    assert!(matches!(r, WriteResult::Unknown { .. }), "{r:?}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "bounded: {:?}",
        t.elapsed()
    );
    e.clear_fault("SwapEnvironmentCNAMEs");
}

fn config_file(dir: &std::path::Path, e: &Eb, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"checkout\"\njournal = \"{}\"\npoll-interval = \"500ms\"\n{extra}\n[backend]\nkind = \"elastic-beanstalk\"\napplication = \"checkout\"\nblue-environment = \"{BLUE}\"\ngreen-environment = \"{GREEN}\"\nproduction-cname = \"{LIVE}\"\nregion = \"us-east-1\"\nendpoint-url = \"{}\"\n",
            dir.join("journal.jsonl").display(),
            e.url
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn the_cli_checks_swaps_and_rolls_back() {
    let e = eb();
    e.set_updating_polls(2);
    e.set_metrics(BLUE, Some(Metrics::traffic(100, 0, 0.1)));
    e.set_metrics(GREEN, Some(Metrics::traffic(100, 1, 0.2)));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path(), &e, "");
    e.set_status(GREEN, "Updating");
    let (ok, out) = common::run_aws(&cfg, &["check"]);
    assert!(!ok, "check fails while green is not Ready: {out}");
    assert!(
        out.contains("green (checkout-green) is Updating, not Ready"),
        "{out}"
    );
    e.set_status(GREEN, "Ready");
    let (ok, out) = common::run_aws(&cfg, &["check"]);
    assert!(ok, "{out}");
    let (ok, out) = common::run_aws(&cfg, &["status", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["share"], 0);
    assert!(
        (v["envs"]["green"]["error_rate"].as_f64().unwrap() - 0.01).abs() < 1e-9,
        "{v}"
    );
    let (ok, out) = common::run_aws(&cfg, &["set", "100", "--yes"]);
    assert!(ok && out.contains("verified"), "{out}");
    assert_eq!(e.cname(GREEN), LIVE);
    let (ok, out) = common::run_aws(&cfg, &["rollback"]);
    assert!(ok && out.contains("green 100 → 0 %: applied"), "{out}");
    assert!(
        out.contains("resolvers may still answer with the old address until")
            && out.contains("(TTL 60 s)"),
        "the DNS tail: {out}"
    );
    assert_eq!(e.cname(BLUE), LIVE);
    // A 50 % step on a flip-only switch is refused before any call.
    let swaps = e.calls("SwapEnvironmentCNAMEs");
    let (ok, out) = common::run_aws(&cfg, &["set", "50", "--yes"]);
    assert!(!ok, "{out}");
    assert_eq!(e.calls("SwapEnvironmentCNAMEs"), swaps);
}

#[test]
fn the_cockpit_swaps_shows_the_swap_and_the_dns_tail_and_rolls_back() {
    if !common::require("tmux") {
        return;
    }
    let e = eb();
    e.set_updating_polls(8);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path(), &e, "");
    let t = common::Tmux::new("eb");
    t.start(120, 32, &common::aws_cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    t.keys(&["Right"]);
    t.wait(20, "the confirm", |s| s.contains("y confirm"));
    t.keys(&["y"]);
    let s = t.wait(20, "the swap in progress on screen", |s| {
        s.contains("swap in progress: blue Updating, green Updating")
    });
    assert!(s.contains("⟳ writing"), "{s}");
    let s = t.wait(30, "the swap verified", |s| {
        s.contains("applied") && s.contains("verified (blue 0 / green 1)")
    });
    assert!(
        s.contains("resolvers may still answer with the old address until")
            && s.contains("(TTL 60 s)"),
        "{s}"
    );
    assert_eq!(e.cname(GREEN), LIVE);
    t.keys(&["r"]);
    let s = t.wait(30, "the rollback verified", |s| {
        s.contains("ROLLBACK → 0 % applied") && s.contains("verified (blue 1 / green 0)")
    });
    assert!(
        s.contains("DNS: resolvers may answer the old way until"),
        "{s}"
    );
    assert_eq!(e.cname(BLUE), LIVE);
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}
