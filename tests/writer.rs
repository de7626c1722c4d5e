//! The writer: rollback pre-empts a slow step in flight and the final share is 0; a step
//! already read back is left to finish its record update; a newer step replaces a queued
//! one.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use cutover::app::Clock;
use cutover::app::engine::{WriteOrder, WriteResult};
use cutover::app::journal::{CandidateSnapshot, Journal, Who, WriteAction};
use cutover::app::update::Event;
use cutover::app::writer::spawn_writer;
use cutover::backends::{
    Backend, BackendError, Capabilities, SimBackend, Slot, Switch, WriteCheck,
};
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
        expect: None,
        notes: Vec::new(),
        schema: None,
        approval: None,
        rules: Vec::new(),
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

    // Both end: the rollback goes out first, the step's cancellation is said after.
    let mut done = [next_done(&mut rx).await, next_done(&mut rx).await];
    done.sort_by_key(|(id, _)| *id);
    assert_eq!(done[0], (1, WriteResult::Aborted), "the step is cancelled");
    assert_eq!(done[1].0, 2);
    assert!(
        matches!(done[1].1, WriteResult::Verified { after, .. } if after == Weights::new(100, 0)),
        "{:?}",
        done[1].1
    );
    // Past the step's own delay: it never lands.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(handle.lock().weights(), Weights::new(100, 0));

    let entries = Journal::read_all(&dir.path().join("j.jsonl")).unwrap();
    let lines = |id: u64| -> Vec<String> {
        let w = format!("{}-{id}", std::process::id());
        entries
            .iter()
            .filter(|e| e.write == w)
            .map(|e| e.phase.to_string())
            .collect()
    };
    assert_eq!(lines(1), vec!["intent", "aborted"]);
    assert_eq!(lines(2), vec!["intent", "result"]);
    assert_eq!(entries.len(), 4);
}

/// The simulator, with the cutover record's writes held back by `record_delay`: a write
/// that has read back is still updating the record.
struct SlowRecord {
    inner: SimBackend,
    record_delay: Duration,
}

#[async_trait::async_trait]
impl Backend for SlowRecord {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn target(&self) -> String {
        self.inner.target()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn read(&self) -> Result<Weights, BackendError> {
        self.inner.read().await
    }
    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.inner.load(slot).await
    }
    fn place(&self, slot: Slot) -> String {
        self.inner.place(slot)
    }
}

