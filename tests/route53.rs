//! The Route53 backend against an AWS API emulator (moto) on loopback, set up by
//! `demo/route53/setup.py`: weights go 0 → 10 → 50 → 100 → 0 with every other field of both
//! records byte-identical after each write, anything but two weighted records is refused,
//! and the lease and record TXT store compares before it swaps.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::moto::{Moto, moto, peers};
use cutover::backends::route53::{Route53Backend, Route53Settings};
use cutover::backends::{Backend, BackendError, Slot, Switch};
use cutover::core::{Env, EnvPair, Weights};
use std::process::Command;
use std::time::Duration;

fn setup(m: &Moto, extra: &[&str]) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/route53/setup.py");
    let o = Command::new("python3")
        .args([script, "--endpoint", &m.endpoint])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "setup.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn settings(r: &serde_json::Value, name: &str) -> Route53Settings {
    Route53Settings {
        zone: r["zone"].as_str().unwrap().into(),
        name: name.into(),
        rtype: "A".into(),
        sets: EnvPair::new("blue".into(), "green".into()),
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: r["endpoint"].as_str().map(String::from),
        scale: 100,
        timeout: Duration::from_secs(3),
        sync_timeout: Duration::from_secs(10),
        static_credentials: Some(("testing".into(), "testing".into())),
    }
}

