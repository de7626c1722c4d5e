//! The standby proven while it waits: the rollback target's own smoke checks run while the
//! candidate serves, and a standby that stops answering turns the rollback line amber with
//! what failed — before anyone needs it.

mod common;

use common::*;

#[test]
fn a_standby_that_stops_answering_turns_the_rollback_line_amber_before_it_is_needed() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = sim.config(
        dir.path(),
        &format!(
            "poll-interval = \"500ms\"\nstandby-check-interval = \"5s\"\n[envs.blue]\nhealth = [\"http://{}/health\"]\n[envs.green]\nhealth = [\"http://{}/health\"]\n",
            sim.blue, sim.green
        ),
    );
    let t = Tmux::new("standby");
    t.start(130, 34, &cockpit_cmd(&cfg));
    let s = t.wait(20, "the driver", |s| {
        s.contains("driving: ") && s.contains("[0]")
    });
    assert!(!s.contains("blue standby"), "nothing waits at 0 %: {s}");
    t.keys(&["Right"]);
    t.wait(30, "the step and the standby proven", |s| {
        s.contains("[10]") && s.contains("rollback blue standby ✓ smoke") && s.contains("warm 1/1")
    });
    // Blue's app stops: its port refuses connections.
    let (st, body) = http(
        &sim.control,
        "PUT",
        "/control/env/blue",
        r#"{"running":false}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    let s = t.wait(20, "the standby failing, said", |s| {
        s.contains("blue standby ✕ smoke FAILED") && s.contains("COLD 0/1")
    });
    assert!(s.contains("standby blue: its smoke checks FAIL"), "{s}");
    assert!(
        s.contains("refused") || s.contains("HTTP 503"),
        "what failed: {s}"
    );
    // Back: proven again at the next run.
    let (st, body) = http(
        &sim.control,
        "PUT",
        "/control/env/blue",
        r#"{"running":true}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    t.wait(20, "the standby proven again", |s| {
        s.contains("blue standby ✓ smoke") && s.contains("warm 1/1")
    });
    t.keys(&["r"]);
    t.wait(20, "the rollback", |s| s.contains("[0]"));
    t.keys(&["q"]);
    t.wait(20, "exit", |s| s.contains("EXITED:"));
}
