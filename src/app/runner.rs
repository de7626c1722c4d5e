//! The runner: spawns the producers (ticks, pollers, OS signals, the lease task), feeds
//! their events through `update` and executes the effects. It never awaits I/O on the loop:
//! every backend or signal call runs in its own task. The terminal is not here: the front
//! end (`crate::tui`) hands in a [`Screen`] to draw on and a task that turns key presses
//! into events.

use super::Clock;
use super::engine;
use super::journal::{Journal, Phase, Who, WriteAction};
use super::lease::{self, Me, Standing};
use super::notify::{Notice, Webhook, spawn_notifier};
use super::state::{ReadError, Role, State};
use super::update::{Effect, Event, RecordOp, update};
use super::writer::spawn_writer;
use crate::backends::{Backend, Switch};
use crate::shared::with_timeout;
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

/// Spawns the tasks that produce events: ticks, backend and signal polls, OS signals.
pub fn spawn_producers(setup: &Setup, tx: &mpsc::Sender<Event>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let clock = setup.clock;
    let interval = setup.poll_interval;
    let timeout = setup.poll_timeout;

    let t = tx.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if t.send(Event::Tick { now: clock.now() }).await.is_err() {
                break;
            }
        }
    }));

    let t = tx.clone();
    let backend = setup.backend.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = backend.changed() => {}
            }
            let started = clock.now();
            // The weights and the cutover record together: who made a change is named in
            // the record by the time the change is seen.
            let (target, place) = (
                backend.target(),
                backend.place(crate::backends::Slot::Record),
            );
            let (read, record) = futures::join!(
                with_timeout(&target, timeout, backend.read()),
                with_timeout(&place, timeout, backend.record())
            );
            let result = match read {
                // Said as UNKNOWN on screen: not a stale number, no number at all.
                Err(e @ crate::backends::BackendError::Unknown { .. }) => {
                    Err(ReadError::Unknown(e.to_string()))
                }
                r => r.map_err(|e| ReadError::Failed(e.to_string())),
            };
            let record = record.map_err(|e| e.to_string());
            let now = clock.now();
            if t.send(Event::RecordRead {
                now,
                result: record,
            })
            .await
            .is_err()
            {
                break;
            }
            let ev = Event::BackendRead {
                started,
                now,
                result,
            };
            if t.send(ev).await.is_err() {
                break;
            }
        }
    }));

    for source in &setup.sources {
        let t = tx.clone();
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let result = with_timeout(&source.name(), timeout, source.poll())
                    .await
                    .map(Box::new);
                if t.send(Event::Signals {
                    source: source.name(),
                    now: clock.now(),
                    result,
                })
                .await
                .is_err()
                {
                    break;
                }
            }
        }));
    }

    let t = tx.clone();
    tasks.push(tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        let reason = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP (terminal gone)",
            _ = int.recv() => "SIGINT",
        };
        let _ = t
            .send(Event::Shutdown {
                now: clock.now(),
                reason: reason.into(),
            })
            .await;
    }));
    tasks
}

/// Journals something that is not a write of this cutover: the end of the rollback window
/// (`complete`) or a change made behind its back (`external`).
fn journal_event(
    setup: &Setup,
    state: &State,
    phase: Phase,
    live: crate::core::Env,
    before: Option<crate::core::Weights>,
    after: Option<crate::core::Weights>,
    reason: Option<String>,
) {
    journal_event_of(setup, state, 0, phase, live, before, after, reason);
}

/// The same, about write number `id` of this cutover (a late landing names its write).
#[allow(clippy::too_many_arguments)]
fn journal_event_of(
    setup: &Setup,
    state: &State,
    id: u64,
    phase: Phase,
    live: crate::core::Env,
    before: Option<crate::core::Weights>,
    after: Option<crate::core::Weights>,
    reason: Option<String>,
) {
    // The signals of the env that matters now: the new live one when a window completes.
    let snapshot = if phase == Phase::Complete {
        state.snapshot_of(live)
    } else {
        state.candidate_snapshot()
    };
    let order = engine::WriteOrder {
        id,
        share: 0,
        live,
        rollback: false,
        // No write: the line's action repeats its phase.
        action: WriteAction::Note(phase.clone()),
        source: if phase == Phase::External {
            "backend"
        } else {
            "tui"
        }
        .into(),
        before,
        candidate: snapshot,
        reason,
        driver: None,
        window_ms: 0,
        lease_token: None,
    };
    let mut e = engine::entry(&order, setup.backend.as_ref(), phase, &setup.who);
    e.target = None;
    e.share_target = None;
    e.after = after;
    e.share_after = after.and_then(|w| w.share_of(live.other()));
    if let Err(err) = setup.journal.append(&e) {
        log::error!("journal: {err}");
    }
}

/// Runs a change of the cutover record in its own task; a failure comes back as an event.
fn record_op(setup: &Setup, op: RecordOp, tx: &mpsc::Sender<Event>) {
    let Some(sw) = setup.switch.clone() else {
        return;
    };
    let (t, clock, timeout) = (tx.clone(), setup.clock, setup.poll_timeout);
    tokio::spawn(async move {
        let run = async {
            match &op {
                RecordOp::Complete { old_live } => {
                    super::record::complete(sw.as_ref(), *old_live).await
                }
                RecordOp::WindowEnd { live, end } => {
                    super::record::set_end(sw.as_ref(), *live, *end).await
                }
                RecordOp::Restore(r) => sw
                    .swap(crate::backends::Slot::Record, None, Some(&r.encode()))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            }
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => "no answer".to_string(),
        };
        let _ = t
            .send(Event::RecordRead {
                now: clock.now(),
                result: Err(format!("not updated ({op:?}): {result}")),
            })
            .await;
    });
}