/// Both records as Route53 lists them, weights left out: what must not change.
async fn all_but_weights(b: &Route53Backend) -> String {
    let r = b.records().await.unwrap();
    let mut out = String::new();
    for mut set in [r.blue, r.green] {
        set.weight = None;
        out.push_str(&format!("{set:?}\n"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_move_and_nothing_else_does() {
    if !peers() {
        return;
    }
    let m = moto();
    let r = setup(&m, &[]);
    let b = Route53Backend::connect(settings(&r, "WWW.example.com")).await;
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0));
    let before = all_but_weights(&b).await;
    assert!(
        before.contains("192.0.2.10") && before.contains("health_check_id: Some("),
        "{before}"
    );
    for share in [10, 50, 100, 0] {
        let target = Weights::for_share(Env::Green, share, 100);
        b.write(target).await.unwrap();
        assert_eq!(b.read().await.unwrap(), target, "{share} %");
        assert_eq!(
            all_but_weights(&b).await,
            before,
            "only the weights change at {share} %"
        );
        let seen = b.last_change().expect("the change was followed to INSYNC");
        assert!(seen.insync, "{seen:?}");
    }
    let e = b.write(Weights::new(0, 0)).await.unwrap_err();
    assert!(
        matches!(&e, BackendError::Rejected { message, .. } if message.contains("both weights 0")),
        "{e}"
    );
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0));
    assert_eq!(b.ttl().await.unwrap(), Some(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_record_a_missing_one_or_another_policy_is_refused() {
    if !peers() {
        return;
    }
    let m = moto();
    let r = setup(&m, &["--third", "--failover-name", "api.example.com."]);
    let refused = |e: BackendError| match e {
        BackendError::Rejected { message, .. } => message,
        other => panic!("not a refusal: {other}"),
    };
    let www = Route53Backend::connect(settings(&r, "www.example.com.")).await;
    let e = refused(www.read().await.unwrap_err());
    assert!(
        e.contains("third weighted record, set identifier \"canary\" (weight 5)"),
        "{e}"
    );
    // Nothing was written on the way.
    assert!(www.write(Weights::new(90, 10)).await.is_err());
    let api = Route53Backend::connect(settings(&r, "api.example.com.")).await;
    let e = refused(api.read().await.unwrap_err());
    assert!(e.contains("has a failover routing policy"), "{e}");
    let mut other = settings(&r, "www.example.com.");
    other.sets = EnvPair::new("blue".into(), "teal".into());
    let e = refused(
        Route53Backend::connect(other)
            .await
            .read()
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("third weighted record") || e.contains("\"teal\""),
        "{e}"
    );
    let none = Route53Backend::connect(settings(&r, "nothing.example.com.")).await;
    let e = refused(none.read().await.unwrap_err());
    assert!(
        e.contains("no weighted record with set identifier \"blue\""),
        "{e}"
    );
}

/// Both weighted records' weights, read with the SDK directly (cutover's read refuses a
/// third record).
async fn raw_weights(r: &serde_json::Value) -> Vec<(String, i64)> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(r["endpoint"].as_str().unwrap())
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .load()
        .await;
    let out = aws_sdk_route53::Client::new(&sdk)
        .list_resource_record_sets()
        .hosted_zone_id(r["zone"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut w: Vec<(String, i64)> = out
        .resource_record_sets()
        .iter()
        .filter(|s| s.weight().is_some())
        .map(|s| {
            (
                s.set_identifier().unwrap_or_default().to_string(),
                s.weight().unwrap_or_default(),
            )
        })
        .collect();
    w.sort();
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_record_does_not_stop_a_rollback_and_its_share_is_said() {
    if !peers() {
        return;
    }
    let m = moto();
    // Green at 10 % when someone adds a canary record beside it.
    let r = setup(&m, &["--third", "--green-weight", "10"]);
    let b = Route53Backend::connect(settings(&r, "www.example.com.")).await;
    assert!(
        b.write(Weights::new(100, 0)).await.is_err(),
        "a step is refused"
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = cutover::app::journal::Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let who = cutover::app::journal::Who::current();
    let out = cutover::app::engine::apply(&b, &journal, &who, &common::order(1, 0)).await;
    let cutover::app::engine::WriteResult::Unknown { error, .. } = &out.result else {
        panic!("{:?}", out.result)
    };
    assert!(
        error.contains("written, but the read-back failed")
            && error.contains("third weighted record, set identifier \"canary\" (weight 5)"),
        "{error}"
    );
    assert_eq!(
        raw_weights(&r).await,
        vec![
            ("blue".to_string(), 100),
            ("canary".to_string(), 5),
            ("green".to_string(), 0)
        ],
        "green went to 0; the canary is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_txt_store_compares_before_it_swaps() {
    if !peers() {
        return;
    }
    let m = moto();
    let r = setup(&m, &[]);
    let b = Route53Backend::connect(settings(&r, "www.example.com.")).await;
    assert_eq!(b.load(Slot::Record).await.unwrap(), None);
    let rec = "v1 live=blue by=alice@h at=1 pos=10 \"quoted\" \\";
    assert!(b.swap(Slot::Record, None, Some(rec)).await.unwrap());
    assert_eq!(b.load(Slot::Record).await.unwrap().as_deref(), Some(rec));
    // A second creator, or a compare against anything else, loses.
    assert!(!b.swap(Slot::Record, None, Some("v1 other")).await.unwrap());
    assert!(
        !b.swap(Slot::Record, Some("v1 stale"), Some("v1 x"))
            .await
            .unwrap()
    );
    assert_eq!(b.load(Slot::Record).await.unwrap().as_deref(), Some(rec));
    // The lease is its own record.
    assert_eq!(b.load(Slot::Lease).await.unwrap(), None);
    assert!(b.swap(Slot::Lease, None, Some("lease a")).await.unwrap());
    assert!(
        b.swap(Slot::Record, Some(rec), Some("v1 next"))
            .await
            .unwrap()
    );
    assert_eq!(
        b.load(Slot::Record).await.unwrap().as_deref(),
        Some("v1 next")
    );
    assert!(b.swap(Slot::Record, Some("v1 next"), None).await.unwrap());
    assert_eq!(b.load(Slot::Record).await.unwrap(), None);
    assert_eq!(
        b.load(Slot::Lease).await.unwrap().as_deref(),
        Some("lease a")
    );
    // The weighted records are untouched by the store.
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0));
}

/// A config for the binary on `r`'s zone (credentials from the environment).
fn config_file(dir: &std::path::Path, r: &serde_json::Value) -> std::path::PathBuf {
    let cfg = dir.join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"www\"\nlive = \"blue\"\njournal = \"{}\"\n[backend]\nkind = \"route53\"\nhosted-zone-id = \"{}\"\nrecord-name = \"www.example.com\"\nrecord-type = \"A\"\nblue-set-identifier = \"blue\"\ngreen-set-identifier = \"green\"\nendpoint-url = \"{}\"\n",
            dir.join("journal.jsonl").display(),
            r["zone"].as_str().unwrap(),
            r["endpoint"].as_str().unwrap()
        ),
    )
    .unwrap();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_steps_and_rolls_back_and_check_warns_of_a_long_ttl() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let r = setup(&m, &["--ttl", "300"]);
    let cfg = config_file(dir.path(), &r);
    let o = common::cutover_aws(&cfg, &["check"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("! TTL 300 s on www.example.com.: resolvers may keep answering with the old weights for up to 300 s")
            && out.contains("lower it to 60 s a day ahead"),
        "{out}"
    );
    for (args, want) in [
        (&["set", "10", "--yes"][..], "green 0 → 10 %: applied"),
        (&["rollback"][..], "green 10 → 0 %: applied"),
    ] {
        let o = common::cutover_aws(&cfg, args);
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            o.status.success(),
            "{args:?}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            out.contains(want) && out.contains("verified"),
            "{args:?}: {out}"
        );
        assert!(
            out.contains("resolvers may still answer with the old weights until")
                && out.contains("(TTL 300 s)"),
            "{args:?}: the DNS tail: {out}"
        );
    }
    let b = Route53Backend::connect(settings(&r, "www.example.com")).await;
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0));
    let rec = b.load(Slot::Record).await.unwrap().unwrap();
    assert!(rec.contains("last=") && rec.contains(":rollback:"), "{rec}");

    // At 60 s there is nothing to say.
    let m2 = moto();
    let r2 = setup(&m2, &[]);
    let dir2 = tempfile::tempdir().unwrap();
    let o = common::cutover_aws(&config_file(dir2.path(), &r2), &["check"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success() && !out.contains("TTL"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_steps_rolls_back_and_shows_the_dns_tail() {
    if !peers() || !common::require("tmux") {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let r = setup(&m, &["--ttl", "30"]);
    let cfg = config_file(dir.path(), &r);
    let t = common::Tmux::new("route53");
    t.start(120, 32, &common::aws_cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    // Nothing judges the candidate here: the first step asks, `y` overrides (journaled).
    t.keys(&["1"]);
    t.wait(20, "the confirm", |s| s.contains("y confirm"));
    t.keys(&["y"]);
    let s = t.wait(20, "the step verified", |s| {
        s.contains("applied") && s.contains("verified (blue 90 / green 10)")
    });
    assert!(
        s.contains("resolvers may still answer with the old weights until")
            && s.contains("(TTL 30 s)")
            && s.contains("DNS: resolvers may answer the old way until"),
        "{s}"
    );
    let b = Route53Backend::connect(settings(&r, "www.example.com")).await;
    assert_eq!(b.read().await.unwrap(), Weights::new(90, 10));
    t.keys(&["r"]);
    let s = t.wait(20, "the rollback verified", |s| {
        s.contains("ROLLBACK → 0 % applied") && s.contains("verified (blue 100 / green 0)")
    });
    assert!(
        s.contains("DNS: resolvers may answer the old way until"),
        "the rollback's own tail is on the window line: {s}"
    );
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_warns_of_a_long_ttl_as_it_opens() {
    if !peers() || !common::require("tmux") {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let r = setup(&m, &["--ttl", "300"]);
    let cfg = config_file(dir.path(), &r);
    let t = common::Tmux::new("route53-ttl");
    t.start(140, 32, &common::aws_cockpit_cmd(&cfg));
    t.wait(20, "the TTL warning", |s| {
        s.contains("TTL 300 s on www.example.com.: resolvers may keep answering")
    });
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}
