//! Where the full-screen cockpit cannot be drawn (`TERM=dumb`, no terminal at all), the
//! cockpit and the demo refuse in one line pointing to `cutover status`, before drawing
//! anything or taking the driver lease.

mod common;

use common::*;
use std::process::Command;

#[test]
fn term_dumb_or_no_terminal_refuses_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], term: &str| {
        Command::new(bin())
            .args(args)
            .env("TERM", term)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .unwrap()
    };
    for (term, why) in [
        ("dumb", "(TERM=dumb)"),
        ("xterm-256color", "(stdout is not a terminal)"),
    ] {
        let o = run(&["demo"], term);
        assert_eq!(o.status.code(), Some(1), "{term}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(
            err.starts_with("cutover: the cockpit needs a full-screen terminal ")
                && err.contains(why)
                && err.contains("`cutover status`"),
            "{err:?}"
        );
        assert!(o.stdout.is_empty(), "nothing drawn: {:?}", stdout(&o));
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "the demo opened no journal"
    );

    // The cockpit on a real backend: refused before the driver lease is taken.
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let cfg = sim.config(dir.path(), "");
    let o = Command::new(bin())
        .arg("--config")
        .arg(&cfg)
        .env("TERM", "dumb")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("(TERM=dumb)"), "{}", stderr(&o));
    let s = status(&cfg);
    assert!(s["driver"].is_null(), "no lease was taken: {s:#}");
}

#[test]
fn term_dumb_in_a_real_terminal_refuses_before_drawing() {
    if !require("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::new("dumb");
    t.start(
        80,
        24,
        &format!(
            "TERM=dumb XDG_STATE_HOME={} {} demo; echo EXITED:$?; sleep 600",
            dir.path().display(),
            bin().display()
        ),
    );
    let screen = t.wait(20, "the refusal", |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:1"), "{screen}");
    assert!(
        screen.contains("the cockpit needs a full-screen terminal (TERM=dumb)"),
        "{screen}"
    );
    assert!(!screen.contains("ROLLBACK"), "no cockpit drawn:\n{screen}");
    assert!(!t.alternate_on(), "the alternate screen was never entered");
}
