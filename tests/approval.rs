#![allow(clippy::too_many_lines)]
//! A second person for promotion (`[approval]`): two people, told apart by their login
//! names, on one `sim serve`. The driver's promote waits in the cutover record until
//! someone else approves it (from their cockpit, or `cutover approve`); the same person
//! cannot approve itself, an expired request cannot be approved, and the rules the record
//! carries hold for a writer whose own config has none.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const APPROVAL: &str = "[approval]\nrequired-for = [\"promote\"]\napproval-ttl = \"2m\"\n";

/// `cutover --config cfg args…` as `user`.
fn as_user(user: &str, cfg: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .env("USER", user)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cutover runs")
}

/// `cutover set 100 --yes` as `user`, left running: it asks and waits.
fn promote_in_background(user: &str, cfg: &Path) -> std::process::Child {
    Command::new(bin())
        .env("USER", user)
        .arg("--config")
        .arg(cfg)
        .args(["set", "100", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn journal_lines(dir: &Path, phase: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["phase"] == phase)
        .collect()
}

#[test]
fn a_promotion_waits_for_another_person_who_approves_it_from_their_cockpit() {
    if !require("tmux") {
        return;
    }
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ca = sim.config(da.path(), APPROVAL);
    let cb = sim.config(db.path(), APPROVAL);
    let t = Tmux::new("approval");
    t.start(130, 76, &format!("USER=alice {}", cockpit_cmd(&ca)));
    t.wait_on("t.0", 20, "alice drives", |s| s.contains("driving: alice@"));
    t.split(38, &format!("USER=bob {}", cockpit_cmd(&cb)));
    t.wait_on("t.1", 20, "bob watches", |s| s.contains("OBSERVING"));
    // Alice: to 50 % (a jump asks to confirm), then the promotion.
    t.keys_to("t.0", &["5"]);
    t.wait_on("t.0", 30, "the jump's confirm", |s| {
        s.contains("set green 0 % → 50 %?")
    });
    t.keys_to("t.0", &["y"]);
    t.wait_on("t.0", 20, "50 % verified", |s| {
        s.contains("verified (blue 50 / green 50)")
    });
    t.keys_to("t.0", &["l"]);
    let s = t.wait_on("t.0", 20, "the promotion's confirm", |s| {
        s.contains("promote green 50 % → 100 %?")
    });
    assert!(s.contains("needs another person's approval"), "{s}");
    t.keys_to("t.0", &["y"]);
    t.wait_on("t.0", 20, "alice waits", |s| {
        s.contains("WAITING FOR APPROVAL (another person): promote green 50 → 100 %")
    });
    // Nothing moved: the backend still reads 50 %.
    assert_eq!(status(&ca)["weights"]["green"], 50);
    let record = sim.record_text().expect("a record");
    assert!(record.contains(" ask=promote:100:alice@"), "{record}");
    // Bob sees who asks and what, and approves.
    t.wait_on("t.1", 20, "bob sees the request", |s| {
        s.contains("alice@") && s.contains("asks for approval: promote green 50 → 100 %")
    });
    t.keys_to("t.1", &["a"]);
    let s = t.wait_on("t.1", 10, "the request, with green's guardrails", |s| {
        s.contains("asks you to approve: promote green 50 → 100 %")
    });
    assert!(s.contains("y approves") && s.contains("n declines"), "{s}");
    t.keys_to("t.1", &["y"]);
    let s = t.wait_on("t.0", 20, "the promotion lands", |s| {
        s.contains("verified (blue 0 / green 100)")
    });
    assert!(
        s.contains("bob@") && s.contains("approved promote green 50 → 100 %: sending"),
        "{s}"
    );
    // Both names in alice's journal (beside her write) and in bob's.
    let mine = journal_lines(da.path(), "approved");
    assert_eq!(mine.len(), 1, "{mine:?}");
    let why = mine[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("asked by alice@") && why.contains("approved by bob@"),
        "{why}"
    );
    assert_eq!(
        mine[0]["who"]["user"]
            .as_str()
            .map(|u| u.starts_with("alice@")),
        Some(true)
    );
    let theirs = journal_lines(db.path(), "approved");
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let why = theirs[0]["reason"].as_str().unwrap();
    assert!(
        why.starts_with("bob@") && why.contains("asked by alice@"),
        "{why}"
    );
    assert_eq!(journal_lines(da.path(), "approval-asked").len(), 1);
    // The timeline says it.
    let o = as_user("alice", &ca, &["journal"]);
    assert!(stdout(&o).contains("APPROVED"), "{}", stdout(&o));
    // The request was consumed by the write: nothing left to approve.
    let record = sim.record_text().expect("a record");
    assert!(
        !record.contains(" ask=") && !record.contains(" ok="),
        "{record}"
    );
}

#[test]
fn only_another_person_approves_in_time_and_the_record_s_rules_hold_for_everyone() {
    let sim = SimServe::start("happy", &["--no-sleep"]);
    let (da, dc) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ca = sim.config(da.path(), APPROVAL);
    // Carol's config has no [approval] at all.
    let cc = sim.config(dc.path(), "");
    let o = as_user("alice", &ca, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        sim.record_text().unwrap().contains(" need=p"),
        "{:?}",
        sim.record_text()
    );
    // Alice promotes from a shell: it asks and waits.
    let mut child = promote_in_background("alice", &ca);
    wait_until(20, "the request in the record", || {
        sim.record_text()
            .is_some_and(|r| r.contains(" ask=promote:100:alice@"))
    });
    // status says who waits for what, in text and JSON.
    let o = as_user("carol", &ca, &["status"]);
    assert!(
        stdout(&o).contains("approval: promote green → 100 % asked by alice@")
            && stdout(&o).contains("WAITING for another person"),
        "{}",
        stdout(&o)
    );
    let v = status(&ca);
    assert_eq!(v["record"]["approval"]["need"], "promote");
    assert_eq!(v["record"]["approval"]["answer"], serde_json::Value::Null);
    assert_eq!(
        v["record"]["approval_required_for"],
        serde_json::json!(["promote"])
    );
    // Alice on another terminal (or host) is still alice.
    let o = as_user("alice", &ca, &["approve", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("approval needs another person"),
        "{}",
        stderr(&o)
    );
    assert!(child.try_wait().unwrap().is_none(), "still waiting");
    // Without a terminal and without --yes, nothing is approved.
    let o = as_user("bob", &ca, &["approve"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = as_user("bob", &ca, &["approve", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("alice@")
            && stdout(&o).contains("asks you to approve: promote green → 100 %"),
        "{}",
        stdout(&o)
    );
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < end, "the promotion did not go out");
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{err}");
    assert!(
        err.contains("waiting for approval (another person)")
            && err.contains("approved promote green → 100 %: sending"),
        "{err}"
    );
    assert_eq!(status_of(&ca)["weights"]["green"], 100);
    let mine = journal_lines(da.path(), "approved");
    assert!(
        mine.iter().any(|v| v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("asked by alice@") && r.contains("approved by bob@"))),
        "{mine:?}"
    );

    // Back, and a cutover begun under alice's rules: carol's config has none, and her
    // promotion still asks; bob declines it with a reason.
    let o = as_user("alice", &ca, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = as_user("alice", &ca, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut carol = promote_in_background("carol", &cc);
    wait_until(20, "carol's request in the record", || {
        sim.record_text()
            .is_some_and(|r| r.contains(" ask=promote:100:carol@"))
    });
    let o = as_user("bob", &ca, &["decline", "p99 creeping on green"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let end = Instant::now() + Duration::from_secs(20);
    while carol.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "carol still waits");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = carol.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("DECLINED promote green → 100 %: p99 creeping on green; nothing sent"),
        "{err}"
    );
    assert_eq!(status_of(&ca)["weights"]["green"], 50);

    // A request whose asker is gone (SIGTERM, a dropped SSH) is taken back with them.
    let o = as_user("alice", &ca, &["rollback"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = as_user("carol", &cc, &["set", "50", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        sim.record_text().unwrap().contains(" need=p"),
        "a new cutover keeps the rules, whatever carol's config says: {:?}",
        sim.record_text()
    );
    let carol = promote_in_background("carol", &cc);
    wait_until(20, "carol's second request", || {
        sim.record_text()
            .is_some_and(|r| r.contains(" ask=promote:100:carol@"))
    });
    let _ = Command::new("kill")
        .args(["-TERM", &carol.id().to_string()])
        .status();
    let out = carol.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("withdrawn (SIGTERM)"), "{err}");
    // Carol's own journal says she asked and took it back (and the decline before).
    assert_eq!(journal_lines(dc.path(), "approval-asked").len(), 2);
    assert_eq!(journal_lines(dc.path(), "declined").len(), 1);
    assert_eq!(journal_lines(dc.path(), "approval-withdrawn").len(), 1);
    assert!(
        !sim.record_text().unwrap().contains(" ask="),
        "{:?}",
        sim.record_text()
    );
    // Nor is a request approved whose asker does not drive.
    let rec = sim.record_text().unwrap();
    let until = cutover_wall_ms() + 60_000;
    let orphan = format!("{rec} ask=promote:100:zed@h:{until}");
    assert!(sim.swap_record(Some(&rec), Some(&orphan)));
    let o = as_user("bob", &ca, &["approve", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("zed@h asked, but does not drive now"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        sim.record_text().as_deref(),
        Some(orphan.as_str()),
        "nothing written"
    );

    // An expired request cannot be approved.
    let rec = sim.record_text().unwrap();
    let base: String = rec.split(" ask=").next().unwrap().to_string();
    let past = cutover_wall_ms() - 1_000;
    let expired = format!("{base} ask=promote:100:alice@h:{past}");
    assert!(sim.swap_record(Some(&rec), Some(&expired)));
    let o = as_user("bob", &ca, &["approve", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
    assert_eq!(
        sim.record_text().as_deref(),
        Some(expired.as_str()),
        "nothing written"
    );
}

fn status_of(cfg: &Path) -> serde_json::Value {
    status(cfg)
}

fn cutover_wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
