//! Rollback you can bet on: the cutover record at the backend decides where a rollback
//! sends the traffic (never a journal, never a split's majority), nothing gates a rollback,
//! forward writes fail closed (lease, journal, record), and unknown outcomes are said as
//! unknown. Against a real `cutover sim serve`, real HAProxy and nginx on loopback.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::app::engine::{self, WriteResult};
use cutover::app::journal::{Journal, Phase, Who};
use cutover::app::lease::{self, Me, Standing};
use cutover::backends::haproxy::{HaproxyBackend, HaproxySettings, Socket};
use cutover::backends::{Backend, Slot, Switch};
use cutover::core::{Env, EnvPair, Record, Weights};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Sets the simulator's weights behind cutover's back (as another tool would).
fn set_weights(sim: &SimServe, blue: u32, green: u32) {
    let (st, body) = http(
        &sim.control,
        "PUT",
        "/control/weights",
        &format!("{{\"blue\":{blue},\"green\":{green}}}"),
    );
    assert!(st.contains("200"), "{st} {body}");
}

fn weights(cfg: &std::path::Path) -> (u64, u64) {
    let s = status(cfg);
    (
        s["weights"]["blue"].as_u64().unwrap(),
        s["weights"]["green"].as_u64().unwrap(),
    )
}

/// A second operator: own folder, own journal, the same backend, no `live` in its config.
fn operator(sim: &SimServe) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    (dir, cfg)
}

