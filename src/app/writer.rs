//! The writer: serializes backend writes. Latest intent wins (a newer step replaces a queued
//! one), and a rollback pre-empts: it cancels a step in flight and goes out at once.

use super::Clock;
use super::engine::{self, WriteOrder, WriteResult};
use super::journal::{Journal, Phase, Who};
use super::update::Event;
use crate::backends::Switch;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

struct Running {
    order: WriteOrder,
    task: JoinHandle<()>,
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
        let start = |order: WriteOrder| -> Running {
            let (backend, journal, who, events, done_tx) = (
                backend.clone(),
                journal.clone(),
                who.clone(),
                events.clone(),
                done_tx.clone(),
            );
            let o = order.clone();
            let task = tokio::spawn(async move {
                let t0 = std::time::Instant::now();
                log::info!(target: "cutover::diag", "write #{} → {} % to {}: sent", o.id, o.share, backend.target());
                let done = engine::apply(backend.as_ref(), &journal, &who, &o).await;
                log::info!(
                    target: "cutover::diag",
                    "write #{}: {} (call and read-back {:.1} ms){}{}",
                    o.id,
                    done.result,
                    t0.elapsed().as_secs_f64() * 1000.0,
                    done.journal_error.as_ref().map_or_else(String::new, |e| format!("; journal: {e}")),
                    done.record_error.as_ref().map_or_else(String::new, |e| format!("; record: {e}"))
                );
                let _ = events
                    .send(Event::WriteDone {
                        id: o.id,
                        now: clock.now(),
                        result: done.result,
                        journal_error: done.journal_error,
                        record_error: done.record_error,
                    })
                    .await;
                let _ = done_tx.send(o.id);
            });
            Running { order, task }
        };
        loop {
            tokio::select! {
                order = rx.recv() => {
                    let Some(order) = order else { break };
                    match &mut running {
                        Some(r) if order.rollback && !r.order.rollback && !r.task.is_finished() => {
                            // Pre-empt: cancel the step in flight, drop anything queued.
                            r.task.abort();
                            let mut e = engine::entry(&r.order, backend.as_ref(), Phase::Aborted, &who);
                            e.error = Some(format!("pre-empted by rollback #{}", order.id));
                            let journal_error = journal.append(&e).err().map(|e| format!("journal: {e}"));
                            let _ = events.send(Event::WriteDone { id: r.order.id, now: clock.now(), result: WriteResult::Aborted, journal_error, record_error: None }).await;
                            if let Some(q) = queued.take() {
                                let _ = events.send(Event::WriteSuperseded { id: q.id, by: order.id }).await;
                            }
                            running = Some(start(order));
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
