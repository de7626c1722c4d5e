//! The ALB backend against an AWS API emulator (moto) on loopback, set up by the same
//! script a user runs: demo/alb/setup.py.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::moto::{Moto, moto, peers};
use common::*;
use cutover::app::engine::{self, WriteResult};
use cutover::app::journal::{Journal, Who};
use cutover::backends::alb::{AlbBackend, AlbHealth, AlbSettings, AlbTarget};
use cutover::backends::{Backend, Switch};
use cutover::core::{Env, EnvPair, Health, Weights};
use cutover::signals::SignalSource;
use std::process::Command;
use std::time::{Duration, Instant};

fn setup(m: &Moto, dir: &std::path::Path) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/alb/setup.py");
    let o = Command::new("python3")
        .args([script, "--endpoint", &m.endpoint, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "setup.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn settings(r: &serde_json::Value, target: AlbTarget, scale: u32) -> AlbSettings {
    AlbSettings {
        target,
        groups: EnvPair::new(
            r["blue"].as_str().unwrap().into(),
            r["green"].as_str().unwrap().into(),
        ),
        region: Some("eu-west-1".into()),
        profile: None,
        endpoint_url: r["endpoint"].as_str().map(String::from),
        scale,
        timeout: Duration::from_secs(3),
        static_credentials: Some(("testing".into(), "testing".into())),
    }
}

/// The stickiness of the forward action, read with the SDK directly.
async fn stickiness(b: &AlbSettings, listener: &str) -> Option<(bool, i32)> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(b.endpoint_url.clone().unwrap())
        .credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .load()
        .await;
    let c = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let l = c
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .unwrap();
    let s = l.listeners()[0].default_actions()[0]
        .forward_config()?
        .target_group_stickiness_config()?
        .clone();
    Some((s.enabled()?, s.duration_seconds()?))
}

