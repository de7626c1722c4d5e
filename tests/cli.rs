//! The command line against a real `cutover sim serve` over HTTP on loopback.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::app::journal::{Journal, Phase};
use std::process::Command;

#[test]
fn status_steps_promote_back_and_rollback_through_the_engine() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");

    let s = status(&cfg);
    assert_eq!(s["name"], "checkout-api");
    assert_eq!(s["backend"], "sim");
    assert_eq!(s["live"], "blue");
    assert_eq!(s["candidate"], "green");
    assert_eq!(s["share"], 0);
    assert_eq!(s["weights"]["blue"], 100);
    assert!(
        s["envs"]["green"]["error_rate"].is_null(),
        "no traffic is unknown, not 0: {s}"
    );
    assert_eq!(s["envs"]["green"]["health"], "up");

    let o = cutover(&cfg, &["step"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("green 0 → 10 %") && stdout(&o).contains("verified"),
        "{}",
        stdout(&o)
    );
    assert_eq!(status(&cfg)["share"], 10);

    // Just stepped: green has served too few requests for a verdict.
    let o = cutover(&cfg, &["set", "50"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("NOTHING HAS JUDGED the candidate"),
        "{}",
        stderr(&o)
    );
    assert_eq!(status(&cfg)["share"], 10, "refused means untouched");
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status(&cfg)["weights"]["green"], 50);

    let o = cutover(&cfg, &["step"]);
    assert_eq!(o.status.code(), Some(2), "promotion needs --yes");
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(status(&cfg)["share"], 50, "refused means untouched");

    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status(&cfg)["share"], 100);

    let o = cutover(&cfg, &["back"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status(&cfg)["share"], 50);

    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status(&cfg);
    assert_eq!(s["share"], 0);
    assert_eq!(s["weights"]["blue"], 100);
    // Just rolled back (the record says when): green's windowed numbers settle, as the
    // cockpit shows them, never a fresh verdict on old traffic.
    // (A rule with no number in its window has nothing to settle: it says no data.)
    let verdicts: Vec<&str> = s["guardrails"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] != "health")
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert!(
        verdicts
            .iter()
            .all(|v| matches!(*v, "settling" | "no-data"))
            && verdicts.contains(&"settling")
            || verdicts.iter().all(|v| *v == "no-data"),
        "{s:#}"
    );
    assert!(
        matches!(
            s["guardrails"]["status"].as_str(),
            Some("settling" | "no-data")
        ),
        "{s:#}"
    );

    // Straight back onto the release just rolled back: the pre-flight asks.
    let o = cutover(&cfg, &["step"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("PRE-FLIGHT failed") && stderr(&o).contains(" rolled back 0:0"),
        "{}",
        stderr(&o)
    );
    assert_eq!(status(&cfg)["share"], 0, "refused means untouched");

    let entries = Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    let actions: Vec<(&str, &str, Option<u8>)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.phase.as_str(), e.share_after))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("step", "intent", None),
            ("step", "result", Some(10)),
            ("set", "intent", None),
            ("set", "result", Some(50)),
            ("promote", "intent", None),
            ("promote", "result", Some(100)),
            ("back", "intent", None),
            ("back", "result", Some(50)),
            ("rollback", "intent", None),
            ("rollback", "result", Some(0)),
        ]
    );
    for e in &entries {
        assert_eq!(e.source, "cli");
        assert!(e.who.user.contains('@'), "{:?}", e.who);
        if e.phase == Phase::Result {
            assert_eq!(e.verified, Some(true));
            assert!(e.elapsed_ms.is_some());
        }
    }
}

