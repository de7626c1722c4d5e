//! Rollback in the cockpit, driven by keys in tmux like a person would: another person rolls
//! back from the CLI while a cockpit drives, a driver killed mid-write comes back to its
//! seat and is told of the pending write, and a failing release holds its window.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

mod common;

use common::*;
use cutover::app::journal::Phase;
use std::process::Command;
use std::time::Duration;

#[test]
fn a_cli_rollback_while_a_cockpit_drives_is_made_at_once_and_named_on_its_screen() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "poll-interval = \"500ms\"\n");
    let t = Tmux::new("cli-rollback");
    t.start(120, 32, &cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    t.keys(&["Right"]);
    t.wait(20, "the step", |s| s.contains("[10]"));
    // Someone else, in another terminal, with their own journal.
    let other = tempfile::tempdir().unwrap();
    let cfg2 = sim.config(other.path(), "");
    let o = cutover(&cfg2, &["rollback"]);
    assert!(o.status.success(), "never gated: {}", stderr(&o));
    assert!(stdout(&o).contains("all traffic to blue"), "{}", stdout(&o));
    assert!(stdout(&o).contains("drives this cutover"), "{}", stdout(&o));
    assert_eq!(status(&cfg)["share"], 0);
    let me = cutover::app::journal::Who::current().user;
    let short: String = me.chars().take(12).collect();
    let s = t.wait(10, "the driver told who rolled back", |s| {
        s.contains("rolled back: green 10 → 0 %") && s.contains("[0]")
    });
    assert!(s.contains(&short), "{s}");
    assert!(!s.contains("external change"), "{s}");
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

/// After a rollback, someone rewrites the record to say green is live with blue at 50 %
/// (or promoted to 100 %) while blue holds everything. The cockpit that watched says so and
/// keeps blue: `r`, pressed twice, never sends traffic to green, and replaces the record.
#[test]
fn a_record_rewritten_after_a_rollback_never_turns_r_onto_the_release() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "poll-interval = \"500ms\"\n");
    let t = Tmux::new("forged-record");
    t.start(120, 32, &cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    t.keys(&["Right"]);
    t.wait(20, "the step", |s| s.contains("[10]"));
    t.keys(&["r"]);
    t.wait(20, "the rollback", |s| {
        s.contains("ROLLBACK green 10 → 0 %") && s.contains("[0]")
    });
    wait_until(10, "the rollback recorded", || {
        sim.record_text()
            .is_some_and(|r| r.contains("live=blue") && r.contains(":rollback:"))
    });
    let count = |s: &str, what: &str| s.matches(what).count();
    for pos in [50, 100] {
        let before = t.screen();
        let (disputed, agreed) = (
            count(&before, "the cutover record now says green is live"),
            count(&before, "the cutover record is consistent again"),
        );
        let ours = sim.record_text().unwrap();
        let forged = format!(
            "v1 live=green by=mallory@evil at={} pos={pos}",
            cutover::app::lease::wall_ms()
        );
        assert!(sim.swap_record(Some(&ours), Some(&forged)));
        let s = t.wait(10, "the record not followed", |s| {
            count(s, "the cutover record now says green is live") > disputed
        });
        assert!(!s.contains("live is green"), "{s}");
        t.keys(&["r"]);
        t.wait(10, "the record replaced by the rollback", |s| {
            count(s, "the cutover record is consistent again") > agreed
        });
        let now = sim.record_text().unwrap();
        assert!(
            now.contains("live=blue") && !now.contains("mallory"),
            "{now}"
        );
        t.keys(&["r"]);
        std::thread::sleep(Duration::from_millis(1500));
        let st = status(&cfg);
        assert_eq!(
            (
                st["weights"]["blue"].as_u64(),
                st["weights"]["green"].as_u64()
            ),
            (Some(100), Some(0)),
            "pos {pos}: all traffic stays on blue: {st}"
        );
        assert_eq!(st["live"], "blue", "{st}");
    }
    let screen = t.screen();
    assert!(
        !screen.contains("ROLLBACK blue"),
        "never towards green: {screen}"
    );
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
}

