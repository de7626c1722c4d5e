//! End to end: the binary in a real terminal (tmux), driven by keys like a person, against
//! a `cutover sim serve` running `bad-release`.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::app::journal::{Phase, WriteAction};
use std::process::Command;
use std::time::{Duration, Instant};

/// The candidate share in the traffic section's "set N %".
fn set_share(screen: &str) -> Option<u8> {
    let i = screen.find("set ")?;
    screen[i + 4..].split_whitespace().next()?.parse().ok()
}

/// Green's error rate on the screen, in percent.
fn green_errors(screen: &str) -> Option<f64> {
    let line = screen.lines().find(|l| l.contains("errors"))?;
    let right = line.split('│').nth(2)?;
    right.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn bad_release_step_see_errors_rise_roll_back_quit() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("bad-release", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "poll-interval = \"500ms\"");
    let t = Tmux::new("story");
    t.start(120, 32, &cockpit_cmd(&cfg));

    let s = t.wait(20, "the cockpit at 0 %", |s| {
        s.contains("CANDIDATE") && s.contains("[0]")
    });
    assert!(
        s.contains("BLUE") && s.contains("GREEN") && s.contains("ROLLBACK"),
        "{s}"
    );

    t.keys(&["Right"]);
    t.wait(20, "10 % verified", |s| {
        s.contains("[10]") && s.contains("→ 10 % applied")
    });
    t.keys(&["Right"]);
    let s = t.wait(20, "50 % or a confirm", |s| {
        s.contains("[50]") || s.contains("confirm")
    });
    if s.contains("confirm") {
        t.keys(&["y"]);
    }
    t.wait(20, "50 % verified", |s| {
        s.contains("[50]") && s.contains("→ 50 % applied")
    });

    // bad-release: green's errors climb past the 1 % guardrail at 50 % (and well past it,
    // so that the separate `status` a moment later is not judging a value on the edge).
    let s = t.wait(90, "green to breach", |s| {
        s.contains("✕ BREACH: errors") && green_errors(s).is_some_and(|e| e > 3.0)
    });
    assert!(green_errors(&s).is_some_and(|e| e > 1.0), "{s}");
    let st = status(&cfg);
    assert_eq!(st["share"], 50);
    assert!(
        st["envs"]["green"]["error_rate"].as_f64().unwrap() > 0.01,
        "status agrees: {st}"
    );
    assert_eq!(st["guardrails"]["status"], "breach");

    t.keys(&["r"]);
    let s = t.wait(20, "rollback verified", |s| {
        s.contains("[0]") && s.contains("ROLLBACK → 0 % applied")
    });
    assert_eq!(set_share(&s), Some(0), "{s}");
    assert!(s.contains("BLUE") && s.contains("100 %"), "{s}");
    let st = status(&cfg);
    assert_eq!(st["share"], 0, "screen and status agree: {st}");
    assert_eq!(st["weights"]["blue"], 100);
    assert_eq!(st["weights"]["green"], 0);

    t.keys(&["q"]);
    let s = t.wait(20, "the cockpit to exit", |s| s.contains("EXITED:"));
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(
        s.contains("traffic left as the backend has it: green 0 %"),
        "{s}"
    );
    assert!(!t.alternate_on(), "terminal restored: alternate screen off");
    assert!(
        !s.contains("CANDIDATE"),
        "the cockpit is gone from the screen:\n{s}"
    );
    assert_eq!(status(&cfg)["share"], 0, "quit never changes traffic");

    let journal =
        cutover::app::journal::Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    let tui: Vec<_> = journal
        .iter()
        .filter(|e| e.source == "tui" && e.phase == Phase::Result)
        .map(|e| e.share_after)
        .collect();
    assert_eq!(tui, vec![Some(10), Some(50), Some(0)]);
}

#[test]
fn sigterm_and_sighup_restore_the_terminal_and_leave_traffic() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    assert!(cutover(&cfg, &["set", "30"]).status.success());
    for signal in ["TERM", "HUP"] {
        let t = Tmux::new(&signal.to_lowercase());
        t.start(100, 30, &cockpit_cmd(&cfg));
        t.wait(20, "the cockpit", |s| s.contains("[30]"));
        assert!(t.alternate_on());
        let pid = t.child_pid();
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let s = t.wait(20, "exit after the signal", |s| s.contains("EXITED:"));
        assert!(s.contains("EXITED:0"), "SIG{signal}: {s}");
        assert!(!t.alternate_on(), "SIG{signal}: terminal restored");
        assert_eq!(status(&cfg)["share"], 30, "SIG{signal}: traffic untouched");
    }
}

#[test]
fn tiny_terminal_says_so_and_rollback_still_works() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    assert!(cutover(&cfg, &["set", "20"]).status.success());
    let t = Tmux::new("tiny");
    t.start(50, 12, &cockpit_cmd(&cfg));
    t.wait(20, "too small", |s| s.contains("terminal too small"));
    std::thread::sleep(Duration::from_millis(1500));
    t.keys(&["r"]);
    let end = Instant::now() + Duration::from_secs(20);
    while status(&cfg)["share"] != 0 {
        assert!(Instant::now() < end, "rollback from a tiny terminal");
        std::thread::sleep(Duration::from_millis(200));
    }
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