#[test]
fn bad_config_names_key_value_and_expectation_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "plan = [10, 5, 100]\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:1\"\n",
            vec!["`plan`", "[10, 5, 100]", "rising"],
        ),
        (
            "poll-interval = \"soon\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:1\"\n",
            vec!["poll-interval", "soon"],
        ),
        (
            "[backend]\nkind = \"f5\"\n",
            vec!["unknown variant `f5`", "expected", "sim"],
        ),
        (
            "[backend]\nkind = \"sim\"\ncontrol = \"x\"\n[guardrails]\nmax-error-rate = 3\n",
            vec!["guardrails.max-error-rate", "3", "fraction"],
        ),
        // A name HAProxy's runtime API would read as a second command: refused before
        // any socket is opened (a --read-only `status` once set a weight through it).
        (
            "[backend]\nkind = \"haproxy\"\nsocket = \"/nonexistent.sock\"\nbackend = \"app\"\nblue-server = \"blue; set weight app/green 77\"\ngreen-server = \"green\"\n",
            vec![
                "backend.blue-server",
                "\"blue; set weight app/green 77\"",
                "expected an HAProxy name",
            ],
        ),
        (
            "[backend]\nkind = \"haproxy\"\nsocket = \"/nonexistent.sock\"\nbackend = \"app\\nset weight app/green 55\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n",
            vec!["backend.backend", "\\n", "expected an HAProxy name"],
        ),
        (
            "[backend]\nkind = \"nginx\"\nconfig = \"/nonexistent.conf\"\nupstream = \"app\"\nblue-server = \"127.0.0.1:1 weight=5\"\ngreen-server = \"127.0.0.1:2\"\n",
            vec!["backend.blue-server", "a server address"],
        ),
    ];
    for (text, wants) in cases {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, text).unwrap();
        for cmd in [&["status"][..], &["check"][..], &["rollback"][..]] {
            let o = cutover(&cfg, cmd);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{cmd:?} on {text:?}: {}",
                stderr(&o)
            );
            for w in &wants {
                assert!(
                    stderr(&o).contains(w),
                    "{cmd:?}: {:?} should contain {w:?}",
                    stderr(&o)
                );
            }
        }
    }
    let o = cutover(&dir.path().join("missing.toml"), &["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing.toml") && stderr(&o).contains("cannot read"),
        "{}",
        stderr(&o)
    );
    let o = std::process::Command::new(bin())
        .args(["demo", "--scenario", "nope"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no scenario named `nope`"),
        "{}",
        stderr(&o)
    );
    // The demo's own flags are bounded as the config's keys are.
    for (flag, value) in [
        ("--rollback-window", "500000000years"),
        ("--write-delay", "500000000years"),
    ] {
        let o = std::process::Command::new(bin())
            .args(["demo", flag, value])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&o).contains(flag) && stderr(&o).contains("expected a duration from"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn unreachable_backend_is_said_plainly_and_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "live = \"blue\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:{}\"\n",
            closed_port()
        ),
    )
    .unwrap();
    let o = cutover(&cfg, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        s["share"].is_null() && s["weights"].is_null(),
        "unknown, not 0: {s}"
    );
    assert!(
        s["errors"]["backend"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{s}"
    );
    assert!(s["envs"]["green"]["error_rate"].is_null());

    let o = cutover(&cfg, &["rollback"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("FAILED") && stderr(&o).contains("cannot reach"),
        "{}",
        stderr(&o)
    );

    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("✕ backend"), "{}", stdout(&o));
}

#[test]
fn check_passes_against_a_live_simulator() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    let o = cutover(&cfg, &["check"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("✓ config")
            && out.contains("✓ backend")
            && out.contains("✓ signals")
            && out.contains("✓ journal"),
        "{out}"
    );
    // `check` changes nothing: the journal is not created (nor rotated), only probed.
    assert!(
        !dir.path().join("journal.jsonl").exists(),
        "check made the journal"
    );
    let o = cutover(&cfg, &["--journal", "/dev/full", "check"]);
    assert!(
        stdout(&o).contains("? journal: /dev/full: a device, not a file"),
        "{}",
        stdout(&o)
    );
    let fifo = dir.path().join("fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let o = cutover(&cfg, &["--journal", fifo.to_str().unwrap(), "check"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stdout(&o).contains("✕ journal: cannot write")
                && stdout(&o).contains("not a regular file"),
            "{}",
            stdout(&o)
        );
    }
}

#[tokio::test]
async fn sim_serve_envs_answer_real_http() {
    let sim = SimServe::start("bad-release", &["--no-sleep"]);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("http://{}/", sim.green))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-cutover-env"], "green");
    assert!(r.text().await.unwrap().starts_with("green v1.5.0"));
    let r = http
        .get(format!("http://{}/health", sim.blue))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let m = http
        .get(format!("http://{}/metrics", sim.green))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("http_requests_total{env=\"green\",code=\"200\"}"),
        "{m}"
    );
    assert!(
        m.contains("http_request_duration_seconds_bucket{env=\"green\",le=\"+Inf\"}"),
        "{m}"
    );
    let r = http
        .put(format!("http://{}/control/weights", sim.control))
        .json(&serde_json::json!({"blue": 500, "green": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "weights above the scale are refused"
    );
}

#[test]
fn green_live_goes_the_other_way_from_a_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        include_str!("../demo/scenarios/happy.toml").replace("live = \"blue\"", "live = \"green\"");
    let scenario = dir.path().join("next-release.toml");
    std::fs::write(&scenario, text).unwrap();
    let sim = SimServe::start(scenario.to_str().unwrap(), &["--no-sleep"]);
    let cfg = sim.config(dir.path(), "");
    let s = status(&cfg);
    assert_eq!(
        (
            s["live"].as_str(),
            s["candidate"].as_str(),
            s["share"].as_u64()
        ),
        (Some("green"), Some("blue"), Some(0))
    );
    let o = cutover(&cfg, &["step"]);
    assert!(stdout(&o).contains("blue 0 → 10 %"), "{}", stdout(&o));
    let s = status(&cfg);
    assert_eq!(
        (
            s["weights"]["blue"].as_u64(),
            s["weights"]["green"].as_u64()
        ),
        (Some(10), Some(90))
    );
    assert!(cutover(&cfg, &["rollback"]).status.success());
    assert_eq!(status(&cfg)["weights"]["green"], 100);
}

