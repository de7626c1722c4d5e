//! The writer: rollback pre-empts a slow step in flight and the final share is 0; a newer
//! step replaces a queued one.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use cutover::app::Clock;
use cutover::app::engine::{WriteOrder, WriteResult};
use cutover::app::journal::{CandidateSnapshot, Journal, Who, WriteAction};
use cutover::app::update::Event;
use cutover::app::writer::spawn_writer;
use cutover::backends::{SimBackend, Switch};
use cutover::core::{Env, Weights};
use cutover::sim::{Scenario, SimHandle, Simulator};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

fn order(id: u64, share: u8, rollback: bool) -> WriteOrder {
    WriteOrder {
        id,
        share,
        live: Env::Blue,
        rollback,
        action: if rollback {
            WriteAction::Rollback
        } else {
            WriteAction::Step
        },
        source: "test".into(),
        before: None,
        candidate: CandidateSnapshot::default(),
        reason: None,
        driver: None,
        window_ms: 60_000,
        lease_token: None,
        target_chosen: false,
    }
}

async fn next_done(rx: &mut mpsc::Receiver<Event>) -> (u64, WriteResult) {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event in time")
            .unwrap()
        {
            Event::WriteDone { id, result, .. } => return (id, result),
            _ => continue,
        }
    }
}

fn setup(delay: Duration) -> (SimHandle, Arc<dyn Switch>, Arc<Journal>, tempfile::TempDir) {
    let handle = SimHandle::new(Simulator::new(Scenario::load("happy").unwrap(), None));
    handle.set_write_delay(delay);
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl")).unwrap());
    (
        handle.clone(),
        Arc::new(SimBackend::Local(handle)),
        journal,
        dir,
    )
}

#[tokio::test]
async fn rollback_preempts_a_slow_step_and_wins() {
    let (handle, backend, journal, dir) = setup(Duration::from_secs(3));
    let (tx, mut rx) = mpsc::channel(64);
    let writer = spawn_writer(backend, journal, Who::current(), tx, Clock::start());
    writer.send(order(1, 50, false)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The rollback lands without the delay only if nothing queues it behind the step.
    handle.set_write_delay(Duration::ZERO);
    writer.send(order(2, 0, true)).unwrap();

    let (id, r) = next_done(&mut rx).await;
    assert_eq!(
        (id, &r),
        (1, &WriteResult::Aborted),
        "the step is cancelled first"
    );
    let (id, r) = next_done(&mut rx).await;
    assert_eq!(id, 2);
    assert!(
        matches!(r, WriteResult::Verified { after, .. } if after == Weights::new(100, 0)),
        "{r:?}"
    );
    // Past the step's own delay: it never lands.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(handle.lock().weights(), Weights::new(100, 0));

    let entries = Journal::read_all(&dir.path().join("j.jsonl")).unwrap();
    let phases: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.write.clone(), e.phase.to_string()))
        .collect();
    let pid = std::process::id();
    assert_eq!(
        phases,
        vec![
            (format!("{pid}-1"), "intent".into()),
            (format!("{pid}-1"), "aborted".into()),
            (format!("{pid}-2"), "intent".into()),
            (format!("{pid}-2"), "result".into()),
        ]
    );
}

#[tokio::test]
async fn latest_intent_wins_over_a_queued_step() {
    let (handle, backend, journal, _dir) = setup(Duration::from_millis(300));
    let (tx, mut rx) = mpsc::channel(64);
    let writer = spawn_writer(backend, journal, Who::current(), tx, Clock::start());
    writer.send(order(1, 10, false)).unwrap();
    writer.send(order(2, 30, false)).unwrap();
    writer.send(order(3, 50, false)).unwrap();
    let mut superseded = Vec::new();
    let mut done = Vec::new();
    while done.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::WriteSuperseded { id, by } => superseded.push((id, by)),
            Event::WriteDone { id, result, .. } => done.push((id, result.after())),
            _ => {}
        }
    }
    assert_eq!(superseded, vec![(2, 3)]);
    assert_eq!(
        done,
        vec![
            (1, Some(Weights::new(90, 10))),
            (3, Some(Weights::new(50, 50)))
        ]
    );
    assert_eq!(handle.lock().weights(), Weights::new(50, 50));
}