#[test]
fn auto_rollback_rolls_back_a_sustained_breach_unless_cancelled() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("bad-release", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "poll-interval = \"500ms\"\n[guardrails]\nauto-rollback = \"4s\"\n",
    );
    let journal =
        || cutover::app::journal::Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();

    // Auto-rollback: the countdown shows, then the rollback goes out through the normal path.
    assert!(cutover(&cfg, &["set", "50"]).status.success());
    let t = Tmux::new("auto");
    t.start(120, 32, &cockpit_cmd(&cfg));
    t.wait(90, "the countdown", |s| {
        s.contains("AUTO-ROLLBACK in") && s.contains("c to cancel")
    });
    t.wait(30, "the auto-rollback applied", |s| {
        s.contains("[0]") && s.contains("ROLLBACK → 0 % applied")
    });
    assert_eq!(status(&cfg)["share"], 0);
    let auto = journal()
        .into_iter()
        .rfind(|e| e.action == WriteAction::AutoRollback && e.phase == Phase::Result)
        .expect("journaled");
    assert_eq!(auto.share_after, Some(0));
    let reason = auto.reason.unwrap_or_default();
    assert!(
        reason.contains("error-rate") && reason.contains("4 s"),
        "{reason}"
    );
    assert!(
        auto.candidate.error_rate.is_some_and(|e| e > 0.01),
        "the values that tripped it"
    );

    // With a cancel: held off while the breach lasts, and journaled. The cockpit drives
    // (the CLI is refused while it holds the lease); 5 asks to confirm the jump and the
    // breach.
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "the cockpit holds the lease");
    assert!(
        stderr(&o).contains("drives this cutover since"),
        "{}",
        stderr(&o)
    );
    t.keys(&["5"]);
    t.wait(10, "the confirm", |s| s.contains("confirm"));
    t.keys(&["y"]);
    t.wait(90, "the countdown again", |s| {
        s.contains("[50]") && s.contains("AUTO-ROLLBACK in")
    });
    t.keys(&["c"]);
    t.wait(10, "the cancel", |s| s.contains("auto-rollback cancelled"));
    let cancelled_at = Instant::now();
    // Past the 4 s the countdown had: the share stays where it is.
    while cancelled_at.elapsed() < Duration::from_secs(6) {
        assert_eq!(status(&cfg)["share"], 50, "cancelled: no rollback");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        journal()
            .iter()
            .any(|e| e.phase == Phase::AutoRollbackCancelled && e.reason.is_some())
    );
    t.keys(&["r"]);
    t.wait(20, "manual rollback", |s| s.contains("[0]"));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

#[test]
fn sighup_during_a_slow_write_restores_the_terminal_and_the_journal_tells_the_truth() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep", "--write-delay", "3s"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    let t = Tmux::new("hup-write");
    t.start(100, 30, &cockpit_cmd(&cfg));
    t.wait(20, "the cockpit", |s| {
        s.contains("[0]") && s.contains("CANDIDATE")
    });
    t.keys(&["Right"]);
    t.wait(10, "the write in flight", |s| s.contains("writing → 10 %"));
    let pid = t.child_pid();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let s = t.wait(20, "exit after SIGHUP", |s| s.contains("EXITED:"));
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(!t.alternate_on(), "terminal restored");
    // The farewell says a write was in flight, never "traffic left at 0 %" alone.
    assert!(
        s.contains("quit with a write IN FLIGHT: step green → 10 %"),
        "{s}"
    );
    // Past the write's own delay, the backend holds one consistent state, and the journal
    // says what cutover knows of it: pending (no result) or done with that state.
    std::thread::sleep(Duration::from_millis(3500));
    let share = status(&cfg)["share"].as_u64().unwrap();
    let entries =
        cutover::app::journal::Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    assert!(
        entries.iter().any(|e| e.phase == Phase::QuitInFlight),
        "quitting with a write in flight is journaled"
    );
    let step: Vec<_> = entries
        .iter()
        .filter(|e| e.action == WriteAction::Step)
        .collect();
    assert_eq!(step[0].phase, Phase::Intent);
    match step.get(1) {
        None => assert!(share == 0 || share == 10, "pending write: {share}"),
        Some(r) => assert_eq!(r.share_after.map(u64::from), Some(share), "{r:?}"),
    }
    let timeline = stdout(&cutover(&cfg, &["journal"]));
    assert!(timeline.contains("step green 0 % → 10 %"), "{timeline}");
    if step.len() == 1 {
        assert!(timeline.contains("PENDING"), "{timeline}");
    }
}