#[test]
fn unknown_theme_is_a_usage_error() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "theme = \"neon\"");
    let o = cutover(&cfg, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("theme `neon`") && stderr(&o).contains("deuteranopia"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn journal_prints_a_timeline_in_text_markdown_and_json() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    for args in [
        &["step"][..],
        &["set", "50", "--yes"][..],
        &["rollback"][..],
    ] {
        assert!(cutover(&cfg, args).status.success());
    }
    let o = cutover(&cfg, &["journal"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("step green 0 % → 10 %: applied in") && text.contains("verified at 10 %"),
        "{text}"
    );
    assert!(text.contains("rollback green 50 % → 0 %"), "{text}");
    let md = stdout(&cutover(&cfg, &["journal", "--format", "markdown"]));
    assert!(
        md.starts_with("| time (UTC) | who |") && md.lines().count() == 5,
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &cutover(&cfg, &["journal", "--format", "json", "--since", "1h"]).stdout,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["source"], "cli");
    let none = cutover(&cfg, &["journal", "--since", "2999-01-01T00:00:00Z"]);
    assert!(none.status.success() && stdout(&none).is_empty());
    let bad = cutover(&cfg, &["journal", "--since", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--since") && stderr(&bad).contains("soon"),
        "{}",
        stderr(&bad)
    );

    // Damage: a byte that is not UTF-8 and a torn line in the middle of the file. The
    // rest still reads, and the damage is counted.
    let path = dir.path().join("journal.jsonl");
    let whole = std::fs::read(&path).unwrap();
    let cut = whole.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut damaged = whole[..cut].to_vec();
    damaged.extend_from_slice(b"{\"ts\":\"2026-11-23T14:00:0\xff\"}\n{\"ts\":\"torn");
    damaged.push(b'\n');
    damaged.extend_from_slice(&whole[cut..]);
    std::fs::write(&path, damaged).unwrap();
    let o = cutover(&cfg, &["journal"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    assert!(
        stderr(&o).contains("2 unreadable lines skipped"),
        "{}",
        stderr(&o)
    );
    // A journal that is not a file is refused, never read without end.
    for dev in ["/dev/full", "/dev/zero"] {
        let o = cutover(&cfg, &["--journal", dev, "journal"]);
        assert_eq!(o.status.code(), Some(1), "{dev}");
        assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    }
    // A user name with a line break and a bidi override (from the environment, into the
    // journal) forges no line of the timeline and reorders nothing on screen.
    let o = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["set", "10", "--yes"])
        .env("USER", "mallory\nguardrails: OK\u{202e}")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for format in ["text", "markdown"] {
        let out = stdout(&cutover(&cfg, &["journal", "--format", format]));
        assert!(
            !out.lines().any(|l| l.starts_with("guardrails")) && !out.contains('\u{202e}'),
            "{out}"
        );
        assert!(out.contains("mallory guardrails: OK\\u{202e}@"), "{out}");
    }
    // A FIFO as the journal: refused at once, and a rollback goes on without it.
    let fifo = dir.path().join("fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let t = std::time::Instant::now();
        let o = cutover(&cfg, &["--journal", fifo.to_str().unwrap(), "rollback"]);
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "no hang");
        assert!(
            stderr(&o).contains("ROLLBACK NOT JOURNALED")
                && stderr(&o).contains("not a regular file"),
            "{}",
            stderr(&o)
        );
        assert_eq!(
            stderr(&o).matches("NOT JOURNALED").count(),
            1,
            "said once: {}",
            stderr(&o)
        );
        assert_eq!(o.status.code(), Some(1), "not journaled is not a success");
        assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    }
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --config {} status | true",
            bin().display(),
            cfg.display()
        ))
        .output()
        .unwrap();
    assert!(
        !stderr(&o).contains("panicked"),
        "no panic on a closed pipe: {}",
        stderr(&o)
    );
}

#[test]
fn a_closed_stderr_keeps_the_usage_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "name = 5\n").unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["check", "--config"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads what it says.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(2),
        "a bad config is a usage error, not a panic (101)"
    );
}

