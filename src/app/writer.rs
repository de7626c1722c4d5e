//! The writer: serializes backend writes. Latest intent wins (a newer step replaces a queued
//! one), and a rollback pre-empts: it cancels a step in flight and goes out at once.

use super::Clock;
use super::engine::{self, Applied, WriteOrder, WriteResult};
use super::journal::{Journal, Phase, Who};
use super::update::Event;
use crate::backends::Switch;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

struct Running {
    order: WriteOrder,
    task: JoinHandle<()>,
    /// [`RUNNING`], [`REPORTED`] (its result is known and shown: only its journal fsync
    /// and record update are left, which a rollback does not cancel) or [`CANCELLED`].
    stage: Arc<AtomicU8>,
}

/// Starts the writer task; send it orders through the returned sender.
pub fn spawn_writer(
    backend: Arc<dyn Switch>,
    journal: Arc<Journal>,
    who: Who,
    events: mpsc::Sender<Event>,
    clock: Clock,
) -> mpsc::UnboundedSender<WriteOrder> {
    let (tx, mut rx) = mpsc::unbounded_channel::<WriteOrder>();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        let mut running: Option<Running> = None;
        let mut queued: Option<WriteOrder> = None;
        let ctx = Ctx {
            backend: backend.clone(),
            journal: journal.clone(),
            who: who.clone(),
            events: events.clone(),
            clock,
        };
        let start = |order: WriteOrder| -> Running {
            let stage = Arc::new(AtomicU8::new(RUNNING));
            let (ctx, flag, o, done_tx) =
                (ctx.clone(), stage.clone(), order.clone(), done_tx.clone());
            let task = tokio::spawn(async move {
                perform(ctx, &o, &flag).await;
                let _ = done_tx.send(o.id);
            });
            Running { order, task, stage }
        };
        loop {
            tokio::select! {
                order = rx.recv() => {
                    let Some(order) = order else { break };
                    match &mut running {
                        // A cold rollback's step (a rollback to a share above 0) is
                        // pre-empted by the rollback to 0 that cuts the ramp short.
                        Some(r) if order.rollback && (!r.order.rollback || (r.order.share > 0 && order.share == 0)) && !r.task.is_finished() => {
                            // A rollback goes out at once: a step still waiting for its
                            // answer is cancelled (said in the journal after the rollback
                            // left), one already read back only finishes its bookkeeping.
                            if let Some(q) = queued.take() {
                                let _ = events.send(Event::WriteSuperseded { id: q.id, by: order.id }).await;
                            }
                            let cancelled = r
                                .stage
                                .compare_exchange(RUNNING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst)
                                .is_ok();
                            if cancelled {
                                r.task.abort();
                            }
                            let step = r.order.clone();
                            let rollback_id = order.id;
                            running = Some(start(order));
                            if cancelled {
                                let mut e = engine::entry(&step, backend.as_ref(), Phase::Aborted, &who);
                                e.error = Some(format!("pre-empted by rollback #{rollback_id}"));
                                let journal_error = journal.append(&e).err().map(|e| format!("journal: {e}"));
                                let _ = events.send(Event::WriteDone { id: step.id, now: clock.now(), result: WriteResult::Aborted, journal_error, record_error: None, settling: false, tail: None }).await;
                            }
                        }
                        Some(_) => {
                            if let Some(q) = queued.take() {
                                let _ = events.send(Event::WriteSuperseded { id: q.id, by: order.id }).await;
                            }
                            queued = Some(order);
                        }
                        None => running = Some(start(order)),
                    }
                }
                Some(id) = done_rx.recv() => {
                    if running.as_ref().is_some_and(|r| r.order.id == id) {
                        running = queued.take().map(start);
                    }
                }
            }
        }
    });
    tx
}

/// What a write task needs.
#[derive(Clone)]
struct Ctx {
    backend: Arc<dyn Switch>,
    journal: Arc<Journal>,
    who: Who,
    events: mpsc::Sender<Event>,
    clock: Clock,
}

/// A write's stages, as the writer's pre-emption sees them: whichever of the write
/// (reporting its result) and a rollback (cancelling it) moves it from `RUNNING` first wins.
const RUNNING: u8 = 0;
const REPORTED: u8 = 1;
const CANCELLED: u8 = 2;

/// Runs `apply`, telling the screen what the backend says it waits for (a DNS change
/// pending, a swap updating) whenever that changes, checked twice a second.
async fn with_progress(ctx: &Ctx, id: u64, apply: impl Future<Output = Applied>) -> Applied {
    tokio::pin!(apply);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut last: Option<String> = None;
    loop {
        tokio::select! {
            done = &mut apply => return done,
            _ = tick.tick() => {
                let now = ctx.backend.progress();
                if now != last {
                    last.clone_from(&now);
                    let _ = ctx.events.try_send(Event::WriteProgress { id, text: now });
                }
            }
        }
    }
}

/// One write, start to end: its result is sent as `WriteDone` as soon as it is read back
/// (stage [`REPORTED`]), then `WriteSettled` once its journal fsync and record update are
/// made.
async fn perform(ctx: Ctx, o: &WriteOrder, stage: &AtomicU8) {
    let t0 = std::time::Instant::now();
    log::info!(target: "cutover::diag", "write #{} → {} % to {}: sent", o.id, o.share, ctx.backend.target());
    // The result goes to the screen as soon as it is read back; the fsync and
    // the record follow (`WriteSettled`).
    let shown = std::sync::atomic::AtomicBool::new(false);
    // What the screen was already told of the journal: said once, not again on settling.
    let told_journal = std::sync::Mutex::new(None::<String>);
    let told = |a: &Applied| {
        if stage
            .compare_exchange(RUNNING, REPORTED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return; // cancelled by a rollback: aborted at the next await
        }
        let sent = ctx.events.try_send(Event::WriteDone {
            id: o.id,
            now: ctx.clock.now(),
            result: a.result.clone(),
            journal_error: a.journal_error.clone(),
            record_error: None,
            settling: true,
            tail: ctx.backend.propagation(),
        });
        shown.store(sent.is_ok(), Ordering::SeqCst);
        *told_journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = a.journal_error.clone();
    };
    let apply = engine::apply_reporting(ctx.backend.as_ref(), &ctx.journal, &ctx.who, o, told);
    let done = with_progress(&ctx, o.id, apply).await;
    log::info!(
        target: "cutover::diag",
        "write #{}: {} (call and read-back {:.1} ms){}{}",
        o.id,
        done.result,
        t0.elapsed().as_secs_f64() * 1000.0,
        done.journal_error.as_ref().map_or_else(String::new, |e| format!("; journal: {e}")),
        done.record_error.as_ref().map_or_else(String::new, |e| format!("; record: {e}"))
    );
    let ev = if shown.load(Ordering::SeqCst) {
        let told = told_journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        Event::WriteSettled {
            id: o.id,
            journal_error: done.journal_error.filter(|e| Some(e) != told.as_ref()),
            record_error: done.record_error,
        }
    } else {
        Event::WriteDone {
            id: o.id,
            now: ctx.clock.now(),
            result: done.result,
            journal_error: done.journal_error,
            record_error: done.record_error,
            settling: false,
            tail: None,
        }
    };
    let _ = ctx.events.send(ev).await;
}