#[test]
fn two_operators_with_their_own_journals_agree_on_the_rollback_target() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (_a, alice) = operator(&sim);
    let (bdir, bob) = operator(&sim);
    for share in ["10", "50", "80"] {
        let o = cutover(&alice, &["set", share, "--yes"]);
        assert!(o.status.success(), "{share}: {}", stderr(&o));
    }
    assert_eq!(weights(&alice), (20, 80));
    // Bob's journal knows nothing: the record at the backend tells him blue is live.
    let s = status(&bob);
    assert_eq!(s["live"], "blue", "{s}");
    assert_eq!(s["live_from"], "record");
    assert_eq!(s["share"], 80);
    assert!(
        s["record"]["started_by"]
            .as_str()
            .unwrap()
            .contains(&Who::current().user[..Who::current().user.len().min(20)]),
        "{s}"
    );
    // His `set 40` is green 40, not "blue 40" from a majority guess.
    let o = cutover(&bob, &["set", "40", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(weights(&bob), (60, 40));
    // And his rollback sends everything to blue, said before it writes.
    let o = cutover(&bob, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "rolling back: all traffic to blue (rollback target per the cutover record at the backend)"
        ),
        "{out}"
    );
    assert_eq!(weights(&bob), (100, 0));
    let e = Journal::read_all(&bdir.path().join("journal.jsonl")).unwrap();
    let last = e.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.phase.as_str(), last.live),
        ("rollback", "result", Env::Blue)
    );
    // A rollback at 0 does not pretend: nothing to roll back, and how to go the other way.
    let o = cutover(&bob, &["rollback"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("nothing to roll back: blue already holds all the traffic"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_split_with_no_record_is_never_guessed() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (_d, cfg) = operator(&sim);
    for (b, g) in [(20, 80), (80, 20), (50, 50)] {
        set_weights(&sim, b, g);
        let s = status(&cfg);
        assert!(s["live"].is_null(), "{b}/{g}: {s}");
        assert!(s["share"].is_null(), "{b}/{g}: {s}");
        let o = cutover(&cfg, &["rollback"]);
        assert_eq!(o.status.code(), Some(2), "{b}/{g}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("traffic is split") && err.contains("--to blue or --to green"),
            "{err}"
        );
        assert_eq!(
            weights(&cfg),
            (u64::from(b), u64::from(g)),
            "refused means untouched"
        );
        // Forward writes cannot guess either.
        let o = cutover(&cfg, &["set", "60", "--yes"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("live env unknown"), "{}", stderr(&o));
    }
    let o = cutover(&cfg, &["rollback", "--to", "green"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("all traffic to green (rollback target per --to)"));
    assert_eq!(weights(&cfg), (0, 100));
    let s = status(&cfg);
    assert_eq!(
        (s["live"].as_str(), s["live_from"].as_str()),
        (Some("green"), Some("record"))
    );
    // An unreachable backend is said as such, never as "splits evenly".
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone.toml");
    std::fs::write(
        &gone,
        format!(
            "name = \"x\"\njournal = \"{}\"\npoll-timeout = \"1s\"\n[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:{}\"\n",
            dir.path().join("j.jsonl").display(),
            closed_port()
        ),
    )
    .unwrap();
    let o = cutover(&gone, &["rollback"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the backend's traffic state could not be read"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("evenly"));
}

#[test]
fn rollback_is_never_gated_by_anothers_lease_and_names_both() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (dir, cfg) = operator(&sim);
    let o = cutover(&cfg, &["set", "30", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Bob drives from another machine, his lease good for an hour.
    let now = lease::wall_ms();
    let bob = format!("bob@elsewhere {now} {} tok123", now + 3_600_000);
    let (st, body) = http(
        &sim.control,
        "PUT",
        "/control/lease",
        &serde_json::json!({"expect": null, "value": bob}).to_string(),
    );
    assert!(st.contains("200") && body.trim() == "true", "{st} {body}");
    // A forward write is refused and names him…
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bob@elsewhere drives"),
        "{}",
        stderr(&o)
    );
    assert_eq!(weights(&cfg), (70, 30));
    // …a rollback is not.
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("bob@elsewhere drives this cutover"),
        "{}",
        stdout(&o)
    );
    assert_eq!(weights(&cfg), (100, 0));
    let e = Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    let last = e.last().unwrap();
    assert_eq!(last.driver.as_deref(), Some("bob@elsewhere"));
    assert_eq!(last.who.user, Who::current().user);
    // The record names who rolled back, for the driver's cockpit to say so.
    let (_, body) = http(&sim.control, "GET", "/control/record", "");
    let text: Option<String> = serde_json::from_str(&body).unwrap();
    let r = Record::decode(&text.unwrap()).unwrap();
    let l = r.last.unwrap();
    assert_eq!(l.action, "rollback");
    assert!(
        Who::current()
            .user
            .starts_with(&l.who[..l.who.len().min(10)])
    );
    // Bob's lease is untouched.
    let (_, body) = http(&sim.control, "GET", "/control/lease", "");
    assert!(body.contains("bob@elsewhere"), "{body}");
}

/// An nginx backend whose test and reload commands are given: the weights live in the file.
fn nginx_cfg(dir: &std::path::Path, reload: &str, blue: u32, green: u32) -> std::path::PathBuf {
    let up = dir.join("upstream.conf");
    let server = |addr: &str, w: u32| {
        if w == 0 {
            format!("server {addr} down;")
        } else {
            format!("server {addr} weight={w};")
        }
    };
    std::fs::write(
        &up,
        format!(
            "upstream app {{\n    {}\n    {}\n}}\n",
            server("127.0.0.1:8081", blue),
            server("127.0.0.1:8082", green)
        ),
    )
    .unwrap();
    let cfg = dir.join("cutover.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"shop\"\njournal = \"{j}\"\npoll-timeout = \"3s\"\n[backend]\nkind = \"nginx\"\nconfig = \"{up}\"\nupstream = \"app\"\nblue-server = \"127.0.0.1:8081\"\ngreen-server = \"127.0.0.1:8082\"\ntest-command = [\"true\"]\nreload-command = {reload}\ntimeout = \"1s\"\n",
            j = dir.join("j.jsonl").display(),
            up = up.display(),
        ),
    )
    .unwrap();
    cfg
}

fn file_weights(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("upstream.conf")).unwrap()
}

#[test]
fn a_lease_store_that_cannot_be_written_refuses_forward_writes_not_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 100, 0);
    let o = cutover(&cfg, &["set", "20", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The lease file becomes something no one can write: a folder.
    let _ = std::fs::remove_file(d.join("upstream.conf.cutover-lease"));
    std::fs::create_dir(d.join("upstream.conf.cutover-lease")).unwrap();
    let before = file_weights(d);
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not writing: the driver lease could not be taken"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("`cutover rollback` still works"));
    assert_eq!(file_weights(d), before, "traffic untouched");
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(file_weights(d).contains("server 127.0.0.1:8082 down;"));
}

#[test]
fn a_full_journal_refuses_forward_writes_and_a_rollback_says_it_was_not_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 50, 50);
    std::fs::write(
        d.join("upstream.conf.cutover-record"),
        format!("v1 live=blue by=a@h at={} pos=50\n", lease::wall_ms()),
    )
    .unwrap();
    let before = file_weights(d);
    // /dev/full: every write fails with ENOSPC, as on a full disk.
    let full = |args: &[&str]| {
        Command::new(bin())
            .args(["--config"])
            .arg(&cfg)
            .args(["--journal", "/dev/full"])
            .args(args)
            .output()
            .unwrap()
    };
    let o = full(&["set", "60", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the intent could not be journaled") && err.contains("No space left"),
        "{err}"
    );
    assert!(err.contains("traffic untouched"), "{err}");
    assert_eq!(file_weights(d), before);
    let o = full(&["rollback"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a rollback not journaled exits non-zero"
    );
    assert!(
        stderr(&o).contains("ROLLBACK NOT JOURNALED"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("verified"),
        "but it went ahead: {}",
        stdout(&o)
    );
    assert!(file_weights(d).contains("server 127.0.0.1:8082 down;"));
}

#[test]
fn an_nginx_reload_that_applies_then_hangs_is_unknown_until_a_reload_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The reload "applies" (touches a file) and then hangs while the flag is there.
    let flag = d.join("hang");
    let applied = d.join("applied");
    let reload = format!(
        "[\"sh\", \"-c\", \"touch {}; if [ -e {} ]; then exec sleep 20; fi\"]",
        applied.display(),
        flag.display()
    );
    let cfg = nginx_cfg(d, &reload, 100, 0);
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&flag, "").unwrap();
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("outcome UNKNOWN"), "{err}");
    assert!(applied.exists(), "the reload ran");
    // The file was restored, but nginx may serve either: UNKNOWN, never the file's 10 %.
    assert!(file_weights(d).contains("weight=10"), "{}", file_weights(d));
    let s = status(&cfg);
    assert!(s["weights"].is_null(), "{s}");
    assert!(
        s["errors"]["backend"]
            .as_str()
            .unwrap()
            .contains("was not seen to succeed"),
        "{s}"
    );
    let e = Journal::read_all(&d.join("j.jsonl")).unwrap();
    assert_eq!(e.last().unwrap().phase, Phase::Unknown);
    // The next reload that succeeds makes it known again: a rollback, to the record's live.
    std::fs::remove_file(&flag).unwrap();
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("all traffic to blue"), "{}", stdout(&o));
    assert_eq!(status(&cfg)["weights"]["green"], 0);
}