#[test]
fn the_demo_checks_a_config_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("keys.toml");
    std::fs::write(
        &cfg,
        "[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:7070\"\n[keys]\nconfirm = [\"r\"]\n",
    )
    .unwrap();
    let o = std::process::Command::new(bin())
        .args(["demo", "--config"])
        .arg(&cfg)
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("confirm"), "{}", stderr(&o));
}

/// `min-bake` holds the CLI too, counted from the last move recorded at the backend.
#[test]
fn min_bake_holds_the_cli_from_the_recorded_move() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "min-bake = \"1h\"");
    let o = cutover(&cfg, &["step"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cutover(&cfg, &["step", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("min-bake not met"), "{}", stderr(&o));
    assert_eq!(status(&cfg)["share"], 10, "held means untouched");
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "rollback never waits: {}", stderr(&o));
}

#[test]
fn the_first_cli_step_runs_the_pre_flight_and_a_failed_one_needs_yes() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    // The smoke check's endpoint does not answer: the smoke fails, as it would on a release
    // whose /api/cart is broken.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!(
        "http://{}/api/cart?env={{env}}",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let cfg = sim.config(
        dir.path(),
        &format!("[[smoke]]\nname = \"cart\"\nurl = \"{dead}\""),
    );
    let o = cutover(&cfg, &["set", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("pre-flight: smoke FAILED"), "{err}");
    assert!(
        err.contains("set to 10 % needs --yes: PRE-FLIGHT failed")
            && err.contains("smoke failed ("),
        "{err}"
    );
    assert_eq!(status(&cfg)["share"], 0, "refused means untouched");

    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status(&cfg)["share"], 10);
    // The journal says what the --yes overrode.
    let entries = Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    let intent = entries.iter().find(|e| e.phase == Phase::Intent).unwrap();
    let reason = intent.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("overrode the guardrails with --yes") && reason.contains("smoke failed"),
        "{reason}"
    );
    // Off 0 % there is no pre-flight any more: the next step is judged on its traffic.
    let o = cutover(&cfg, &["step", "--yes"]);
    assert!(!stderr(&o).contains("pre-flight"), "{}", stderr(&o));
}

#[test]
fn a_pre_flight_names_an_env_that_is_not_up_and_check_fails_on_it() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on green's probe: it is down, whatever the simulator says.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/healthz", closed.local_addr().unwrap());
    drop(closed);
    let cfg = sim.config(
        dir.path(),
        &format!(
            "[envs.blue]\nhealth = [\"http://{}/\"]\n[envs.green]\nhealth = [\"{dead}\"]",
            sim.blue
        ),
    );
    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("signals health probes"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("✕ signals health probes: blue up, green DOWN ("),
        "{line}"
    );
    let o = cutover(&cfg, &["step"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("green not healthy (down"),
        "{}",
        stderr(&o)
    );
    assert_eq!(status(&cfg)["share"], 0, "refused means untouched");
}

/// A journal rotated away (renamed with its time, as a start over 64 MB does) is not left
/// out silently: `journal --since` reads the files rotated after its cutoff, and `journal`
/// alone names them. A `--since` past the calendar is everything, not nothing.
#[test]
fn a_rotated_journal_is_read_by_since_and_named_otherwise() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "live = \"blue\"");
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stamp = chrono::Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .replace(':', "-");
    let journal = dir.path().join("journal.jsonl");
    let rotated = dir.path().join(format!("journal.jsonl.{stamp}"));
    std::fs::rename(&journal, &rotated).unwrap();
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cutover(&cfg, &["journal", "--since", "1h"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("→ 10 %") && out.contains("→ 50 %"),
        "both files: {out}"
    );
    assert!(!stderr(&o).contains("not read"), "{}", stderr(&o));
    let o = cutover(&cfg, &["journal"]);
    assert!(
        stderr(&o).contains("1 older journal file not read")
            && stderr(&o).contains(&format!("journal.jsonl.{stamp}")),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("→ 10 %"), "{}", stdout(&o));
    let o = cutover(&cfg, &["journal", "--since", "500000000years"]);
    assert!(stdout(&o).contains("→ 10 %"), "everything: {}", stdout(&o));
}

