//! HAProxy and nginx backends against the real servers on loopback, fronting two envs of a
//! `cutover sim serve`: shares driven through the same engine as the TUI, then real requests
//! sent through the balancer and counted by the env that answered.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::app::engine::{self, WriteResult};
use cutover::app::journal::{Journal, Phase, Who};
use cutover::backends::haproxy::{HaproxyBackend, HaproxySettings, HaproxyStats, Socket};
use cutover::backends::nginx::{NginxBackend, NginxSettings};
use cutover::backends::{Backend, Switch};
use cutover::core::{EnvPair, Weights};
use cutover::signals::SignalSource;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // HAProxy's lease and record files, named by its pid (nothing else matches).
        remove_haproxy_store(self.0.id());
    }
}

/// nginx in the foreground, stopped with its own `-s stop` so that its workers go with it
/// (killing the master alone leaves them behind), then killed only if it outlives that.
struct Nginx {
    child: Child,
    base: Vec<String>,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("nginx")
            .args(&self.base)
            .args(["-s", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for _ in 0..100 {
            if self.child.try_wait().is_ok_and(|s| s.is_some()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A worker the master was starting as it stopped can outlive it: the whole process
        // group this nginx was started in goes (nothing else is in it).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

/// HAProxy in the foreground on `cfg`, written to `dir`.
fn haproxy(dir: &std::path::Path, cfg: &str) -> Proc {
    std::fs::write(dir.join("haproxy.cfg"), cfg).unwrap();
    Proc(
        Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn wait_port(port: u16) {
    wait_until(30, &format!("port {port}"), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// Sends `n` requests through `front`, each on a new connection, and counts who answered.
async fn split(front: &str, n: usize) -> (usize, usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (mut blue, mut green) = (0, 0);
    for _ in 0..n {
        let r = http
            .get(format!("http://{front}/?sleep=0"))
            .send()
            .await
            .expect("the balancer answers");
        match r
            .headers()
            .get("x-cutover-env")
            .and_then(|v| v.to_str().ok())
        {
            Some("blue") => blue += 1,
            Some("green") => green += 1,
            other => panic!("answer from {other:?}"),
        }
    }
    (blue, green)
}

/// Sends batches of `n` until the green share is within `tol` points of `share`; a reload
/// takes effect asynchronously. Returns the batch that matched.
async fn split_settles(front: &str, n: usize, share: u8, tol: f64) -> (usize, usize) {
    let mut last = (0, 0);
    for _ in 0..10 {
        last = split(front, n).await;
        let got = last.1 as f64 * 100.0 / n as f64;
        if (got - f64::from(share)).abs() <= tol {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("green never got {share} % ± {tol}: last batch {last:?}");
}

async fn apply(b: &dyn Switch, j: &Journal, id: u64, share: u8) -> WriteResult {
    engine::apply(b, j, &Who::current(), &order(id, share))
        .await
        .result
}

fn haproxy_settings(admin: u16, servers: (&str, &str), backend: &str) -> HaproxySettings {
    HaproxySettings {
        socket: Socket::Tcp(format!("127.0.0.1:{admin}")),
        backend: backend.into(),
        servers: EnvPair::new(servers.0.into(), servers.1.into()),
        scale: 100,
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn haproxy_steps_split_real_traffic_and_rolls_back() {
    if !require("haproxy") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-load", "--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let (front, admin, user) = (closed_port(), closed_port(), closed_port());
    let cfg = format!(
        "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\n  stats socket ipv4@127.0.0.1:{user} level user\n\
defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
frontend fe\n  bind 127.0.0.1:{front}\n  default_backend app\n\
backend app\n  balance roundrobin\n  option httpchk GET /health\n  server blue {} weight 100 check inter 500ms\n  server green {} weight 0 check inter 500ms\n",
        sim.blue, sim.green
    );
    let _haproxy = haproxy(dir.path(), &cfg);
    wait_port(front);
    wait_port(admin);
    let front = format!("127.0.0.1:{front}");
    let backend = HaproxyBackend::new(haproxy_settings(admin, ("blue", "green"), "app"));
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    assert_eq!(backend.read().await.unwrap(), Weights::new(100, 0));

    for (i, share) in [0u8, 10, 50, 100, 0].into_iter().enumerate() {
        let r = apply(&backend, &journal, i as u64, share).await;
        assert!(matches!(r, WriteResult::Verified { .. }), "{share}: {r:?}");
        let (blue, green) = split(&front, 200).await;
        let got = green as f64 / 2.0;
        assert!(
            (got - f64::from(share)).abs() <= 3.0,
            "share {share}: {blue} blue / {green} green"
        );
        if share == 0 {
            assert_eq!(
                green, 0,
                "after rollback no new request reaches the candidate"
            );
        }
    }

    // Stats as a signal source: requests and health from `show stat`.
    apply(&backend, &journal, 10, 50).await;
    let stats = HaproxyStats::new(backend.clone(), Duration::from_secs(30));
    stats.poll().await.unwrap();
    split(&front, 100).await;
    let p = stats.poll().await.unwrap();
    let n = p.green.requests.clone().and_then(|r| r.value()).unwrap();
    assert!((45.0..=55.0).contains(&n), "green served ~50 of 100: {n}");
    assert!(p.green.error_rate.clone().and_then(|r| r.value()).is_some());
    assert!(
        p.green.p99_ms.as_ref().is_some_and(|r| r.value().is_none()),
        "HAProxy has no p99; never 0"
    );
    wait_until(20, "health checks to report UP", || {
        let stats = HaproxyStats::new(backend.clone(), Duration::from_secs(30));
        let p = futures::executor::block_on(stats.poll()).unwrap();
        p.blue
            .health
            .is_some_and(|h| h.health == cutover::core::Health::Up)
    });

    // Behind cutover's back: the next read sees it.
    let other = HaproxyBackend::new(haproxy_settings(admin, ("blue", "green"), "app"));
    other.command("set weight app/green 30").await.unwrap();
    assert_eq!(backend.read().await.unwrap(), Weights::new(50, 30));
    // …and so does the command line, through the config, on its next read.
    let cfg = d_config(
        dir.path(),
        &format!(
            "live = \"blue\"\n[backend]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:{admin}\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n"
        ),
    );
    let st = status(&cfg);
    assert_eq!(
        (st["share"].as_u64(), st["weights"]["green"].as_u64()),
        (Some(38), Some(30)),
        "{st:#}"
    );
    assert!(
        st["envs"]["green"]["requests"].is_number()
            || st["envs"]["green"]["notes"]["rps"].is_string(),
        "{st:#}"
    );
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(backend.read().await.unwrap(), Weights::new(100, 0));
    other.command("set weight app/green 30").await.unwrap();

    // Clear errors.
    let bad = HaproxyBackend::new(haproxy_settings(admin, ("blue", "green"), "shop"));
    let e = bad.read().await.unwrap_err().to_string();
    assert!(
        e.contains("No such backend") && e.contains("backend = \"shop\""),
        "{e}"
    );
    let bad = HaproxyBackend::new(haproxy_settings(admin, ("blue", "verde"), "app"));
    let e = bad.read().await.unwrap_err().to_string();
    assert!(
        e.contains("No such server") && e.contains("green-server = \"verde\""),
        "{e}"
    );
    let e = bad
        .write(Weights::new(100, 0))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("No such server"), "{e}");
    let weak = HaproxyBackend::new(haproxy_settings(user, ("blue", "green"), "app"));
    let e = weak
        .write(Weights::new(100, 0))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Permission denied") && e.contains("level admin"),
        "{e}"
    );
    assert_eq!(
        backend.read().await.unwrap(),
        Weights::new(100, 30),
        "refused writes change nothing"
    );
    let gone = HaproxyBackend::new(haproxy_settings(closed_port(), ("blue", "green"), "app"));
    let e = gone.read().await.unwrap_err().to_string();
    assert!(e.contains("cannot reach") && e.contains("refused"), "{e}");
}

/// A cutover.toml with `text` and a journal in `dir`.
fn d_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("cutover.toml");
    std::fs::write(
        &path,
        format!("journal = \"{}\"\n{text}", dir.join("cli.jsonl").display()),
    )
    .unwrap();
    path
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_edits_validates_reloads_and_restores_a_broken_config() {
    if !require("nginx") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-load", "--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let front = closed_port();
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    let p = |name: &str| d.join(name).display().to_string();
    let conf = format!(
        "{user}worker_processes 1;\npid {pid};\nerror_log {err};\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {t1};\n  proxy_temp_path {t2};\n  fastcgi_temp_path {t3};\n  uwsgi_temp_path {t4};\n  scgi_temp_path {t5};\n  include {up};\n  include {extra};\n  server {{\n    listen 127.0.0.1:{front};\n    location / {{ proxy_pass http://app; }}\n  }}\n}}\n",
        pid = p("nginx.pid"),
        err = p("error.log"),
        t1 = p("t1"),
        t2 = p("t2"),
        t3 = p("t3"),
        t4 = p("t4"),
        t5 = p("t5"),
        up = p("upstream.conf"),
        extra = p("extra.conf"),
    );
    std::fs::write(d.join("nginx.conf"), conf).unwrap();
    std::fs::write(
        d.join("upstream.conf"),
        format!("# cutover edits the weights below\nupstream app {{\n    server {} weight=100 max_fails=3;\n    server {} down;\n}}\n", sim.blue, sim.green),
    )
    .unwrap();
    std::fs::write(d.join("extra.conf"), "# nothing\n").unwrap();
    let base = vec![
        "-c".to_string(),
        p("nginx.conf"),
        "-p".into(),
        p(""),
        "-e".into(),
        p("error.log"),
    ];
    let _nginx = Nginx {
        child: Command::new("nginx")
            .args(&base)
            .args(["-g", "daemon off;"])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        base: base.clone(),
    };
    wait_port(front);
    let front = format!("127.0.0.1:{front}");
    let mut test_command = vec!["nginx".to_string(), "-t".into(), "-q".into()];
    test_command.extend(base.clone());
    let mut reload_command = vec!["nginx".to_string(), "-s".into(), "reload".into()];
    reload_command.extend(base.clone());
    let backend = NginxBackend::new(NginxSettings {
        config: d.join("upstream.conf"),
        upstream: "app".into(),
        servers: EnvPair::new(sim.blue.clone(), sim.green.clone()),
        test_command,
        reload_command,
        scale: 100,
        timeout: Duration::from_secs(30),
    });
    let journal = Journal::open(&d.join("j.jsonl")).unwrap();
    assert_eq!(backend.read().await.unwrap(), Weights::new(100, 0));

    for (i, share) in [0u8, 10, 50, 100, 0].into_iter().enumerate() {
        let r = apply(&backend, &journal, i as u64, share).await;
        assert!(matches!(r, WriteResult::Verified { .. }), "{share}: {r:?}");
        let (_, green) = split_settles(&front, 100, share, 3.0).await;
        if share == 0 {
            assert_eq!(green, 0);
            assert_eq!(
                split(&front, 100).await.1,
                0,
                "after rollback no new request reaches the candidate"
            );
        }
    }
    let text = std::fs::read_to_string(d.join("upstream.conf")).unwrap();
    assert!(
        text.contains("# cutover edits the weights below") && text.contains("max_fails=3"),
        "{text}"
    );
    assert!(
        text.contains(&format!("server {} down;", sim.green)),
        "{text}"
    );
    assert!(
        backend.backup_path().exists(),
        "the old file is kept as a backup"
    );

    // Behind cutover's back: a hand edit of the file is read on the next poll.
    std::fs::write(
        d.join("upstream.conf"),
        text.replace(
            &format!("server {} down;", sim.green),
            &format!("server {} weight=25;", sim.green),
        ),
    )
    .unwrap();
    assert_eq!(backend.read().await.unwrap(), Weights::new(100, 25));
    assert!(matches!(
        apply(&backend, &journal, 9, 0).await,
        WriteResult::Verified { .. }
    ));

    // Someone broke another part of the config: validation fails, the file is restored,
    // traffic untouched, and the error says so.
    let before = std::fs::read_to_string(d.join("upstream.conf")).unwrap();
    std::fs::write(d.join("extra.conf"), "this is not nginx;\n").unwrap();
    let r = apply(&backend, &journal, 10, 50).await;
    let WriteResult::Failed { error, after } = r else {
        panic!("{r:?}")
    };
    assert!(
        error.contains("nginx -t")
            && error.contains("restored")
            && error.contains("unknown directive"),
        "{error}"
    );
    assert_eq!(
        after,
        Some(Weights::new(100, 0)),
        "state re-read after the failure"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("upstream.conf")).unwrap(),
        before
    );
    assert_eq!(split(&front, 100).await.1, 0, "traffic untouched");
    let failed = Journal::read_all(&d.join("j.jsonl"))
        .unwrap()
        .into_iter()
        .last()
        .unwrap();
    assert_eq!(failed.phase, Phase::Failed);

    // The cockpit on this nginx, with no error or latency source at all (the README's
    // nginx walkthrough): the first step is a pre-flight override, and every later move
    // asks and says that nothing has judged green; both are journaled.
    if !require("tmux") {
        return;
    }
    std::fs::write(d.join("extra.conf"), "# nothing\n").unwrap();
    let list = |v: &[String]| {
        v.iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut test = vec!["nginx".to_string(), "-t".into(), "-q".into()];
    test.extend(base.clone());
    let mut reload = vec!["nginx".to_string(), "-s".into(), "reload".into()];
    reload.extend(base.clone());
    let cfg = d_config(
        d,
        &format!(
            "live = \"blue\"\n[backend]\nkind = \"nginx\"\nconfig = \"{}\"\nupstream = \"app\"\nblue-server = \"{}\"\ngreen-server = \"{}\"\ntest-command = [{}]\nreload-command = [{}]\n",
            d.join("upstream.conf").display(),
            sim.blue,
            sim.green,
            list(&test),
            list(&reload)
        ),
    );
    let t = Tmux::new("nginx-unjudged");
    t.start(120, 32, &cockpit_cmd(&cfg));
    let s = t.wait(30, "the cockpit on nginx", |s| s.contains("[0]"));
    assert!(
        s.contains("NO DATA — no source for error-rate"),
        "no source is not 'no data yet':\n{s}"
    );
    t.keys(&["Right"]);
    t.wait(20, "the pre-flight names the missing data", |s| {
        s.contains("PRE-FLIGHT failed") && s.contains("no source for error-rate or p99")
    });
    t.keys(&["y"]);
    t.wait(20, "10 % applied", |s| {
        s.contains("[10]") && s.contains("→ 10 % applied")
    });
    t.keys(&["Right"]);
    let s = t.wait(20, "the confirm says nothing judged green", |s| {
        s.contains("NOTHING HAS JUDGED")
    });
    assert!(
        s.contains("no error or latency data for green: nothing has judged it"),
        "{s}"
    );
    t.keys(&["y"]);
    t.wait(20, "50 % applied", |s| {
        s.contains("[50]") && s.contains("→ 50 % applied")
    });
    t.keys(&["r"]);
    t.wait(20, "rolled back", |s| s.contains("ROLLBACK → 0 % applied"));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
    let phases: Vec<Phase> = Journal::read_all(&d.join("cli.jsonl"))
        .unwrap()
        .into_iter()
        .map(|e| e.phase)
        .collect();
    assert!(
        phases.contains(&Phase::PreflightOverride) && phases.contains(&Phase::Override),
        "{phases:?}"
    );
}

#[test]
fn backend_configs_parse_and_refuse_nonsense() {
    use cutover::config::{BackendConfig, Config};
    let h = Config::parse(
        "[backend]\nkind = \"haproxy\"\nsocket = \"/run/haproxy/admin.sock\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n",
        "t",
    )
    .unwrap();
    assert!(
        matches!(h.backend, BackendConfig::Haproxy(ref s) if s.socket == Socket::Unix("/run/haproxy/admin.sock".into()) && s.scale == 100)
    );
    let n = Config::parse(
        "[backend]\nkind = \"nginx\"\nconfig = \"/etc/nginx/conf.d/app.conf\"\nupstream = \"app\"\nblue-server = \"10.0.0.1:80\"\ngreen-server = \"10.0.0.2:80\"\nreload-command = [\"sudo\", \"systemctl\", \"reload\", \"nginx\"]\n",
        "t",
    )
    .unwrap();
    assert!(
        matches!(n.backend, BackendConfig::Nginx(ref s) if s.test_command == ["nginx", "-t"] && s.reload_command[0] == "sudo")
    );
    for (text, want) in [
        (
            "[backend]\nkind = \"haproxy\"\nsocket = \"x\"\nbackend = \"app\"\nblue-server = \"a\"\ngreen-server = \"a\"\n",
            "two different servers",
        ),
        (
            "[backend]\nkind = \"haproxy\"\nsocket = \"x\"\nbackend = \"app\"\nblue-server = \"a\"\ngreen-server = \"b\"\nweight-scale = 1000\n",
            "backend.weight-scale",
        ),
        (
            "[backend]\nkind = \"nginx\"\nconfig = \"x\"\nupstream = \"app\"\nblue-server = \"a\"\ngreen-server = \"b\"\ntest-command = []\n",
            "backend.test-command",
        ),
        (
            "[backend]\nkind = \"nginx\"\nconfig = \"x\"\nupstream = \"app\"\nblue-server = \"a\"\n",
            "missing field `green-server`",
        ),
    ] {
        let e = Config::parse(text, "t").unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
}

/// The cockpit driven by keys against HAProxy, with the simulator's load sent through it:
/// digits with confirm, pause refusing forward steps, rollback, the journal.
#[test]
fn cockpit_keys_work_against_haproxy() {
    if !require("haproxy") || !require("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (front, admin) = (closed_port(), closed_port());
    let sim = SimServe::start(
        "happy",
        &[
            "--no-sleep",
            "--load-through",
            &format!("http://127.0.0.1:{front}/"),
        ],
    );
    let cfg_text = format!(
        "global\n  stats socket ipv4@127.0.0.1:{admin} level admin\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\nfrontend fe\n  bind 127.0.0.1:{front}\n  default_backend app\nbackend app\n  balance roundrobin\n  server blue {} weight 100\n  server green {} weight 0\n",
        sim.blue, sim.green
    );
    let _haproxy = haproxy(dir.path(), &cfg_text);
    wait_port(admin);
    let cfg = d_config(
        dir.path(),
        &format!(
            "poll-interval = \"500ms\"\n[backend]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:{admin}\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n"
        ),
    );
    let t = Tmux::new("haproxy");
    t.start(120, 32, &cockpit_cmd(&cfg));
    let s = t.wait(30, "the cockpit on HAProxy", |s| {
        s.contains("haproxy 127.0.0.1") && s.contains("[0]")
    });
    assert!(s.contains("CANDIDATE"), "{s}");
    // A digit asks to confirm.
    t.keys(&["3"]);
    t.wait(10, "the confirm", |s| {
        s.contains("confirm") && s.contains("30 %?")
    });
    t.keys(&["y"]);
    t.wait(20, "30 % applied", |s| {
        s.contains("[30]") && s.contains("→ 30 % applied")
    });
    t.keys(&["p"]);
    t.wait(10, "paused", |s| s.contains("‖ PAUSED"));
    t.keys(&["Right"]);
    t.wait(10, "the refusal", |s| {
        s.contains("paused: resume (p) before stepping forward")
    });
    t.keys(&["r"]);
    t.wait(20, "rollback applied", |s| {
        s.contains("[0]") && s.contains("ROLLBACK → 0 % applied")
    });
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
    let entries = Journal::read_all(&dir.path().join("cli.jsonl")).unwrap();
    let results: Vec<(String, Option<u8>)> = entries
        .iter()
        .filter(|e| e.phase == Phase::Result)
        .map(|e| (e.action.to_string(), e.share_after))
        .collect();
    assert_eq!(
        results,
        vec![
            ("set".to_string(), Some(30)),
            ("rollback".to_string(), Some(0))
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.backend.starts_with("haproxy 127.0.0.1"))
    );
}