/// The driver's confirm is open (a jump to 50 %) when someone else rolls back: the question
/// is withdrawn (it was asked from a screen no longer true), a `y` typed after writes
/// nothing, and no override or intent is journaled.
#[test]
fn a_confirm_answered_after_someone_else_rolled_back_does_not_undo_their_rollback() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "poll-interval = \"500ms\"\n");
    let t = Tmux::new("confirm-after-rollback");
    t.start(120, 32, &cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    t.keys(&["Right"]);
    t.wait(20, "the step", |s| s.contains("[10]"));
    t.keys(&["5"]);
    t.wait(10, "the confirm", |s| {
        s.contains("50 %") && s.contains("y ")
    });
    let other = tempfile::tempdir().unwrap();
    let o = cutover(&sim.config(other.path(), ""), &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = t.wait(10, "the question withdrawn", |s| {
        s.contains("question withdrawn, nothing sent")
    });
    assert!(!s.contains("y confirm"), "the dialog is gone: {s}");
    // The `y` typed a moment too late answers nothing.
    t.keys(&["y"]);
    // Well past a poll: traffic stays where the rollback put it.
    t.wait(10, "still at 0 after polls", |s| s.contains("[0]"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&cfg)["share"], 0, "the rollback was not undone");
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
    let entries =
        cutover::app::journal::Journal::read_all(&dir.path().join("journal.jsonl")).unwrap();
    assert!(
        !entries
            .iter()
            .any(|e| e.share_target == Some(50) || e.phase == Phase::Override),
        "no intent, no override for the step that was not sent: {:?}",
        entries
            .iter()
            .map(|e| (&e.phase, e.share_target))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_driver_killed_mid_write_comes_back_to_its_seat_and_is_told_of_the_pending_write() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep", "--write-delay", "4s"]);
    let dir = tempfile::tempdir().unwrap();
    // A long lease: only the dead process frees it, not time.
    let cfg = sim.config(dir.path(), "lease-ttl = \"10m\"\n");
    let t = Tmux::new("kill-mid-write");
    t.start(120, 32, &cockpit_cmd(&cfg));
    t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    t.keys(&["Right"]);
    t.wait(20, "the write in flight", |s| s.contains("writing → 10 %"));
    let pid = t.child_pid();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    t.wait(10, "the kill", |s| s.contains("EXITED:137"));
    // The same person starts again at once, long before the lease would lapse.
    t.respawn("t", &cockpit_cmd(&cfg));
    let s = t.wait(20, "the seat and the pending write", |s| {
        s.contains("driving: ") && s.contains("write with no outcome")
    });
    assert!(!s.contains("OBSERVING"), "{s}");
    assert!(s.contains("step green → 10 %"), "{s}");
    t.keys(&["r"]);
    t.wait(20, "rolled back", |s| s.contains("ROLLBACK → 0 % applied"));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(status(&cfg)["share"], 0, "the late step did not win");
}

#[test]
fn a_failing_release_holds_its_window_and_r_still_rolls_back() {
    if !require("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // bad-release without the demo's holds (min-bake, min-requests): this drill is about
    // the window, not the bake.
    let scenario = dir.path().join("no-holds.toml");
    let text = include_str!("../demo/scenarios/bad-release.toml")
        .lines()
        .filter(|l| !l.starts_with("min-"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&scenario, text).unwrap();
    let t = Tmux::new("held-window");
    t.start(
        120,
        32,
        &format!(
            "{} --journal {} demo --scenario {} --rollback-window 6s; echo EXITED:$?; sleep 600",
            bin().display(),
            dir.path().join("j.jsonl").display(),
            scenario.display()
        ),
    );
    t.wait(20, "the demo", |s| s.contains("[0]"));
    t.keys(&["Right"]);
    t.wait(20, "10 %", |s| s.contains("[10]"));
    // Just stepped: green's numbers still settle, so the next step asks first.
    t.keys(&["Right"]);
    t.wait(10, "the confirm: nothing judged green yet", |s| {
        s.contains("NOTHING HAS JUDGED")
    });
    t.keys(&["y"]);
    t.wait(20, "50 %", |s| s.contains("[50]"));
    // Green fails under load: promote it over the breach, with the confirm that says so.
    t.wait(30, "the breach", |s| s.contains("BREACH"));
    t.keys(&["Right"]);
    t.wait(10, "the confirm", |s| s.contains("confirm"));
    t.keys(&["y"]);
    t.wait(20, "100 %", |s| s.contains("[100]"));
    let s = t.wait(60, "the held window", |s| s.contains("window held at 0:00"));
    assert!(s.contains("r rolls back, y completes anyway"), "{s}");
    assert!(!s.contains("cutover complete"), "{s}");
    t.keys(&["r"]);
    let s = t.wait(20, "rolled back", |s| s.contains("ROLLBACK → 0 % applied"));
    assert!(s.contains("BLUE ███"), "{s}");
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:0"));
    let entries = cutover::app::journal::Journal::read_all(&dir.path().join("j.jsonl")).unwrap();
    assert!(entries.iter().any(|e| e.phase == Phase::WindowHeld));
    assert!(!entries.iter().any(|e| e.phase == Phase::Complete));
}

/// A cockpit opened after someone rolled back from the CLI says when the rollback was, as
/// the record at the backend has it, and settles until then plus the window — not from its
/// own start.
#[test]
fn a_cockpit_opened_after_a_cli_rollback_says_when_it_was() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(dir.path(), "");
    assert!(cutover(&cfg, &["set", "10", "--yes"]).status.success());
    assert!(cutover(&cfg, &["rollback"]).status.success());
    let rolled_back = chrono::Local::now();
    // Long enough for a start-time stamp to differ from the rollback's.
    std::thread::sleep(Duration::from_secs(3));
    let t = Tmux::new("late-cockpit");
    t.start(120, 32, &cockpit_cmd(&cfg));
    let s = t.wait(20, "the settle line", |s| {
        s.contains("— green's numbers settle until")
    });
    let line = s
        .lines()
        .find(|l| l.contains("green's numbers settle until"))
        .unwrap();
    let said = line
        .split("rolled back ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"));
    let said = chrono::NaiveTime::parse_from_str(said, "%H:%M:%S").unwrap();
    let off = (said - rolled_back.time()).num_seconds().abs();
    assert!(
        off <= 1,
        "said {said}, rolled back at {rolled_back}: {line}"
    );
    t.keys(&["q"]);
}
