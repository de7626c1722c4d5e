//! Hostile feeds: a Prometheus on loopback that answers several series for one env,
//! negative values, `1e308`, `NaN`, `+Inf` and samples a day old. Each value is shown as
//! invalid or stale with its reason, never as a number; the guardrails are never OK; `status
//! --json` says `null` with a note. And `min-requests`: too few requests is WAITING n/min.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;
#[path = "common/fakeprom.rs"]
mod fakeprom;

use common::*;
use fakeprom::{FakeProm, FakeSeries, labelled, old, val};
use std::path::{Path, PathBuf};

const DAY_S: f64 = 86_400.0;

/// A config on `sim` (traffic and health) with `prom` for everything else.
fn config(sim: &SimServe, dir: &Path, prom: &FakeProm, guardrails: &str) -> PathBuf {
    sim.config(
        dir,
        &format!(
            "live = \"blue\"\npoll-interval = \"1s\"\n{}\n[guardrails]\n{guardrails}\n",
            prom.config()
        ),
    )
}

/// Sets every hostile query of `env` at once: error rate, p99 (s), rps, requests, errors.
fn set_all(prom: &FakeProm, env: &str, all: [Vec<FakeSeries>; 5]) {
    let names = ["error_rate", "p99", "rps", "requests", "errors"];
    for (name, series) in names.into_iter().zip(all) {
        prom.set(&format!("hostile_{name}"), env, series);
    }
}

fn rule<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["guardrails"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == name)
        .unwrap_or_else(|| panic!("no rule {name}: {s:#}"))
}