/// Two cockpits on one `sim serve`, in two panes of one tmux window: the top one drives,
/// the bottom one observes (its keys and the CLI cannot write; it sees the driver's steps
/// land). The driver quits: the lease is released. A new driver in the top pane is
/// SIGKILLed: its lease lapses by itself and the next cutover takes it. The observer takes
/// over with a confirm, journaled.
#[test]
fn one_driver_observers_see_and_cannot_write_leases_release_and_expire() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        "poll-interval = \"500ms\"\nlease-ttl = \"3s\"\n",
    );
    let lease = || -> Option<String> {
        serde_json::from_str(&http_get(&sim.control, "/control/lease")).unwrap()
    };
    let (top, bottom) = ("t.0", "t.1");
    let t = Tmux::new("pair");
    t.start(120, 65, &cockpit_cmd(&cfg));
    t.wait_on(top, 20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    let held = lease().expect("the driver holds the lease");
    let me = cutover::app::journal::Who::current().user;
    assert!(held.starts_with(&me), "{held} is not {me}'s");

    t.split(32, &cockpit_cmd(&cfg));
    let s = t.wait_on(bottom, 20, "the observer", |s| s.contains("OBSERVING"));
    assert!(s.contains("drives since"), "{s}");

    // The observer's write keys say why they do nothing; the CLI is refused.
    t.keys_to(bottom, &["Right"]);
    t.wait_on(bottom, 10, "the explanation", |s| {
        s.contains("observing: ") && s.contains("T takes over")
    });
    // Rollback is never gated: the observer's r goes out at once (at 0 it re-asserts 0).
    t.keys_to(bottom, &["r"]);
    t.wait_on(bottom, 10, "the observer's rollback", |s| {
        s.contains("rolls back while") && s.contains("ROLLBACK → 0 % applied")
    });
    assert_eq!(status(&cfg)["share"], 0);
    let o = cutover(&cfg, &["set", "10"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("drives this cutover since"),
        "{}",
        stderr(&o)
    );
    let o = cutover(&cfg, &["--read-only", "rollback"]);
    assert_eq!(o.status.code(), Some(1));
    let driver = &status(&cfg)["driver"];
    assert_eq!(driver["holder"].as_str(), Some(me.as_str()), "{driver}");

    // The driver steps; the observer sees it land.
    t.keys_to(top, &["Right"]);
    t.wait_on(top, 20, "10 % at the driver", |s| s.contains("[10]"));
    t.wait_on(bottom, 20, "10 % at the observer", |s| {
        s.contains("[10]") && s.contains("made a step: green 0 → 10 %")
    });
    assert!(
        !t.screen_of(bottom).contains("not made through cutover"),
        "the driver's step is named from the record"
    );

    // The driver quits: the lease is released at once, not left to expire.
    t.keys_to(top, &["q"]);
    t.wait_on(top, 20, "the driver exits", |s| s.contains("EXITED:0"));
    assert_eq!(lease(), None, "released on quit");
    assert!(status(&cfg)["driver"].is_null());
    t.wait_on(bottom, 20, "nobody drives", |s| {
        s.contains("nobody drives: T to drive")
    });

    // A new driver in the top pane dies with SIGKILL: the lease lapses by itself.
    t.respawn(top, &cockpit_cmd(&cfg));
    t.wait_on(top, 20, "the second driver", |s| s.contains("driving: "));
    assert!(lease().is_some());
    let pid = t.pane_child_pid(top);
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let killed = Instant::now();
    wait_until(15, "the lease to lapse", || {
        lease().is_some_and(|l| {
            cutover::core::Lease::decode(&l)
                .is_some_and(|l| l.expired(chrono::Utc::now().timestamp_millis()))
        })
    });
    assert!(killed.elapsed() < Duration::from_secs(10));
    // The next cutover takes the lapsed lease without asking.
    let o = cutover(&cfg, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(lease(), None, "the CLI releases after its write");

    // A third driver on top; the observer below takes over with T and a confirm.
    t.respawn(top, &cockpit_cmd(&cfg));
    t.wait_on(top, 20, "the third driver", |s| s.contains("driving: "));
    t.wait_on(bottom, 20, "a driver again", |s| s.contains("drives since"));
    t.keys_to(bottom, &["T"]);
    t.wait_on(bottom, 10, "the take-over question", |s| {
        s.contains("Take over driving")
    });
    t.keys_to(bottom, &["y"]);
    t.wait_on(bottom, 20, "driving", |s| {
        s.contains("driving: ") && s.contains("took over the driver lease from")
    });
    t.wait_on(top, 20, "the old driver observes", |s| {
        s.contains("OBSERVING") && s.contains("now observes")
    });
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"take-over\""), "{journal}");
    // The new driver writes.
    t.keys_to(bottom, &["r"]);
    t.wait_on(bottom, 20, "rolled back", |s| {
        s.contains("[0]") && s.contains("ROLLBACK → 0 % applied")
    });
    t.keys_to(top, &["q"]);
    t.keys_to(bottom, &["q"]);
    t.wait_on(bottom, 20, "exit", |s| s.contains("EXITED:0"));
}

/// A minimal HTTP GET over a TCP socket: the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}
