//! The command line against a real HAProxy whose `show stat` is the signal source: one-shot
//! commands must see what the cockpit sees. Rates need two samples, so `status` and the
//! writes take a second one a poll interval after the first; a candidate failing a real
//! fraction of real requests sent through HAProxy's frontend is a breach that `status --json`
//! reports and that a forward write needs `--yes` (a journaled override) to step over.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::*;
use cutover::app::journal::{Journal, Phase};
use cutover::backends::Backend;
use cutover::backends::haproxy::{HaproxyBackend, HaproxySettings, Socket};
use cutover::core::{EnvPair, Weights};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// HAProxy in the foreground, killed on drop, with the lease and record files cutover kept
/// for it (named by its pid).
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        remove_haproxy_store(self.0.id());
    }
}

/// An env on loopback answering `/` with its name; when `fail_every` is set, every
/// `fail_every`-th request is a 500. Returns its address.
async fn env_server(name: &'static str, fail_every: Option<u64>) -> String {
    let served = Arc::new(AtomicU64::new(0));
    let app = Router::new().route(
        "/",
        get(move || {
            let served = served.clone();
            async move {
                let n = served.fetch_add(1, Ordering::SeqCst) + 1;
                let code = match fail_every {
                    Some(k) if n.is_multiple_of(k) => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::OK,
                };
                (code, [("x-cutover-env", name)], name)
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr.to_string()
}

/// Requests through `front` at about 200 a second, each on a new connection, until `stop`
/// is set or `limit` has passed; returns how many were answered.
async fn drive(front: String, stop: Arc<AtomicBool>, limit: Duration) -> u64 {
    drive_every(front, stop, limit, Duration::from_millis(5)).await
}

/// [`drive`] with one request every `every`.
async fn drive_every(
    front: String,
    stop: Arc<AtomicBool>,
    limit: Duration,
    every: Duration,
) -> u64 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let end = Instant::now() + limit;
    let mut pace = tokio::time::interval(every);
    let mut answered = 0;
    while !stop.load(Ordering::SeqCst) && Instant::now() < end {
        pace.tick().await;
        if http.get(format!("http://{front}/")).send().await.is_ok() {
            answered += 1;
        }
    }
    answered
}

/// HAProxy on loopback balancing `blue` and `green` 50/50, its admin socket, and a cutover
/// config on it (1 s polls, journal in `dir`): the process, a client of its socket, the
/// frontend's port and the config's path.
fn start(
    dir: &std::path::Path,
    blue: &str,
    green: &str,
) -> (Haproxy, HaproxyBackend, u16, std::path::PathBuf) {
    let (front, admin) = (closed_port(), closed_port());
    let cfg_text = format!(
        "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\n\
defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind 127.0.0.1:{front}\n  default_backend app\n\
backend app\n  balance roundrobin\n  server blue {blue} weight 50\n  server green {green} weight 50\n"
    );
    std::fs::write(dir.join("haproxy.cfg"), cfg_text).unwrap();
    let process = Haproxy(
        Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for port in [front, admin] {
        wait_until(30, &format!("HAProxy on port {port}"), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }
    let haproxy = HaproxyBackend::new(HaproxySettings {
        socket: Socket::Tcp(format!("127.0.0.1:{admin}")),
        backend: "app".into(),
        servers: EnvPair::new("blue".into(), "green".into()),
        scale: 100,
        timeout: Duration::from_secs(5),
    });
    let cfg = dir.join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"checkout-api\"\nlive = \"blue\"\npoll-interval = \"1s\"\njournal = \"{}\"\n[backend]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:{admin}\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n",
            dir.join("journal.jsonl").display()
        ),
    )
    .unwrap();
    (process, haproxy, front, cfg)
}

/// Whether HAProxy's stats say green has served more than `n` requests.
fn green_served(haproxy: &HaproxyBackend, n: u64) -> bool {
    let stat = futures::executor::block_on(haproxy.command("show stat app 4 -1")).unwrap();
    cutover::backends::haproxy::parse_stat_csv(&stat)
        .iter()
        .find(|r| r["svname"] == "green")
        .is_some_and(|r| r["stot"].parse::<u64>().unwrap_or(0) > n)
}

/// `cutover ARGS…` on `cfg`, and how long the whole process took.
fn timed(cfg: &std::path::Path, args: &[&str]) -> (std::process::Output, Duration) {
    let t = Instant::now();
    let o = cutover(cfg, args);
    (o, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_writes_take_a_second_sample_and_a_breach_needs_yes() {
    if !require("haproxy") {
        return;
    }
    let blue = env_server("blue", None).await;
    let green = env_server("green", Some(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let (_haproxy, haproxy, front, cfg) = start(dir.path(), &blue, &green);
    let journal = dir.path().join("journal.jsonl");

    // No traffic yet: the second sample was taken (no "first poll"), and it says there were
    // no requests; nothing judges the candidate, so a forward move asks.
    let (o, quiet_took) = timed(&cfg, &["status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["guardrails"]["status"], "no-data", "{s:#}");
    assert!(s["envs"]["green"]["error_rate"].is_null(), "{s:#}");
    assert_eq!(
        s["envs"]["green"]["notes"]["error_rate"], "no requests in the window",
        "{s:#}"
    );
    let o = cutover(&cfg, &["set", "60"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("set to 60 % needs --yes: NOTHING HAS JUDGED the candidate"),
        "{}",
        stderr(&o)
    );
    assert_eq!(haproxy.read().await.unwrap(), Weights::new(50, 50));

    // Real traffic through the frontend, green failing one request in ten.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(drive(
        format!("127.0.0.1:{front}"),
        stop.clone(),
        Duration::from_secs(120),
    ));
    wait_until(30, "traffic reaching green", || green_served(&haproxy, 50));

    let (o, status_took) = timed(&cfg, &["status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["guardrails"]["status"], "breach", "{s:#}");
    assert_eq!(
        s["guardrails"]["breaches"],
        serde_json::json!(["error-rate"])
    );
    let rule = s["guardrails"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "error-rate")
        .cloned()
        .unwrap();
    assert_eq!(rule["check"], "breach", "{s:#}");
    assert_eq!(rule["limit"], 0.01);
    let rate = rule["value"].as_f64().expect("a value, not no-data");
    assert!((0.05..=0.2).contains(&rate), "green fails 1 in 10: {rate}");
    assert_eq!(s["envs"]["green"]["error_rate"].as_f64(), Some(rate));
    assert!(
        s["envs"]["green"]["requests"]
            .as_f64()
            .is_some_and(|n| n > 0.0),
        "{s:#}"
    );
    assert!(
        s["envs"]["green"]["age_ms"]["error_rate"]
            .as_u64()
            .is_some_and(|a| a < 1_000),
        "timed at the second sample: {s:#}"
    );
    assert!(
        s["errors"]["signals"].as_array().unwrap().is_empty(),
        "{s:#}"
    );
    let o = cutover(&cfg, &["status"]);
    assert!(
        stdout(&o).contains("guardrails: BREACH errors "),
        "{}",
        stdout(&o)
    );

    // A move onto the breaching candidate without --yes: exit 2, says why, nothing moves.
    let (o, refused_took) = timed(&cfg, &["set", "90"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains("set to 90 % needs --yes: the candidate is BREACHING a guardrail: errors ")
            && said.contains("> 1 %"),
        "{said}"
    );
    assert_eq!(
        haproxy.read().await.unwrap(),
        Weights::new(50, 50),
        "refused means untouched"
    );

    // With --yes it moves, and the journal carries the override.
    let (o, set_took) = timed(&cfg, &["set", "90", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(haproxy.read().await.unwrap(), Weights::new(10, 90));
    stop.store(true, Ordering::SeqCst);
    let answered = load.await.unwrap();
    assert!(answered > 0);
    let entries = Journal::read_all(&journal).unwrap();
    let lines: Vec<_> = entries
        .iter()
        .filter(|e| matches!(e.phase, Phase::Intent | Phase::Result))
        .collect();
    assert_eq!(lines.len(), 2, "{entries:#?}");
    for e in &lines {
        assert_eq!(e.action.to_string(), "set");
        let reason = e.reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("overrode the guardrails with --yes to set green 50 → 90 %")
                && reason.contains("BREACHING a guardrail: errors "),
            "{reason:?}"
        );
        assert!(e.candidate.error_rate.is_some_and(|r| r > 0.01), "{e:?}");
    }
    let o = cutover(&cfg, &["journal"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let timeline = stdout(&o);
    assert!(
        timeline.contains("set green 50 % → 90 %")
            && timeline.contains("— ")
            && timeline.contains("overrode the guardrails with --yes"),
        "{timeline}"
    );

    // The second sample costs one poll interval, never much more.
    eprintln!(
        "timings (poll-interval 1s): status --json without traffic {quiet_took:?}, with traffic {status_took:?}; set 90 refused {refused_took:?}; set 90 --yes {set_took:?}"
    );
    for took in [quiet_took, status_took, refused_took, set_took] {
        assert!(
            (Duration::from_secs(1)..Duration::from_secs(5)).contains(&took),
            "{took:?}"
        );
    }
}

/// The incident of a trial: 20 requests a second, green failing one in twenty. A second of
/// counters holds ten of green's requests and often no error: "0.00 % OK" on that let
/// `set 90` through. Too few requests to tell is WAITING, never OK; a write samples on (up
/// to the 30 s the cockpit judges over) until the counters tell. Then a healthy candidate
/// on fewer requests than show it healthy: status says WAITING; a write samples until they
/// do, and goes ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_of_counters_is_no_verdict_the_write_samples_until_they_tell() {
    if !require("haproxy") {
        return;
    }
    let blue = env_server("blue", None).await;
    let failing = env_server("green", Some(20)).await;
    let dir = tempfile::tempdir().unwrap();
    let (_haproxy, haproxy, front, cfg) = start(dir.path(), &blue, &failing);
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(drive_every(
        format!("127.0.0.1:{front}"),
        stop.clone(),
        Duration::from_secs(120),
        Duration::from_millis(50),
    ));
    wait_until(30, "traffic reaching green", || green_served(&haproxy, 20));
    for _ in 0..5 {
        let (o, took) = timed(&cfg, &["set", "90"]);
        let said = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{said}");
        assert!(
            said.contains("needs --yes: the candidate is BREACHING a guardrail: errors ")
                || said.contains("NOTHING HAS JUDGED"),
            "{said}"
        );
        assert!(
            took < Duration::from_secs(40),
            "bounded by the window: {took:?}"
        );
        assert_eq!(
            haproxy.read().await.unwrap(),
            Weights::new(50, 50),
            "refused means untouched"
        );
    }
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();

    let healthy = env_server("green", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_haproxy, haproxy, front, cfg) = start(dir.path(), &blue, &healthy);
    // A lease shorter than the sampling: the write renews it while it samples (a trial saw
    // "the driver lease lapsed" after 20 s of sampling with the default 15 s).
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("lease-ttl = \"3s\"\n{text}")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(drive(
        format!("127.0.0.1:{front}"),
        stop.clone(),
        Duration::from_secs(120),
    ));
    wait_until(30, "traffic reaching green", || green_served(&haproxy, 50));
    let o = cutover(&cfg, &["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rule = s["guardrails"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "error-rate")
        .cloned()
        .unwrap();
    assert_eq!(
        rule["check"], "waiting",
        "one second is too few to show OK: {s:#}"
    );
    assert_eq!(s["guardrails"]["status"], "waiting", "{s:#}");
    let (o, took) = timed(&cfg, &["set", "60"]);
    stop.store(true, Ordering::SeqCst);
    let said = stderr(&o);
    assert!(o.status.success(), "{said}");
    assert!(
        said.contains("sampling its counters for up to 30.0 s"),
        "{said}"
    );
    assert!(
        said.contains("cannot be told yet (error-rate 0.00 % on ")
            && said.contains(" needed to tell)"),
        "{said}"
    );
    assert_eq!(haproxy.read().await.unwrap(), Weights::new(40, 60));
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(30)).contains(&took),
        "{took:?}"
    );
    eprintln!("set 60 on a healthy candidate sampled for {took:?}");
    load.await.unwrap();
}

/// A TCP relay in front of HAProxy's admin socket that keeps each connection's commands,
/// in the order the connections were accepted.
async fn counting_relay(admin: String) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let kept = seen.clone();
    tokio::spawn(async move {
        // Bounded: a rollback makes a handful of connections.
        for _ in 0..64 {
            let Ok((mut client, _)) = l.accept().await else {
                return;
            };
            let slot = {
                let mut v = kept.lock().unwrap();
                v.push(String::new());
                v.len() - 1
            };
            let (kept, admin) = (kept.clone(), admin.clone());
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(&admin).await.unwrap();
                // HAProxy's admin socket: the client sends its commands, HAProxy answers
                // and closes.
                let mut buf = vec![0u8; 4096];
                let n = client.read(&mut buf).await.unwrap_or(0);
                kept.lock().unwrap()[slot] = String::from_utf8_lossy(&buf[..n]).trim().to_string();
                server.write_all(&buf[..n]).await.unwrap();
                let mut answer = Vec::new();
                let _ = server.read_to_end(&mut answer).await;
                let _ = client.write_all(&answer).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_makes_three_socket_connections_and_polls_no_signal() {
    if !require("haproxy") {
        return;
    }
    let blue = env_server("blue", None).await;
    let green = env_server("green", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (_haproxy, haproxy, _front, cfg) = start(dir.path(), &blue, &green);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let admin = text
        .lines()
        .find_map(|l| l.strip_prefix("socket = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let (relay, seen) = counting_relay(admin.clone()).await;
    std::fs::write(&cfg, text.replace(&admin, &relay)).unwrap();
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    seen.lock().unwrap().clear();

    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(haproxy.read().await.unwrap(), Weights::new(100, 0));
    let conns = seen.lock().unwrap().clone();
    // Before the write, the weights and the store's place at once; then the write and its
    // read-back in one exchange; the record reuses the place found a moment before.
    assert_eq!(conns.len(), 3, "{conns:#?}");
    let writes: Vec<&String> = conns.iter().filter(|c| c.contains("set weight")).collect();
    assert_eq!(writes.len(), 1, "{conns:#?}");
    assert!(
        writes[0].contains("get weight app/blue") && writes[0].contains("get weight app/green"),
        "the write is read back in the same exchange: {conns:#?}"
    );
    assert_eq!(
        conns.last(),
        Some(writes[0]),
        "nothing after the write: {conns:#?}"
    );
    assert!(
        !conns.iter().any(|c| c.contains("show stat")),
        "a rollback polls no signal: {conns:#?}"
    );
}