#[test]
fn hostile_values_are_invalid_with_their_reason_never_numbers() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &sim,
        dir.path(),
        &prom,
        "max-error-rate = 0.01\nmax-p99 = \"2s\"",
    );
    // Green, the candidate: five series where one is expected (the query lacks its
    // `sum by (env)`; the first, 0.0, would read as "0.00 % OK"), p99 above the highest
    // bucket, a huge but possible rps, a negative count and a NaN sum.
    let five: Vec<FakeSeries> = (0..5)
        .map(|i| labelled(&format!("0.{i}"), "instance", &format!("10.0.0.{i}:80")))
        .collect();
    set_all(
        &prom,
        "green",
        [
            five,
            vec![val("+Inf")],
            vec![val("1e308")],
            vec![val("-3")],
            vec![val("NaN")],
        ],
    );
    // Blue, live: an error rate of 1e308, a two-hour p99, a negative rps, a count a day
    // old, and -Inf.
    set_all(
        &prom,
        "blue",
        [
            vec![val("1e308")],
            vec![val("7200")],
            vec![val("-1")],
            vec![old("1000", DAY_S)],
            vec![val("-Inf")],
        ],
    );
    let o = cutover(&cfg, &["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&o), stderr(&o)));
    let (green, blue) = (&s["envs"]["green"], &s["envs"]["blue"]);
    let cases = [
        (
            green,
            "error_rate",
            "invalid: 5 series for env=green: add sum by (env) (instance=10.0.0.0:80|10.0.0.1:80|10.0.0.2:80|…)",
        ),
        (green, "p99_ms", "invalid: +Inf: above the highest bucket"),
        (green, "requests", "invalid: negative (-3)"),
        (green, "errors", "invalid: NaN: a sum is never NaN"),
        (blue, "error_rate", "invalid: > 100 % (1e308)"),
        (blue, "p99_ms", "invalid: > 1 h (7200 s)"),
        (blue, "rps", "invalid: negative (-1)"),
        (
            blue,
            "requests",
            "stale: sampled 24h ago, by its own timestamp",
        ),
        (blue, "errors", "invalid: -Inf"),
    ];
    for (env, key, note) in cases {
        assert_eq!(
            env[key],
            serde_json::Value::Null,
            "{key} is no number: {s:#}"
        );
        assert_eq!(env["notes"][key], note, "{key}: {s:#}");
    }
    assert_eq!(green["rps"], 1e308, "huge is not impossible: {s:#}");
    assert!(
        blue["age_ms"]["requests"]
            .as_u64()
            .is_some_and(|a| a >= 86_400_000),
        "the age is the sample's own: {s:#}"
    );
    assert_eq!(s["guardrails"]["status"], "invalid", "{s:#}");
    assert_eq!(rule(&s, "error-rate")["verdict"], "INVALID");
    assert!(
        rule(&s, "error-rate")["detail"]
            .as_str()
            .unwrap()
            .starts_with("5 series for env=green"),
        "{s:#}"
    );
    assert_eq!(rule(&s, "p99")["verdict"], "INVALID");
    assert_eq!(
        rule(&s, "health")["verdict"],
        "OK",
        "the simulator's health"
    );
    assert!(
        prom.seen().iter().all(|(m, _)| m == "GET"),
        "prometheus-http-query's .get() sends GET: {:?}",
        prom.seen()
    );

    // The text status says the same in words.
    let o = cutover(&cfg, &["status"]);
    let text = stdout(&o);
    assert!(
        text.contains("errors invalid: 5 series for env=green"),
        "{text}"
    );
    assert!(text.contains("rps 1e308"), "{text}");
    assert!(
        text.contains("guardrails: INVALID error-rate: 5 series for env=green"),
        "{text}"
    );
    assert!(
        text.contains("INVALID p99: +Inf: above the highest bucket"),
        "{text}"
    );
    assert!(
        !text.contains("inf %") && !text.contains("guardrails: OK"),
        "{text}"
    );
    // `check` does not say ✓ over readings that cannot be measurements.
    prometheus_check_fails(&cfg, "green error-rate: invalid: 5 series for env=green");
}

/// Runs `check`: it exits 1 and its Prometheus line is ✕ and says `why`.
fn prometheus_check_fails(cfg: &Path, why: &str) {
    let o = cutover(cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("signals prometheus"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("✕") && line.contains(why),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_sample_a_day_old_is_stale_and_says_its_real_age() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, dir.path(), &prom, "max-error-rate = 0.01");
    for env in ["blue", "green"] {
        set_all(
            &prom,
            env,
            [
                vec![old("0.001", DAY_S)],
                vec![val("0.1")],
                vec![val("50")],
                vec![val("3000")],
                vec![val("3")],
            ],
        );
    }
    let s = status(&cfg);
    let green = &s["envs"]["green"];
    assert_eq!(green["error_rate"], serde_json::Value::Null, "{s:#}");
    assert_eq!(
        green["notes"]["error_rate"], "stale: sampled 24h ago, by its own timestamp",
        "{s:#}"
    );
    assert_eq!(green["p99_ms"], 100.0, "a fresh sample is its value: {s:#}");
    assert_eq!(rule(&s, "error-rate")["verdict"], "STALE", "{s:#}");
    assert_eq!(s["guardrails"]["status"], "stale", "{s:#}");
    let text = stdout(&cutover(&cfg, &["status"]));
    assert!(text.contains("errors 0.10 % (STALE 24h)"), "{text}");
    assert!(text.contains("guardrails: STALE error-rate"), "{text}");
}

#[test]
fn an_answer_that_does_not_parse_is_an_error_of_the_look_and_a_p99_of_1e308_s_is_invalid() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, dir.path(), &prom, "max-error-rate = 0.01");
    for env in ["blue", "green"] {
        set_all(
            &prom,
            env,
            [
                vec![val("0.001")],
                vec![val("0.1")],
                vec![val("50")],
                vec![val("3000")],
                vec![val("3")],
            ],
        );
    }
    // Green's error rate is not a number Prometheus would write; its p99 is 1e308 seconds.
    prom.set("hostile_error_rate", "green", vec![val("twelve")]);
    prom.set("hostile_p99", "green", vec![val("1e308")]);
    let o = cutover(&cfg, &["status", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a signal not read is not a clean look"
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let green = &s["envs"]["green"];
    assert_eq!(green["error_rate"], serde_json::Value::Null, "{s:#}");
    let errors = s["errors"]["signals"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| {
            let e = e.as_str().unwrap_or_default();
            e.starts_with("prometheus ") && e.contains(": green error-rate: ")
        }),
        "{s:#}"
    );
    assert_eq!(
        green["notes"]["p99_ms"], "invalid: > 1 h (1e308 s)",
        "{s:#}"
    );
    assert_ne!(s["guardrails"]["status"], "ok", "{s:#}");
    // A write over it needs --yes: a source that could not be read is as good as stale.
    let o = cutover(&cfg, &["set", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // And `check` does not say ✓ over a query it could not read.
    prometheus_check_fails(&cfg, "could not read green error-rate: ");
}

#[test]
fn min_requests_waits_for_enough_requests_then_judges() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &sim,
        dir.path(),
        &prom,
        "max-error-rate = 0.01\nmin-requests = 200",
    );
    let with = |requests: &str, errors: &str| {
        [
            vec![val("0.5")],
            vec![val("0.1")],
            vec![val("1")],
            vec![val(requests)],
            vec![val(errors)],
        ]
    };
    set_all(&prom, "blue", with("9000", "9"));
    set_all(&prom, "green", with("12", "6"));
    let s = status(&cfg);
    let r = rule(&s, "error-rate");
    assert_eq!(
        (&r["verdict"], &r["detail"]),
        (&"WAITING".into(), &"12/200 req".into()),
        "{s:#}"
    );
    assert_eq!(s["guardrails"]["status"], "waiting", "{s:#}");
    let text = stdout(&cutover(&cfg, &["status"]));
    assert!(text.contains("guardrails: WAITING 12/200 req"), "{text}");

    // Enough requests: judged, and half of them failing is a breach.
    set_all(&prom, "green", with("400", "200"));
    let s = status(&cfg);
    assert_eq!(rule(&s, "error-rate")["verdict"], "BREACH", "{s:#}");
    assert_eq!(s["guardrails"]["status"], "breach", "{s:#}");
}

#[test]
fn bad_min_requests_is_a_usage_error_naming_key_value_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cutover.toml");
    std::fs::write(
        &cfg,
        "[guardrails]\nmin-requests = 0\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let o = cutover(&cfg, &["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "key `guardrails.min-requests`: value 0: expected a whole number of requests from 1 to 100000000"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_cockpit_shows_hostile_values_as_invalid_at_80x24() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&sim, dir.path(), &prom, "max-error-rate = 0.01");
    let five: Vec<FakeSeries> = (0..5)
        .map(|i| labelled(&format!("0.{i}"), "instance", &format!("i{i}")))
        .collect();
    set_all(
        &prom,
        "green",
        [
            five,
            vec![val("-0.5")],
            vec![val("1e308")],
            vec![val("100")],
            vec![val("1")],
        ],
    );
    set_all(
        &prom,
        "blue",
        [
            vec![old("0.002", DAY_S)],
            vec![val("0.2")],
            vec![val("1e308")],
            vec![val("9000")],
            vec![val("18")],
        ],
    );
    let t = Tmux::new("hostile");
    t.start(80, 24, &cockpit_cmd(&cfg));
    let screen = t.wait(30, "the hostile values on screen", |s| {
        s.contains("invalid 5 series") && s.contains("STALE 24h")
    });
    let green_of = |row: &str| {
        screen
            .lines()
            .find(|l| l.contains(&format!("│ {row}")))
            .and_then(|l| l.split('│').nth(2))
            .unwrap_or_default()
            .to_string()
    };
    assert!(green_of("errors").contains("INVALID"), "{screen}");
    assert!(green_of("p99").contains("invalid negative"), "{screen}");
    assert!(green_of("rps").contains("1e308"), "{screen}");
    assert!(
        screen.contains("guardrails INVALID error-rate, p99"),
        "the guardrails say INVALID and which:\n{screen}"
    );
    assert!(
        !screen.contains("inf") && !screen.contains("✓ OK") && !screen.contains("00000000"),
        "no inf, no OK, no 309 digits:\n{screen}"
    );
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

/// A Prometheus that answers 50 MB, 429 with Retry-After, a redirect to another origin, or
/// a 503 from a proxy: each said as what it is, in bounded memory and time, and no secret
/// of the config (a bearer token, a webhook URL) in any output.
#[test]
fn a_hostile_prometheus_is_bounded_and_said_plainly_and_no_secret_leaks() {
    use fakeprom::Misbehave;
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    let dir = tempfile::tempdir().unwrap();
    let token = "s3cret-bearer-7f2a";
    let hook = format!("http://127.0.0.1:{}/T0/B1/xoxb-hook-secret", closed_port());
    let cfg = sim.config(
        dir.path(),
        &format!(
            "live = \"blue\"\n{}bearer-token-env = \"PROM_TOKEN\"\n[[notify]]\nurl-env = \"HOOK_URL\"\n",
            prom.config()
        ),
    );
    let envs = [("PROM_TOKEN", token), ("HOOK_URL", hook.as_str())];
    let cases = [
        (Misbehave::Huge(50), "response over 4 MB: not read"),
        (
            Misbehave::TooMany("7".into()),
            "HTTP 429 Too Many Requests (Retry-After 7)",
        ),
        (
            Misbehave::Redirect("http://sso.example/login?next=%2F".into()),
            "HTTP 302 redirects to another origin, not followed: Location http://sso.example/login?next=***",
        ),
        (
            Misbehave::Status(
                503,
                "upstream connect error or disconnect\nreset reason: overflow".into(),
            ),
            "HTTP 503 Service Unavailable: upstream connect error or disconnect",
        ),
    ];
    let mut figures = Vec::new();
    for (how, said) in cases {
        prom.misbehave(how.clone());
        let (o, mb, took) = run_measured(&cfg, &["status", "--json"], &envs);
        assert_eq!(o.status.code(), Some(1), "{how:?}: {}", stderr(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let errors = s["errors"]["signals"].to_string();
        assert!(errors.contains(said), "{how:?}: {errors}");
        assert!(s["envs"]["green"]["error_rate"].is_null(), "{s:#}");
        assert!(mb < 100, "{how:?}: peak {mb} MB");
        assert!(
            took < std::time::Duration::from_secs(15),
            "{how:?}: {took:?}"
        );
        for out in [stdout(&o), stderr(&o)] {
            assert!(!out.contains(token), "{how:?}: the token leaked: {out}");
        }
        figures.push(format!("{how:?}: {mb} MB peak, {took:?}"));
    }
    eprintln!("hostile Prometheus: {figures:#?}");
    // A write with a webhook that does not answer: said, by its variable, never its URL.
    prom.misbehave(Misbehave::No);
    let (o, _, _) = run_measured(&cfg, &["set", "10", "--yes"], &envs);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("webhook HOOK_URL not told"), "{all}");
    assert!(
        !all.contains("xoxb-hook-secret") && !all.contains(token),
        "{all}"
    );
}

/// Every secret a config can hold (Prometheus basic auth, a probe's bearer token, a token
/// and a password in probe URLs, a smoke check's token, a webhook URL, AWS keys in the
/// environment), with every peer refusing or down: no output of `check`, `status`,
/// `status --json`, `set`, `journal`, the journal file or the cockpit's screen shows one.
#[test]
fn no_secret_of_the_config_is_shown_anywhere() {
    use fakeprom::Misbehave;
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let prom = FakeProm::start();
    // A proxy that echoes the credentials it refused.
    prom.misbehave(Misbehave::Status(
        401,
        "Unauthorized: Authorization: Basic b3BzOnByb20tcGFzcy04MWMz refused".into(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_port();
    let secrets = [
        ("PROM_PASS", "prom-pass-81c3"),
        ("PROBE_TOKEN", "probe-token-55d0"),
        ("SMOKE_TOKEN", "smoke-token-9e1b"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-4f7a"),
        ("AWS_SESSION_TOKEN", "aws-session-0b2c"),
    ];
    let hook = format!("http://127.0.0.1:{closed}/T0/B1/hook-secret-6a1d");
    let in_urls = [
        "url-pass-3c9e",
        "query-secret-d41f",
        "hook-secret-6a1d",
        "b3BzOnByb20tcGFzcy04MWMz",
    ];
    let cfg = sim.config(
        dir.path(),
        &format!(
            r#"live = "blue"
poll-interval = "1s"
[envs.blue]
health = ["http://{blue}/health?token=query-secret-d41f"]
[envs.green]
health = [{{ url = "http://probe:url-pass-3c9e@127.0.0.1:{closed}/health?token=query-secret-d41f", bearer-token-env = "PROBE_TOKEN" }}]
[[smoke]]
name = "checkout"
url = "http://127.0.0.1:{closed}/{{env}}/smoke?key=query-secret-d41f"
bearer-token-env = "SMOKE_TOKEN"
{prom}basic-auth-user = "ops"
basic-auth-password-env = "PROM_PASS"
[[notify]]
url-env = "HOOK_URL"
"#,
            blue = sim.blue,
            prom = prom.config(),
        ),
    );
    let mut envs: Vec<(&str, &str)> = secrets.to_vec();
    envs.push(("HOOK_URL", &hook));
    envs.push(("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"));
    let leaks = |what: &str, text: &str| {
        for (_, s) in &secrets {
            assert!(!text.contains(s), "{what}: {s} leaked:\n{text}");
        }
        for s in in_urls {
            assert!(!text.contains(s), "{what}: {s} leaked:\n{text}");
        }
    };
    let mut said = String::new();
    for args in [
        &["check"][..],
        &["status"],
        &["status", "--json"],
        &["set", "10"],
        &["set", "10", "--yes"],
        &["rollback"],
        &["journal"],
    ] {
        let (o, _, _) = run_measured(&cfg, args, &envs);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        leaks(&format!("{args:?}"), &all);
        said.push_str(&all);
    }
    // What was said is there, by name: the probe's host, the smoke check, the 401.
    for want in [
        "HTTP 401 Unauthorized: Unauthorized: Authorization: *** refused",
        "webhook HOOK_URL not told",
        "token=***",
        "probe:***@127.0.0.1",
    ] {
        assert!(said.contains(want), "{want:?} not said:\n{said}");
    }
    leaks(
        "the journal",
        &std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap(),
    );
    if !require("tmux") {
        return;
    }
    let t = Tmux::new("secrets");
    t.start(
        100,
        40,
        &format!(
            "{} {}",
            envs.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            cockpit_cmd(&cfg)
        ),
    );
    t.wait(20, "the cockpit, rolled back", |s| {
        s.contains("rolled back")
    });
    t.keys(&["s"]);
    t.wait(20, "the smoke result", |s| s.contains("smoke green FAILED"));
    leaks("the cockpit", &t.screen());
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}