/// HAProxy with an admin unix socket, an admin TCP socket and a `level user` TCP socket.
struct Haproxy {
    child: Child,
    dir: tempfile::TempDir,
    admin: u16,
    user: u16,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_haproxy_store(self.child.id());
    }
}

fn haproxy() -> Option<Haproxy> {
    if !require("haproxy") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (admin, user) = (closed_port(), closed_port());
    let cfg = format!(
        "global\n  stats socket {sock} level admin\n  stats socket ipv4@127.0.0.1:{admin} level admin\n  stats socket ipv4@127.0.0.1:{user} level user\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nbackend app\n  server blue 127.0.0.1:1 weight 100\n  server green 127.0.0.1:2 weight 0\n",
        sock = dir.path().join("admin.sock").display()
    );
    std::fs::write(dir.path().join("haproxy.cfg"), cfg).unwrap();
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(dir.path().join("haproxy.cfg"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(30, "haproxy's admin socket", || {
        std::net::TcpStream::connect(("127.0.0.1", admin)).is_ok()
    });
    Some(Haproxy {
        child,
        dir,
        admin,
        user,
    })
}

fn hap(socket: Socket, timeout: Duration) -> HaproxyBackend {
    HaproxyBackend::new(HaproxySettings {
        socket,
        backend: "app".into(),
        servers: EnvPair::new("blue".into(), "green".into()),
        scale: 100,
        timeout,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sockets_of_one_haproxy_share_one_lease_and_one_record() {
    let Some(h) = haproxy() else { return };
    let unix = hap(
        Socket::Unix(h.dir.path().join("admin.sock")),
        Duration::from_secs(5),
    );
    let tcp = hap(
        Socket::Tcp(format!("localhost:{}", h.admin)),
        Duration::from_secs(5),
    );
    let tcp2 = hap(
        Socket::Tcp(format!("127.0.0.1:{}", h.admin)),
        Duration::from_secs(5),
    );
    let alice = Me::new("alice@h1", 60_000);
    let bob = Me::new("bob@h2", 60_000);
    let now = lease::wall_ms();
    assert!(matches!(
        lease::acquire(&unix, &alice, now).await.unwrap(),
        Standing::Mine(_)
    ));
    for other in [&tcp, &tcp2] {
        let s = lease::acquire(other, &bob, now).await.unwrap();
        assert!(
            matches!(&s, Standing::Theirs(l) if l.holder == "alice@h1"),
            "{s:?}"
        );
    }
    assert_eq!(unix.lease_place(), tcp.lease_place());
    // The record too: written through one socket, read through the other.
    let rec = Record::new(Env::Blue, "alice@h1", now);
    assert!(
        unix.swap(Slot::Record, None, Some(&rec.encode()))
            .await
            .unwrap()
    );
    assert_eq!(tcp.record().await.unwrap(), Some(rec));
    assert!(lease::release(&unix, &alice).await.unwrap());
}

/// A TCP proxy to `upstream` that holds back every `set weight` command for `delay`, then
/// passes it on: a write that lands after cutover stopped waiting. Handles `max` connections.
fn delaying_proxy(upstream: u16, delay: Duration, max: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(max) {
            let Ok(mut c) = conn else { break };
            std::thread::spawn(move || {
                let mut cmd = Vec::new();
                let mut b = [0u8; 1];
                while c.read(&mut b).is_ok_and(|n| n == 1) {
                    cmd.push(b[0]);
                    if b[0] == b'\n' {
                        break;
                    }
                }
                if cmd.starts_with(b"set weight") {
                    std::thread::sleep(delay);
                }
                let Ok(mut up) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let _ = up.write_all(&cmd);
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                let _ = c.write_all(&answer);
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_times_out_is_unknown_then_seen_landing() {
    let Some(h) = haproxy() else { return };
    let direct = hap(
        Socket::Tcp(format!("127.0.0.1:{}", h.admin)),
        Duration::from_secs(5),
    );
    let port = delaying_proxy(h.admin, Duration::from_millis(2500), 50);
    let slow = hap(
        Socket::Tcp(format!("127.0.0.1:{port}")),
        Duration::from_millis(700),
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let r = engine::apply(&slow, &journal, &Who::current(), &order(1, 50))
        .await
        .result;
    let WriteResult::Unknown { error, after } = r else {
        panic!("{r:?}")
    };
    assert!(error.contains("did not answer within 0.7 s"), "{error}");
    assert_eq!(after, Some(Weights::new(100, 0)), "not landed yet");
    let e = Journal::read_all(journal.path()).unwrap();
    assert_eq!(e.last().unwrap().phase, Phase::Unknown, "not `failed`");
    // The record keeps the write in flight: every cockpit says so.
    let rec = direct.record().await.unwrap().unwrap();
    assert_eq!(rec.flight.map(|f| f.share), Some(50));
    // It lands after all.
    let mut landed = false;
    for _ in 0..50 {
        if direct.read().await.unwrap() == Weights::new(50, 50) {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(landed, "the delayed write landed");
}

#[test]
fn check_proves_the_write_side() {
    let Some(h) = haproxy() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg_for = |port: u16| {
        let p = dir.path().join(format!("h{port}.toml"));
        std::fs::write(
            &p,
            format!(
                "name = \"shop\"\njournal = \"{}\"\n[backend]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:{port}\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n",
                dir.path().join("j.jsonl").display()
            ),
        )
        .unwrap();
        p
    };
    let o = cutover(&cfg_for(h.admin), &["check"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✓ write side: socket level admin"),
        "{}",
        stdout(&o)
    );
    let o = cutover(&cfg_for(h.user), &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✕ write side: the stats socket")
            && stdout(&o).contains("level `user`")
            && stdout(&o).contains("needs `level admin`"),
        "{}",
        stdout(&o)
    );

    // nginx: a config file this user cannot write.
    let nd = tempfile::tempdir().unwrap();
    let cfg = nginx_cfg(nd.path(), "[\"true\"]", 100, 0);
    let o = cutover(&cfg, &["check"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("✓ write side:"), "{}", stdout(&o));
    // Root may write anything: the check then runs as `nobody`, as an operator would.
    let as_root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(nd.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["cutover.toml", "upstream.conf"] {
        std::fs::set_permissions(nd.path().join(f), std::fs::Permissions::from_mode(0o444))
            .unwrap();
    }
    let o = if as_root {
        if !require("runuser") {
            return;
        }
        // The journal in a folder `nobody` may write: only the nginx file is refused.
        let jdir = nd.path().join("journal");
        std::fs::create_dir(&jdir).unwrap();
        std::fs::set_permissions(&jdir, std::fs::Permissions::from_mode(0o777)).unwrap();
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("--journal")
            .arg(jdir.join("j.jsonl"))
            .arg("check")
            .output()
            .unwrap()
    } else {
        cutover(&cfg, &["check"])
    };
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✕ write side: config")
            && stdout(&o).contains("is not writable")
            && stdout(&o).contains("(`config`)"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn a_lease_ttl_out_of_bounds_is_refused_with_its_key() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    for ttl in ["500000000years", "2h", "1s"] {
        let cfg = sim.config(dir.path(), &format!("lease-ttl = \"{ttl}\"\n"));
        let o = cutover(&cfg, &["set", "10", "--yes"]);
        assert_eq!(o.status.code(), Some(2), "{ttl}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("key `lease-ttl`") && stderr(&o).contains("to \"1h\""),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(weights(&sim.config(dir.path(), "")), (100, 0));
}

#[test]
fn a_record_anyone_could_have_written_never_directs_a_rollback() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 70, 30);
    // Someone without access to the config plants a record naming green as live.
    let rec = d.join("upstream.conf.cutover-record");
    std::fs::write(
        &rec,
        format!(
            "v1 live=green by=mallory@h at={} pos=70\n",
            lease::wall_ms()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = cutover(&cfg, &["rollback"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("not trusted: anyone may write it"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("--to blue or --to green"),
        "{}",
        stderr(&o)
    );
    assert!(file_weights(d).contains("weight=70"), "untouched");
    // Forward writes fail closed on it too.
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(file_weights(d).contains("weight=70"), "untouched");
    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("✕ cutover record"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_write_under_a_lease_lost_since_its_last_renewal_is_refused() {
    use cutover::backends::SimBackend;
    use cutover::sim::{Scenario, SimHandle, Simulator};
    let b = SimBackend::Local(SimHandle::new(Simulator::new(
        Scenario::load("happy").unwrap(),
        None,
    )));
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let alice = Me::new("alice@h1", 60_000);
    let Standing::Mine(mine) = lease::acquire(&b, &alice, lease::wall_ms()).await.unwrap() else {
        panic!("alice drives")
    };
    // Her lease is taken (removed by hand and taken by carol) between two renewals.
    assert!(
        b.swap(Slot::Lease, Some(&mine.encode()), None)
            .await
            .unwrap()
    );
    let carol = Me::new("carol@h2", 60_000);
    assert!(matches!(
        lease::acquire(&b, &carol, lease::wall_ms()).await.unwrap(),
        Standing::Mine(_)
    ));
    let mut step = order(1, 10);
    step.lease_token = Some(alice.token.clone());
    let r = engine::apply(&b, &journal, &Who::current(), &step)
        .await
        .result;
    let WriteResult::Refused { reason } = r else {
        panic!("{r:?}")
    };
    assert!(
        reason.contains("no longer ours: carol@h2 holds it"),
        "{reason}"
    );
    assert_eq!(b.read().await.unwrap(), Weights::new(100, 0), "untouched");
    // A rollback needs no lease at all.
    let mut rb = order(2, 0);
    rb.lease_token = Some(alice.token.clone());
    let r = engine::apply(&b, &journal, &Who::current(), &rb)
        .await
        .result;
    assert!(matches!(r, WriteResult::Verified { .. }), "{r:?}");
}

#[test]
fn a_lease_that_is_not_one_refuses_forward_writes_and_says_who_drives_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 100, 0);
    let lease_file = d.join("upstream.conf.cutover-lease");
    let year_5138 = "mallory@otherhost 1795651000000 99999999999999 tok 1";
    for junk in ["total junk", year_5138] {
        std::fs::write(&lease_file, format!("{junk}\n")).unwrap();
        let o = cutover(&cfg, &["set", "10", "--yes"]);
        assert_eq!(o.status.code(), Some(1), "{junk}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("not a driver lease") || err.contains("longer than any cutover writes"),
            "{err}"
        );
        assert!(file_weights(d).contains("down;"), "untouched");
        let o = cutover(&cfg, &["status"]);
        assert!(stdout(&o).contains("driver UNKNOWN"), "{}", stdout(&o));
    }
    std::fs::remove_file(&lease_file).unwrap();
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn two_clis_in_the_same_instant_end_at_what_one_of_them_asked() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (_a, alice) = operator(&sim);
    let (_b, bob) = operator(&sim);
    let o = cutover(&alice, &["set", "80", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for _ in 0..5 {
        let spawn = |cfg: &std::path::Path, share: &str| {
            Command::new(bin())
                .arg("--config")
                .arg(cfg)
                .args(["set", share, "--yes"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&alice, "90"), spawn(&bob, "40"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        for o in [&a, &b] {
            assert!(
                o.status.success()
                    || stderr(o).contains("drives this cutover")
                    || stderr(o).contains("nothing to do: green already at"),
                "each wins or is refused naming the other: {}",
                stderr(o)
            );
        }
        let green = weights(&alice).1;
        assert!(
            green == 90 || green == 40,
            "green {green} %: nobody asked for that"
        );
        assert_eq!(status(&bob)["live"], "blue");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_made_elsewhere_while_a_step_is_in_flight_wins_over_it() {
    let Some(h) = haproxy() else { return };
    let direct = hap(
        Socket::Tcp(format!("127.0.0.1:{}", h.admin)),
        Duration::from_secs(5),
    );
    // The driver's step goes through a socket that holds `set weight` for 1.5 s.
    let port = delaying_proxy(h.admin, Duration::from_millis(1500), 50);
    let slow = hap(
        Socket::Tcp(format!("127.0.0.1:{port}")),
        Duration::from_secs(10),
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.jsonl")).unwrap();
    let step = tokio::spawn(async move {
        engine::apply(&slow, &journal, &Who::current(), &order(1, 50))
            .await
            .result
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile someone else rolls back from the command line, on the direct socket.
    let cfg = dir.path().join("h.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"shop\"\njournal = \"{}\"\n[backend]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:{}\"\nbackend = \"app\"\nblue-server = \"blue\"\ngreen-server = \"green\"\n",
            dir.path().join("cli.jsonl").display(),
            h.admin
        ),
    )
    .unwrap();
    let o = tokio::task::spawn_blocking(move || cutover(&cfg, &["rollback"]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let r = step.await.unwrap();
    let WriteResult::Failed { error, after } = r else {
        panic!("{r:?}")
    };
    assert!(
        error.contains("rolled back while this write was in flight: the write was undone"),
        "{error}"
    );
    assert_eq!(after, Some(Weights::new(100, 0)));
    assert_eq!(
        direct.read().await.unwrap(),
        Weights::new(100, 0),
        "the rollback stands"
    );
    let last = direct.record().await.unwrap().unwrap().last.unwrap();
    assert_eq!(
        last.action, "rollback",
        "the rollback stays the record's last word"
    );
}

#[test]
fn the_nginx_backup_never_writes_through_a_planted_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 100, 0);
    let victim = d.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("upstream.conf.cutover.bak")).unwrap();
    std::os::unix::fs::symlink(&victim, d.join(format!("upstream.conf.cutover-tmp-{}", 1)))
        .unwrap();
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(file_weights(d).contains("weight=10"));
    assert!(
        !std::fs::symlink_metadata(d.join("upstream.conf.cutover.bak"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the backup is a file of its own now"
    );
}

#[test]
fn a_stale_live_in_one_config_is_warned_and_never_rewrites_the_shared_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 50, 50);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("live = \"green\"\n{text}")).unwrap();
    let rec = format!("v1 live=blue by=alice@h at={} pos=50", lease::wall_ms());
    std::fs::write(d.join("upstream.conf.cutover-record"), format!("{rec}\n")).unwrap();
    let o = cutover(&cfg, &["rollback"]);
    // The documented order: the config wins, said loudly, on stderr and in the exit code's
    // company of warnings…
    assert!(
        stderr(&o).contains("the cutover record says blue is live")
            && stderr(&o).contains("`live` in the config says green"),
        "{}",
        stderr(&o)
    );
    assert!(
        file_weights(d).contains("127.0.0.1:8081 down;"),
        "all to green"
    );
    // …but what everyone else reads is left as it was.
    let kept = std::fs::read_to_string(d.join("upstream.conf.cutover-record")).unwrap();
    assert_eq!(kept.trim(), rec, "the shared record still names blue");
    assert!(
        stderr(&o).contains("left the record as it is"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rollback_to_over_the_record_makes_the_record_name_the_chosen_live() {
    // The record says green is live; the operator knows better and sends all traffic to
    // blue. Left as it was, the record would have every cockpit take blue for the candidate
    // at 100 %, and the next `r` would send all traffic back to green.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 30, 70);
    let rec = format!("v1 live=green by=alice@h at={} pos=30", lease::wall_ms());
    std::fs::write(d.join("upstream.conf.cutover-record"), format!("{rec}\n")).unwrap();
    let o = cutover(&cfg, &["rollback", "--to", "blue"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--to blue overrides it"),
        "{}",
        stderr(&o)
    );
    assert!(
        file_weights(d).contains("127.0.0.1:8082 down;"),
        "all to blue: {}",
        file_weights(d)
    );
    let now = std::fs::read_to_string(d.join("upstream.conf.cutover-record")).unwrap();
    assert!(now.contains("live=blue"), "{now}");
    assert!(
        !stderr(&o).contains("left the record as it is"),
        "{}",
        stderr(&o)
    );
    // And now a plain rollback stays on blue: nothing to roll back.
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(file_weights(d).contains("127.0.0.1:8082 down;"));
}

#[test]
fn a_rollback_is_written_whatever_becomes_of_its_output() {
    // A full disk under stdout, a reader gone from stderr: the words are lost, the rollback
    // is not.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = nginx_cfg(d, "[\"true\"]", 50, 50);
    let rec = format!("v1 live=blue by=alice@h at={} pos=50", lease::wall_ms());
    std::fs::write(d.join("upstream.conf.cutover-record"), format!("{rec}\n")).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut child = std::process::Command::new(common::bin())
        .arg("--config")
        .arg(&cfg)
        .arg("rollback")
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the rollback itself succeeded");
    assert!(
        file_weights(d).contains("127.0.0.1:8082 down;"),
        "all to blue: {}",
        file_weights(d)
    );
}

/// Someone rewrites the record after a rollback to say green is live with blue at 50 %,
/// while blue holds everything. Followed, `cutover rollback` would send all traffic to the
/// release just rolled back from. It names no target; `--to` says where and replaces it.
#[test]
fn a_record_the_traffic_contradicts_directs_no_rollback_until_someone_says_where() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (_d, cfg) = operator(&sim);
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(weights(&cfg), (100, 0));
    let ours = sim.record_text().unwrap();
    assert!(ours.contains("live=blue"), "{ours}");
    let forged = format!(
        "v1 live=green by=mallory@evil at={} pos=50",
        lease::wall_ms()
    );
    assert!(sim.swap_record(Some(&ours), Some(&forged)));

    let o = cutover(&cfg, &["rollback"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains(
            "the cutover record says green is live with blue at 50 % (started by mallory@evil), but the backend reads blue at 100 % (blue 100 / green 0): the record does not agree with the traffic and is not followed; pass --to blue or --to green"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(weights(&cfg), (100, 0), "nothing moved");
    let s = status(&cfg);
    assert_eq!(s["live"], serde_json::Value::Null, "{s}");
    assert_eq!(s["record"]["agrees_with_traffic"], false, "{s}");
    let o = cutover(&cfg, &["status"]);
    assert!(
        stdout(&o).contains("live UNKNOWN: the cutover record says green is live"),
        "{}",
        stdout(&o)
    );
    let o = cutover(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✕ cutover record: the cutover record says green is live"),
        "{}",
        stdout(&o)
    );
    // Nothing steps forward on it either.
    let o = cutover(&cfg, &["set", "10", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not agree with the traffic"),
        "{}",
        stderr(&o)
    );
    assert_eq!(weights(&cfg), (100, 0));

    // The operator says where: the record names blue once the rollback reads back.
    let o = cutover(&cfg, &["rollback", "--to", "blue"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(weights(&cfg), (100, 0));
    let now = sim.record_text().unwrap();
    assert!(
        now.contains("live=blue") && !now.contains("mallory"),
        "{now}"
    );
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("nothing to roll back"),
        "{}",
        stdout(&o)
    );
}

/// The window ran out with no cockpit open: the candidate holds everything and is the new
/// live, as the design says, but nothing judged it at the window's end. The CLI's
/// "nothing to roll back" says so, and how to go back.
#[test]
fn a_window_that_ran_out_with_no_cockpit_is_said_unjudged() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "rollback-window = \"1s\"");
    let o = cutover(&cfg, &["set", "100", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(sim.record_text().unwrap().contains(" end="));
    wait_until(10, "the window over", || status(&cfg)["live"] == "green");
    let o = cutover(&cfg, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("nothing to roll back")
            && stdout(&o).contains("and no cockpit completed it: nothing judged green at its end")
            && stdout(&o).contains("`cutover rollback --to blue`"),
        "{}",
        stdout(&o)
    );
    assert_eq!(weights(&cfg), (0, 100));
}