/// Runs the effects of one update.
pub fn run_effects(
    setup: &Setup,
    effects: Vec<Effect>,
    writer: Option<&mpsc::UnboundedSender<engine::WriteOrder>>,
    take_over: &mpsc::UnboundedSender<()>,
    notifier: &mpsc::UnboundedSender<Notice>,
    tx: &mpsc::Sender<Event>,
    state: &State,
) {
    for effect in effects {
        match effect {
            Effect::Notify { event, text } => {
                if !setup.hooks.is_empty() {
                    let _ = notifier.send(Notice {
                        event,
                        text,
                        cutover: state.settings.name.clone(),
                        who: setup.who.user.clone(),
                    });
                }
            }
            Effect::Write(order) => match writer {
                Some(w) => {
                    if w.send(order).is_err() {
                        log::error!("writer stopped");
                    }
                }
                None => log::error!("read-only: write #{} not sent", order.id),
            },
            Effect::TakeOver => {
                let _ = take_over.send(());
            }
            Effect::Smoke(env) => {
                if let Some(smoke) = setup.smoke.clone() {
                    let (t, clock) = (tx.clone(), setup.clock);
                    tokio::spawn(async move {
                        let report = smoke.run(env).await;
                        let _ = t
                            .send(Event::SmokeDone {
                                now: clock.now(),
                                report,
                            })
                            .await;
                    });
                    continue;
                }
                let source = setup.sources.iter().find(|s| s.can_smoke()).cloned();
                let t = tx.clone();
                let clock = setup.clock;
                tokio::spawn(async move {
                    let failed = |summary: &str| crate::signals::SmokeReport {
                        env,
                        passed: false,
                        summary: summary.into(),
                    };
                    let report = match source {
                        None => failed("no smoke checks for this backend"),
                        Some(source) => {
                            tokio::time::timeout(Duration::from_secs(60), source.smoke(env))
                                .await
                                .unwrap_or_else(|_| failed("timed out after 60 s"))
                        }
                    };
                    let _ = t
                        .send(Event::SmokeDone {
                            now: clock.now(),
                            report,
                        })
                        .await;
                });
            }
            Effect::Record(op) => record_op(setup, op, tx),
            Effect::JournalLate {
                write,
                after,
                reason,
            } => {
                journal_event_of(
                    setup,
                    state,
                    write,
                    Phase::Late,
                    state.live(),
                    None,
                    Some(after),
                    Some(reason),
                );
            }
            Effect::JournalComplete { new_live } => {
                journal_event(
                    setup,
                    state,
                    Phase::Complete,
                    new_live,
                    state.traffic.weights,
                    None,
                    None,
                );
            }
            Effect::JournalExternal { before, after } => {
                journal_event(
                    setup,
                    state,
                    Phase::External,
                    state.live(),
                    before,
                    Some(after),
                    None,
                );
            }
            Effect::JournalNote { phase, reason } => {
                journal_event(
                    setup,
                    state,
                    phase,
                    state.live(),
                    state.traffic.weights,
                    state.traffic.weights,
                    Some(reason),
                );
            }
        }
    }
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

/// The lease task: a driver renews every third of the lease's life; an observer reads who
/// drives; a take-over request takes the lease. Each result goes to the loop.
fn spawn_lease(
    setup: &Setup,
    tx: mpsc::Sender<Event>,
    mut take_over: mpsc::UnboundedReceiver<()>,
) -> JoinHandle<()> {
    let (backend, switch, me, clock) = (
        setup.backend.clone(),
        setup.switch.clone(),
        setup.me.clone(),
        setup.clock,
    );
    let timeout = setup.poll_timeout;
    // A cutover that could not reach the lease store at start keeps trying to take it.
    let mut driving =
        setup.state.lease.role == Role::Driver || setup.state.lease.lease_error.is_some();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis((me.ttl / 3).max(200)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let asked = tokio::select! {
                _ = tick.tick() => false,
                r = take_over.recv() => r.is_some(),
            };
            let now = lease::wall_ms();
            let call = async {
                match (&switch, asked, driving) {
                    (Some(sw), true, _) => lease::take_over(sw.as_ref(), &me, now).await,
                    (Some(sw), false, true) => lease::acquire(sw.as_ref(), &me, now)
                        .await
                        .map(|s| (s, None)),
                    _ => lease::look(backend.as_ref(), &me, now)
                        .await
                        .map(|s| (s, None)),
                }
            };
            let ev = match tokio::time::timeout(timeout, call).await {
                Ok(Ok((standing, took_over))) => {
                    let (role, holder) = match standing {
                        Standing::Mine(l) => (Role::Driver, Some(l)),
                        Standing::Theirs(l) => (Role::Observer, Some(l)),
                        Standing::Free => (Role::Observer, None),
                    };
                    let role = if switch.is_none() {
                        Role::ReadOnly
                    } else {
                        role
                    };
                    driving = role == Role::Driver;
                    Event::Lease {
                        now: clock.now(),
                        role,
                        holder,
                        took_over,
                        error: None,
                    }
                }
                Ok(Err(e)) => Event::Lease {
                    now: clock.now(),
                    role: Role::Driver,
                    holder: None,
                    took_over: None,
                    error: Some(e.to_string()),
                },
                Err(_) => Event::Lease {
                    now: clock.now(),
                    role: Role::Driver,
                    holder: None,
                    took_over: None,
                    error: Some(format!(
                        "no answer within {}",
                        crate::shared::seconds_text(timeout.as_secs_f64())
                    )),
                },
            };
            if tx.send(ev).await.is_err() {
                break;
            }
        }
    })
}