/// `cutover journal` needs only where the journal is: a config whose webhook variable is
/// unset in this shell still names it, and the timeline is printed with a note.
#[test]
fn journal_reads_with_a_secret_variable_unset() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "live = \"blue\"\n[[notify]]\nurl-env = \"CUTOVER_TEST_UNSET_HOOK\"\n",
    );
    let o = std::process::Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .args(["set", "10", "--yes"])
        .env(
            "CUTOVER_TEST_UNSET_HOOK",
            format!("http://127.0.0.1:{}/h", closed_port()),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = std::process::Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .arg("journal")
        .env_remove("CUTOVER_TEST_UNSET_HOOK")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("→ 10 %"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("CUTOVER_TEST_UNSET_HOOK")
            && stderr(&o).contains("reading the journal it names"),
        "{}",
        stderr(&o)
    );
}

/// An nginx `config` that is a FIFO: `check` says the backend and the write side cannot
/// use it and ends at once (opening a FIFO to prove it writable blocked forever).
#[test]
fn check_on_an_nginx_config_that_is_a_fifo_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("up.conf");
    if !Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        return;
    }
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"fifo\"\njournal = {:?}\n[backend]\nkind = \"nginx\"\nconfig = {fifo:?}\nupstream = \"app\"\nblue-server = \"127.0.0.1:8081\"\ngreen-server = \"127.0.0.1:8082\"\ntest-command = [\"true\"]\nreload-command = [\"true\"]\n",
            dir.path().join("j.jsonl")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("--config").arg(&cfg).arg("check");
    let o = bounded(cmd, 20);
    let (status, out) = (o.status, stdout(&o));
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('✕') && l.contains("not a regular file")),
        "{out}"
    );
}

/// Probes for green only: green's health is the probes', blue's still the backend's own
/// (it read `unknown` when any probe was configured).
#[test]
fn an_env_without_probes_keeps_the_backends_health() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        &format!("[envs.green]\nhealth = [\"http://{}/health\"]\n", sim.green),
    );
    let o = cutover(&cfg, &["check"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("blue up, green health not given"), "{out}");
    assert!(
        out.contains("✓ signals health probes: blue health not given, green up"),
        "{out}"
    );
    let o = cutover(&cfg, &["status"]);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("blue") && l.contains("health up")),
        "{out}"
    );
}

/// Runs `cmd`, killed after `secs`: the output, or a panic naming the hang.
fn bounded(mut cmd: Command, secs: u64) -> std::process::Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} still running after {secs} s: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The nginx cutover record is a FIFO, or a file another process holds locked: a rollback
/// still moves the traffic, says the record was not updated, and ends (it hung forever
/// after the write: the open blocked and the process waited on it at exit).
#[test]
fn a_rollback_ends_when_the_record_file_is_a_fifo_or_locked() {
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up.conf");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"rec\"\njournal = {:?}\nlive = \"blue\"\n[backend]\nkind = \"nginx\"\nconfig = {up:?}\nupstream = \"app\"\nblue-server = \"127.0.0.1:8081\"\ngreen-server = \"127.0.0.1:8082\"\ntest-command = [\"true\"]\nreload-command = [\"true\"]\n",
            dir.path().join("j.jsonl")
        ),
    )
    .unwrap();
    let record = dir.path().join("up.conf.cutover-record");
    for case in ["fifo", "locked"] {
        std::fs::write(
            &up,
            "upstream app {\n    server 127.0.0.1:8081 weight=50;\n    server 127.0.0.1:8082 weight=50;\n}\n",
        )
        .unwrap();
        let _ = std::fs::remove_file(&record);
        let mut holder = None;
        match case {
            "fifo" => {
                if !Command::new("mkfifo")
                    .arg(&record)
                    .status()
                    .is_ok_and(|s| s.success())
                {
                    continue;
                }
            }
            _ => {
                std::fs::write(&record, "").unwrap();
                let f = std::fs::File::open(&record).unwrap();
                f.lock().unwrap();
                holder = Some(f);
            }
        }
        let mut cmd = Command::new(bin());
        cmd.arg("--config").arg(&cfg).arg("rollback");
        let o = bounded(cmd, 20);
        drop(holder);
        let text = std::fs::read_to_string(&up).unwrap();
        assert!(
            text.contains("8082 down") || text.contains("8082 weight=0"),
            "{case}: traffic not moved:\n{text}\n{}",
            stderr(&o)
        );
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            all.contains("record"),
            "{case}: the record's failure said:\n{all}"
        );
    }
}
