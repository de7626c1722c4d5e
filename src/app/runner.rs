//! The runner: spawns the producers (`producers.rs`: ticks, pollers, OS signals, the lease
//! task), feeds their events through `update` and executes the effects (`effects.rs`). It
//! never awaits I/O on the loop: every backend or signal call runs in its own task. The terminal is not here: the front
//! end (`crate::tui`) hands in a [`Screen`] to draw on and a task that turns key presses
//! into events.

use super::Clock;
use super::effects::{journal_event, run_effects};
use super::journal::{Journal, Phase, Who};
use super::lease::{self, Me};
use super::notify::{Webhook, spawn_notifier};
use super::producers::{spawn_lease, spawn_producers};
use super::state::{Role, State};
use super::update::{Event, update};
use super::writer::spawn_writer;
use crate::backends::{Backend, Switch};
use crate::signals::SignalSource;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Everything the cockpit runs with.
pub struct Setup {
    pub state: State,
    pub backend: Arc<dyn Backend>,
    /// The write side: `None` for `--read-only`, which can then never write.
    pub switch: Option<Arc<dyn Switch>>,
    /// This cutover, for the driver lease.
    pub me: Me,
    /// `[[smoke]]` checks; else a source that can smoke (the simulator's).
    pub smoke: Option<Arc<crate::signals::smoke::HttpSmoke>>,
    pub sources: Vec<Arc<dyn SignalSource>>,
    pub journal: Arc<Journal>,
    pub who: Who,
    pub clock: Clock,
    pub poll_interval: Duration,
    pub poll_timeout: Duration,
    pub hooks: Vec<Webhook>,
    /// `[schema]`: the migration history and each env's `schema-max`, read every interval.
    pub schema: Option<Arc<crate::signals::schema::SchemaFeed>>,
}

/// How the cockpit ended.
pub struct Outcome {
    pub state: State,
    /// The driver lease could not be handed back: why (said once the screen is gone).
    pub lease_unreleased: Option<String>,
}

/// Where the loop draws the state: the terminal, or nothing in tests.
pub trait Screen {
    fn draw(&mut self, state: &State) -> std::io::Result<()>;
}

/// Runs the cockpit until quit, SIGTERM or SIGHUP, drawing on `screen`; `input` starts the
/// task that sends key presses. Traffic is left exactly as the backend has it. The driver
/// lease is handed back before this returns, while the screen is still up.
pub async fn run(
    setup: Setup,
    screen: &mut dyn Screen,
    input: impl FnOnce(mpsc::Sender<Event>, Clock) -> JoinHandle<()>,
) -> anyhow::Result<Outcome> {
    let (tx, mut rx) = mpsc::channel::<Event>(1024);
    let writer = setup.switch.clone().map(|sw| {
        spawn_writer(
            sw,
            setup.journal.clone(),
            setup.who.clone(),
            tx.clone(),
            setup.clock,
        )
    });
    let (take_over, take_over_rx) = mpsc::unbounded_channel();
    let notifier = spawn_notifier(setup.hooks.clone(), tx.clone(), setup.clock);
    let mut tasks = spawn_producers(&setup, &tx);
    tasks.push(spawn_lease(&setup, tx.clone(), take_over_rx));
    tasks.push(input(tx.clone(), setup.clock));

    let clock = setup.clock;
    let mut state = setup.state.clone();
    state.now = clock.now();
    let mut result = screen.draw(&state);
    while result.is_ok() {
        let Some(ev) = rx.recv().await else { break };
        let mut effects = update(&mut state, ev);
        while let Ok(ev) = rx.try_recv() {
            effects.extend(update(&mut state, ev));
        }
        run_effects(
            &setup,
            effects,
            writer.as_ref(),
            &take_over,
            &notifier,
            &tx,
            &state,
        );
        if state.view.quit {
            break;
        }
        if state.view.dirty {
            state.view.dirty = false;
            result = screen.draw(&state);
        }
    }
    for t in tasks {
        t.abort();
    }
    // Writes shown as done whose journal fsync and record update are still being made (a
    // quit right after a rollback): a moment for them, bounded by the poll timeout.
    let settle_by = tokio::time::Instant::now() + setup.poll_timeout;
    while !state.writes.settling.is_empty() {
        match tokio::time::timeout_at(settle_by, rx.recv()).await {
            Ok(Some(ev)) => {
                if matches!(ev, Event::WriteSettled { .. } | Event::WriteDone { .. }) {
                    let _ = update(&mut state, ev);
                }
            }
            _ => break,
        }
    }
    // Quitting with a write in flight: said in the journal (and in the farewell).
    for w in &state.writes.in_flight {
        journal_event(
            &setup,
            &state,
            Phase::QuitInFlight,
            state.live(),
            state.traffic.weights,
            None,
            Some(format!(
                "quit with {} → {} % in flight (write {}-{}): outcome unknown, it may still land",
                w.action,
                w.share,
                std::process::id(),
                w.id
            )),
        );
    }
    // Quit, SIGTERM or SIGHUP: hand the lease back so the next driver need not wait. Done
    // before the terminal is restored: when the terminal is gone (an SSH drop), restoring
    // it may fail loudly, and the lease must be back by then.
    let mut lease_unreleased = None;
    if let Some(sw) = &setup.switch
        && state.lease.role == Role::Driver
    {
        match tokio::time::timeout(setup.poll_timeout, lease::release(sw.as_ref(), &setup.me)).await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => lease_unreleased = Some(e.to_string()),
            Err(_) => lease_unreleased = Some("no answer".to_string()),
        }
    }
    result?;
    Ok(Outcome {
        state,
        lease_unreleased,
    })
}