async fn drive(backend: &AlbBackend, journal: &Journal) {
    for (i, share) in [0u8, 10, 50, 100, 0].into_iter().enumerate() {
        let r = engine::apply(backend, journal, &Who::current(), &order(i as u64, share))
            .await
            .result;
        let WriteResult::Verified { after, .. } = r else {
            panic!("{share}: {r:?}")
        };
        assert_eq!(after, Weights::for_share(Env::Green, share, 999), "{share}");
        assert_eq!(after.share_of(Env::Green), Some(share));
        // The cutover record, a tag beside the lease, follows every write.
        let rec = backend.record().await.unwrap().expect("the record tag");
        assert_eq!((rec.live, rec.pos, rec.flight), (Env::Blue, share, None));
        assert_eq!(
            rec.end.is_some(),
            share == 100,
            "the window's end once promoted"
        );
    }
    assert!(
        backend
            .place(cutover::backends::Slot::Record)
            .starts_with("tag cutover:record on ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn listener_and_rule_step_read_back_and_refuse_the_unexpected() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let r = setup(&m, dir.path());
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let listener = r["listener"].as_str().unwrap().to_string();

    let lst = settings(&r, AlbTarget::Listener(listener.clone()), 999);
    let backend = AlbBackend::connect(lst.clone()).await;
    assert_eq!(backend.read().await.unwrap(), Weights::new(999, 0));
    assert!(
        backend.target().starts_with("eu-west-1 listener checkout/"),
        "{}",
        backend.target()
    );
    drive(&backend, &journal).await;
    assert_eq!(
        stickiness(&lst, &listener).await,
        Some((true, 300)),
        "stickiness kept"
    );

    let rule = AlbBackend::connect(settings(
        &r,
        AlbTarget::Rule(r["rule"].as_str().unwrap().into()),
        999,
    ))
    .await;
    drive(&rule, &journal).await;

    // A change behind cutover's back (another client, another scale) is read on the next poll.
    let other = AlbBackend::connect(settings(&r, AlbTarget::Listener(listener.clone()), 100)).await;
    other.write(Weights::new(70, 30)).await.unwrap();
    let w = backend.read().await.unwrap();
    assert_eq!(
        (w, w.share_of(Env::Green)),
        (Weights::new(70, 30), Some(30))
    );

    // A listener whose default action is a redirect is refused and left untouched.
    let redirect = AlbBackend::connect(settings(
        &r,
        AlbTarget::Listener(r["redirect_listener"].as_str().unwrap().into()),
        999,
    ))
    .await;
    let e = redirect.read().await.unwrap_err().to_string();
    assert!(
        e.contains("`redirect` action") && e.contains("refusing"),
        "{e}"
    );
    let e = redirect
        .write(Weights::new(999, 0))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("redirect"), "{e}");
    assert!(
        redirect
            .read()
            .await
            .unwrap_err()
            .to_string()
            .contains("redirect"),
        "untouched"
    );

    // Target health per group.
    let p = AlbHealth(backend.clone()).poll().await.unwrap();
    let h = p.blue.health.unwrap();
    assert_eq!((h.health, h.up, h.total), (Health::Up, 1, 1));

    // Bad ARNs give the AWS error code and message.
    let gone = listener
        .rsplit_once('/')
        .map(|(a, _)| format!("{a}/0000000000000000"))
        .unwrap();
    let e = AlbBackend::connect(settings(&r, AlbTarget::Listener(gone), 999))
        .await
        .read()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AWS ListenerNotFound") || e.contains("no such listener"),
        "{e}"
    );
    let wrong_group = AlbSettings {
        groups: EnvPair::new(
            r["blue"].as_str().unwrap().into(),
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1".into(),
        ),
        ..lst.clone()
    };
    let e = AlbBackend::connect(wrong_group)
        .await
        .read()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("third target group") || e.contains("lacks target group"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_endpoint_is_a_clear_error_not_a_hang() {
    let port = closed_port();
    let s = AlbSettings {
        target: AlbTarget::Listener(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2".into(),
        ),
        groups: EnvPair::new("arn:a".into(), "arn:b".into()),
        region: Some("eu-west-1".into()),
        profile: None,
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        scale: 999,
        timeout: Duration::from_secs(2),
        static_credentials: Some(("t".into(), "t".into())),
    };
    let t = Instant::now();
    let e = AlbBackend::connect(s).await.read().await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(60), "bounded");
    let e = e.to_string();
    assert!(
        e.contains("cannot reach") || e.contains("did not answer"),
        "{e}"
    );
}

#[test]
fn cli_check_status_and_rollback_against_the_emulator() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    setup(&m, dir.path());
    let cfg = dir.path().join("cutover.toml");
    let run = |args: &[&str]| {
        Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("--journal")
            .arg(dir.path().join("cli.jsonl"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap()
    };
    let o = run(&["check"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("✓ backend alb eu-west-1 listener checkout/"),
        "{}",
        stdout(&o)
    );
    // Target health is all an ALB says: nothing would judge green's errors or latency.
    let o = run(&["set", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no source for error-rate or p99: nothing will judge green"),
        "{}",
        stderr(&o)
    );
    let o = run(&["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (s["share"].as_u64(), s["envs"]["green"]["health"].as_str()),
        (Some(10), Some("up")),
        "{s:#}"
    );
    let o = run(&["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("blue 999 / green 0"), "{}", stdout(&o));
    let journal = std::fs::read_to_string(dir.path().join("cli.jsonl")).unwrap();
    assert!(!journal.contains("testing"), "no credential in the journal");
}

#[test]
fn alb_config_parses_and_refuses_nonsense() {
    use cutover::config::{BackendConfig, Config};
    let ok = "[backend]\nkind = \"alb\"\nrule-arn = \"arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/app/a/b/c/d\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\nprofile = \"prod\"\n";
    let c = Config::parse(ok, "t").unwrap();
    assert!(
        matches!(c.backend, BackendConfig::Alb(ref a) if matches!(a.target, AlbTarget::Rule(_)) && a.scale == 999 && a.static_credentials.is_none())
    );
    for (text, want) in [
        (
            "[backend]\nkind = \"alb\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\n",
            "exactly one of them",
        ),
        (
            "[backend]\nkind = \"alb\"\nlistener-arn = \"arn:l\"\nrule-arn = \"arn:r\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\n",
            "exactly one of them",
        ),
        (
            "[backend]\nkind = \"alb\"\nlistener-arn = \"listener/1\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\n",
            "backend.listener-arn",
        ),
        (
            "[backend]\nkind = \"alb\"\nlistener-arn = \"arn:l\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:b\"\n",
            "two target groups",
        ),
        (
            "[backend]\nkind = \"alb\"\nlistener-arn = \"arn:l\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\nweight-scale = 1000\n",
            "backend.weight-scale",
        ),
        (
            "[backend]\nkind = \"alb\"\nlistener-arn = \"arn:l\"\nblue-target-group = \"arn:b\"\ngreen-target-group = \"arn:g\"\nsecret-key = \"x\"\n",
            "unknown field `secret-key`",
        ),
    ] {
        let e = Config::parse(text, "t").unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_driver_lease_is_a_tag_on_the_listener() {
    use cutover::app::lease::{self, Me, Standing};
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    let r = setup(&m, dir.path());
    let listener = r["listener"].as_str().unwrap().to_string();
    let b = AlbBackend::connect(settings(&r, AlbTarget::Listener(listener.clone()), 999)).await;
    let (alice, bob) = (Me::new("alice@h", 15_000), Me::new("bob@h", 15_000));
    let Standing::Mine(l) = lease::acquire(&b, &alice, 1_000).await.unwrap() else {
        panic!("alice drives")
    };
    assert_eq!(
        b.lease().await.unwrap(),
        Some(l.clone()),
        "read back from the tag"
    );
    assert!(
        b.lease_place()
            .starts_with("tag cutover:driver-lease on listener")
    );
    assert_eq!(
        lease::acquire(&b, &bob, 2_000).await.unwrap(),
        Standing::Theirs(l)
    );
    assert!(
        matches!(
            lease::acquire(&b, &bob, 16_000).await.unwrap(),
            Standing::Mine(_)
        ),
        "lapsed"
    );
    assert!(lease::release(&b, &bob).await.unwrap());
    assert_eq!(b.lease().await.unwrap(), None);
}

/// No credentials anywhere: one readable line saying what was tried and what to do, never
/// the SDK's debug dump of its provider chain.
#[test]
fn no_aws_credentials_is_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"a\"\njournal = \"{}\"\n[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/g/2\"\nregion = \"eu-west-1\"\nendpoint-url = \"http://127.0.0.1:{}\"\ntimeout = \"2s\"\n",
            dir.path().join("j.jsonl").display(),
            closed_port()
        ),
    )
    .unwrap();
    let o = std::process::Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .arg("status")
        .env_clear()
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        all.contains("no AWS credentials found") && all.contains("set AWS_PROFILE"),
        "{all}"
    );
    assert!(
        !all.contains("DispatchFailure") && !all.contains("ProviderChainError"),
        "{all}"
    );
    assert!(all.lines().all(|l| l.chars().count() < 400), "{all}");
}

/// An `endpoint-url` that is no AWS API (a proxy's HTML page, a server answering 500 with
/// no body): one line, with the status and the first words, never the XML parser's debug
/// dump.
#[test]
fn an_answer_that_is_not_the_aws_api_is_one_readable_line() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    for (status, headers, body, said) in [
        (
            502,
            "",
            "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>\n",
            "HTTP 502 that is not an AWS API answer (an HTML page (\"502 Bad Gateway\"))",
        ),
        (
            500,
            "",
            "",
            "HTTP 500 that is not an AWS API answer (empty)",
        ),
        // A proxy's sign-in page: where it pointed, its query hidden.
        (
            302,
            "location: https://sso.example/login?ticket=t0ps3cret\r\n",
            "",
            "HTTP 302 redirect to https://sso.example/login?ticket=*** (not followed)",
        ),
        (
            429,
            "retry-after: 9\r\n",
            "slow down",
            "HTTP 429 (Retry-After 9) that is not an AWS API answer (slow down)",
        ),
    ] {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let answer = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/html\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::thread::spawn(move || {
            for s in l.incoming().take(50) {
                let Ok(mut s) = s else { continue };
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut buf = [0u8; 16384];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        let cfg = dir.path().join("cutover.toml");
        std::fs::write(
            &cfg,
            format!(
                "name = \"a\"\njournal = \"{}\"\n[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/g/2\"\nregion = \"eu-west-1\"\nendpoint-url = \"http://127.0.0.1:{port}\"\ntimeout = \"2s\"\n",
                dir.path().join("j.jsonl").display(),
            ),
        )
        .unwrap();
        let o = std::process::Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("status")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains(said), "{status}: {all}");
        // A 500 is retried; the waits between tries are short enough that the refusal,
        // not "did not answer", is what every line says.
        assert!(!all.contains("did not answer"), "{status}: {all}");
        assert!(
            !all.contains("StartEl")
                && !all.contains("<body>")
                && !all.contains("Name {")
                && !all.contains("t0ps3cret"),
            "{all}"
        );
        assert!(all.lines().all(|l| l.chars().count() < 400), "{all}");
    }
}

/// An `endpoint-url` that answers without end (a chunked body that never stops) or with a
/// 50 MB body: the SDK's read stops at 4 MB, said in one line, in bounded memory and time.
/// Before the cap, the endless one read 2.1 GB in 2 s and the 50 MB one peaked at 280 MB.
#[test]
fn an_aws_answer_over_4_mb_is_not_read() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut figures = Vec::new();
    for endless in [true, false] {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            // Bounded: at most 40 connections, each at most 64 MB (endless: 1 GB).
            for s in l.incoming().take(40) {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                    let mut buf = [0u8; 16384];
                    let _ = s.read(&mut buf);
                    let chunk = vec![b'<'; 64 * 1024];
                    if endless {
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n",
                        );
                        for _ in 0..16 * 1024 {
                            let head = format!("{:x}\r\n", chunk.len());
                            if s.write_all(head.as_bytes()).is_err()
                                || s.write_all(&chunk).is_err()
                                || s.write_all(b"\r\n").is_err()
                            {
                                return;
                            }
                        }
                    } else {
                        let n = 50 * 1024 * 1024;
                        let _ = s.write_all(
                            format!("HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {n}\r\n\r\n")
                                .as_bytes(),
                        );
                        for _ in 0..n / chunk.len() {
                            if s.write_all(&chunk).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let cfg = dir.path().join("cutover.toml");
        std::fs::write(
            &cfg,
            format!(
                "name = \"a\"\njournal = \"{}\"\n[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/g/2\"\nregion = \"eu-west-1\"\nendpoint-url = \"http://127.0.0.1:{port}\"\ntimeout = \"5s\"\n",
                dir.path().join("j.jsonl").display(),
            ),
        )
        .unwrap();
        let envs = [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        let (o, mb, took) = run_measured(&cfg, &["status"], &envs);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains("answer over 4 MB: not read"), "{all}");
        assert!(all.lines().all(|l| l.chars().count() < 400), "{all}");
        assert!(mb < 100, "endless {endless}: peak {mb} MB");
        assert!(
            took < Duration::from_secs(30),
            "endless {endless}: {took:?}"
        );
        figures.push(format!("endless {endless}: {mb} MB peak, {took:?}"));
    }
    eprintln!("AWS answers over the cap: {figures:#?}");
}

/// The AWS actions moto received while `f` ran, in order (its request recorder).
fn recorded_calls(m: &Moto, f: impl FnOnce()) -> Vec<String> {
    let post = |path: &str| {
        let url = format!("{}{path}", m.endpoint);
        let o = Command::new("python3")
            .args([
                "-c",
                "import sys,urllib.request;sys.stdout.write(urllib.request.urlopen(urllib.request.Request(sys.argv[1],data=b'',method=sys.argv[2])).read().decode())",
                &url,
                if path.ends_with("download-recording") { "GET" } else { "POST" },
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{path}: {}", stderr(&o));
        stdout(&o)
    };
    post("/moto-api/recorder/reset-recording");
    post("/moto-api/recorder/start-recording");
    f();
    post("/moto-api/recorder/stop-recording");
    let rec = post("/moto-api/recorder/download-recording");
    rec.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            let body = r["body"].as_str().unwrap_or("").to_string();
            let body = if r["body_encoded"].as_bool() == Some(true) {
                let o = Command::new("python3")
                    .args([
                        "-c",
                        "import sys,base64;sys.stdout.write(base64.b64decode(sys.argv[1]).decode('utf-8','replace'))",
                        &body,
                    ])
                    .output()
                    .unwrap();
                stdout(&o)
            } else {
                body
            };
            body.split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

/// A CLI rollback makes the floor of calls: the weights and the tags (record and lease)
/// read at once, the write, the read-back, and the record's one AddTags: five, traffic
/// moving with the third (the second round trip). A forward step takes the lease and
/// releases it with one call each. These counts are the wire, not a timing.
#[test]
fn a_rollback_makes_five_calls_and_a_step_takes_the_lease_in_one() {
    if !peers() {
        return;
    }
    let m = moto();
    let dir = tempfile::tempdir().unwrap();
    setup(&m, dir.path());
    let cfg = dir.path().join("cutover.toml");
    let run = |args: &[&str]| {
        let o = Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("--journal")
            .arg(dir.path().join("cli.jsonl"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
        o
    };
    let step = recorded_calls(&m, || {
        run(&["set", "10", "--yes"]);
    });
    eprintln!("set 10: {} calls: {}", step.len(), step.join(" → "));
    let adds = step.iter().filter(|c| *c == "AddTags").count();
    let removes = step.iter().filter(|c| *c == "RemoveTags").count();
    let modify = step.iter().position(|c| c == "ModifyListener").unwrap();
    assert_eq!(
        step.iter().filter(|c| *c == "ModifyListener").count(),
        1,
        "{step:?}"
    );
    // The lease taken (one AddTags) and the record begun before the write; the record
    // finished and the lease released (one RemoveTags) after it.
    assert_eq!((adds, removes), (3, 1), "{step:?}");
    assert!(
        step[..modify].iter().filter(|c| *c == "AddTags").count() == 2,
        "{step:?}"
    );
    assert_eq!(
        step.last().map(String::as_str),
        Some("RemoveTags"),
        "{step:?}"
    );
    let back = recorded_calls(&m, || {
        let o = run(&["rollback"]);
        assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    });
    eprintln!("rollback: {} calls: {}", back.len(), back.join(" → "));
    let mut first_two = back[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["DescribeListeners", "DescribeTags"], "{back:?}");
    assert_eq!(
        back[2..],
        ["ModifyListener", "DescribeListeners", "AddTags"],
        "{back:?}"
    );
}

/// An endpoint that echoes the credentials it was sent in its refusal (a proxy, a fake
/// API): the secret key, the session token and the key id are `***` in every line.
#[test]
fn aws_credentials_echoed_back_are_hidden() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(60) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 16384];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let token = req
                .lines()
                .find_map(|l| l.strip_prefix("x-amz-security-token: "))
                .unwrap_or("none")
                .to_string();
            let body = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied for key AKIDECHO12345 with token {token} and secret SECRETKEYECHO987</Message></Error><RequestId>1</RequestId></ErrorResponse>"
            );
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"a\"\njournal = \"{}\"\n[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/g/2\"\nregion = \"eu-west-1\"\nendpoint-url = \"http://127.0.0.1:{port}\"\ntimeout = \"2s\"\n",
            dir.path().join("j.jsonl").display(),
        ),
    )
    .unwrap();
    for args in [
        &["status"][..],
        &["check"][..],
        &["rollback", "--to", "blue"][..],
    ] {
        let o = Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIDECHO12345")
            .env("AWS_SECRET_ACCESS_KEY", "SECRETKEYECHO987")
            .env("AWS_SESSION_TOKEN", "SESSIONTOKENECHO555")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains("AccessDenied"), "{args:?}: {all}");
        for secret in ["AKIDECHO12345", "SECRETKEYECHO987", "SESSIONTOKENECHO555"] {
            assert!(!all.contains(secret), "{args:?}: {secret} leaked: {all}");
        }
    }
}

/// A `profile` (or `AWS_PROFILE`) that neither AWS file names: exit 2 naming it and where
/// it was looked for (the SDK said only "no credentials", with `profile` set). One that a
/// file names goes on to the API.
#[test]
fn a_profile_no_file_names_is_said_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(aws.join("config"), "[profile prod]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = prodsecret\n",
    )
    .unwrap();
    let cfg_for = |profile: &str| {
        let cfg = dir.path().join(format!("{profile}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "name = \"a\"\njournal = \"{}\"\n[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/g/2\"\nregion = \"eu-west-1\"\nprofile = \"{profile}\"\nendpoint-url = \"http://127.0.0.1:{}\"\ntimeout = \"2s\"\n",
                dir.path().join("j.jsonl").display(),
                closed_port()
            ),
        )
        .unwrap();
        cfg
    };
    let run = |cfg: &std::path::Path| {
        Command::new(bin())
            .arg("--config")
            .arg(cfg)
            .arg("status")
            .env("HOME", dir.path())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    let o = run(&cfg_for("nosuch"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("nosuch.toml: key `backend.profile`: value \"nosuch\": no such profile in")
            && stderr(&o).contains(".aws/config"),
        "{}",
        stderr(&o)
    );
    let o = run(&cfg_for("prod"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no such profile"), "{}", stderr(&o));
}