#[async_trait::async_trait]
impl Switch for SlowRecord {
    async fn write(&self, weights: Weights) -> Result<(), BackendError> {
        self.inner.write(weights).await
    }
    async fn check_write(&self) -> WriteCheck {
        self.inner.check_write().await
    }
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        if slot == Slot::Record && new.is_some_and(|n| !n.contains("flight=")) {
            tokio::time::sleep(self.record_delay).await;
        }
        self.inner.swap(slot, expect, new).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_already_read_back_is_not_cancelled_by_a_rollback() {
    // Incident: the operator presses `r` the moment a step reads back, while that step is
    // still updating the cutover record. The step did land: calling it "aborted" would
    // lie, and the rollback must not wait for the record.
    let handle = SimHandle::new(Simulator::new(Scenario::load("happy").unwrap(), None));
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl")).unwrap());
    let slow: Arc<dyn Switch> = Arc::new(SlowRecord {
        inner: SimBackend::Local(handle.clone()),
        record_delay: Duration::from_millis(1500),
    });
    let (tx, mut rx) = mpsc::channel(64);
    let writer = spawn_writer(slow, journal, Who::current(), tx, Clock::start());
    writer.send(order(1, 50, false)).unwrap();
    // The step reads back and is shown at once, before its record update.
    let (id, r) = next_done(&mut rx).await;
    assert_eq!(id, 1);
    assert!(
        matches!(r, WriteResult::Verified { after, .. } if after == Weights::new(50, 50)),
        "{r:?}"
    );
    let sent = std::time::Instant::now();
    writer.send(order(2, 0, true)).unwrap();
    let (id, r) = next_done(&mut rx).await;
    assert_eq!(id, 2);
    assert!(
        matches!(r, WriteResult::Verified { after, .. } if after == Weights::new(100, 0)),
        "{r:?}"
    );
    assert!(
        sent.elapsed() < Duration::from_millis(1000),
        "the rollback read back without waiting for the step's record: {:?}",
        sent.elapsed()
    );
    // Both settle; the record ends as the rollback left it (whichever update came last).
    let mut settled = Vec::new();
    while settled.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("settled in time")
            .unwrap()
        {
            Event::WriteSettled {
                id, record_error, ..
            } => settled.push((id, record_error)),
            Event::WriteDone { id, result, .. } => panic!("write {id} ended twice: {result:?}"),
            _ => {}
        }
    }
    settled.sort_by_key(|(id, _)| *id);
    assert_eq!(settled, vec![(1, None), (2, None)]);
    let rec = SimBackend::Local(handle.clone())
        .record()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.pos, rec.end, rec.flight.is_none()),
        (0, None, true),
        "{rec:?}"
    );
    assert_eq!(handle.lock().weights(), Weights::new(100, 0));
    let entries = Journal::read_all(&dir.path().join("j.jsonl")).unwrap();
    let phases: Vec<String> = entries.iter().map(|e| e.phase.to_string()).collect();
    assert!(
        !phases.iter().any(|p| p == "aborted"),
        "a step that read back is not called aborted: {phases:?}"
    );
    assert_eq!(
        phases.iter().filter(|p| *p == "result").count(),
        2,
        "{phases:?}"
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

#[tokio::test]
async fn a_step_ordered_before_someone_elses_rollback_is_refused_not_a_silent_undo() {
    // Incident: Bob rolls back from another terminal; Alice's cockpit has not polled since
    // and she steps on from what her screen says (10 %). Her step must not put the
    // candidate back at 50 %.
    use cutover::app::engine::apply;
    let (handle, backend, journal, _dir) = setup(Duration::ZERO);
    let alice = Who {
        user: "alice@h".into(),
        ..Who::current()
    };
    let bob = Who {
        user: "bob@h".into(),
        ..Who::current()
    };
    let to_10 = apply(backend.as_ref(), &journal, &alice, &order(1, 10, false)).await;
    assert!(
        matches!(to_10.result, WriteResult::Verified { .. }),
        "{to_10:?}"
    );
    let rb = apply(backend.as_ref(), &journal, &bob, &order(2, 0, true)).await;
    assert!(matches!(rb.result, WriteResult::Verified { .. }), "{rb:?}");
    let mut step = order(3, 50, false);
    step.expect = Some(10);
    let done = apply(backend.as_ref(), &journal, &alice, &step).await;
    let WriteResult::Refused { reason } = &done.result else {
        panic!("not refused: {done:?}");
    };
    assert!(
        reason.contains("bob@h rolled back at")
            && reason.contains("green is at 0 %")
            && reason.contains("ordered from 10 %"),
        "{reason}"
    );
    assert_eq!(
        handle.lock().weights(),
        Weights::new(100, 0),
        "the rollback stands"
    );
    // From what is there now, the same step goes.
    step.id = 4;
    step.expect = Some(0);
    let done = apply(backend.as_ref(), &journal, &alice, &step).await;
    assert!(
        matches!(done.result, WriteResult::Verified { .. }),
        "{done:?}"
    );
}

#[tokio::test]
async fn a_rollback_not_journaled_is_said_once_not_again_when_it_settles() {
    let handle = SimHandle::new(Simulator::new(Scenario::load("happy").unwrap(), None));
    let backend: Arc<dyn Switch> = Arc::new(SimBackend::Local(handle));
    let (tx, mut rx) = mpsc::channel(64);
    let writer = spawn_writer(
        backend,
        Arc::new(Journal::unwritable()),
        Who::current(),
        tx,
        Clock::start(),
    );
    writer.send(order(1, 0, true)).unwrap();
    let mut said = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an event in time")
            .unwrap()
        {
            Event::WriteDone {
                result,
                journal_error,
                settling,
                ..
            } => {
                assert!(matches!(result, WriteResult::Verified { .. }), "{result:?}");
                said.push(journal_error);
                if !settling {
                    break;
                }
            }
            Event::WriteSettled { journal_error, .. } => {
                said.push(journal_error);
                break;
            }
            _ => {}
        }
    }
    assert!(said[0].is_some(), "{said:?}");
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(said[1], None, "said once: {said:?}");
}
