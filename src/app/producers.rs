//! The producers of events: the tick, the backend poll (weights and the cutover record
//! together), each signal source's poll, the OS signals, and the driver lease task.

use crate::app::Clock;
use crate::app::lease::{self, Standing};
use crate::app::runner::Setup;
use crate::app::state::{ReadError, Role};
use crate::app::update::Event;
use crate::shared::with_timeout;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Spawns the tasks that produce events: ticks, backend and signal polls, OS signals.
pub(super) fn spawn_producers(setup: &Setup, tx: &mpsc::Sender<Event>) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![
        spawn_tick(tx, setup.clock),
        spawn_backend_poll(setup, tx),
        spawn_os_signals(tx, setup.clock),
    ];
    if let Some(feed) = &setup.schema {
        tasks.push(spawn_schema(feed.clone(), tx, setup.clock));
    }
    let clock = setup.clock;
    let interval = setup.poll_interval;
    let timeout = setup.poll_timeout;
    for source in &setup.sources {
        let t = tx.clone();
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let t0 = std::time::Instant::now();
                let result = with_timeout(&source.name(), timeout, source.poll())
                    .await
                    .map(Box::new);
                match result.as_ref().ok().and_then(|p| poll_troubles(p)) {
                    // It answered, but not everything it answered is a reading: the log
                    // says so rather than `ok`.
                    Some(why) => log::warn!(
                        target: "cutover::diag",
                        "poll {}: answered in {:.1} ms, but {why}",
                        source.name(),
                        t0.elapsed().as_secs_f64() * 1000.0
                    ),
                    None => diag_call(
                        &format!("poll {}", source.name()),
                        t0,
                        result.as_ref().err(),
                    ),
                }
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
    tasks
}

/// What a poll that answered could not give: queries refused or unreadable, values that
/// are no measurement, an env's health not up; `None` when it gave everything.
fn poll_troubles(p: &crate::core::EnvPair<crate::signals::EnvPoll>) -> Option<String> {
    let mut said = Vec::new();
    for e in crate::core::Env::ALL {
        let env = p.get(e);
        for why in env.read_errors().into_iter().chain(env.invalid()) {
            said.push(format!("{e} {why}"));
        }
        if let Some(h) = &env.health
            && h.health != crate::core::Health::Up
        {
            said.push(format!("{e} health {} ({})", h.health.word(), h.detail));
        }
    }
    (!said.is_empty()).then(|| crate::shared::one_line(&said.join("; "), 400))
}

/// One line of the diagnostic log (`L`): a call, how long it took, and how it failed.
/// The events pane says what happened; this says what cutover did to find out.
pub(super) fn diag_call(
    what: &str,
    t0: std::time::Instant,
    error: Option<&impl std::fmt::Display>,
) {
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    match error {
        None => log::info!(target: "cutover::diag", "{what}: ok in {ms:.1} ms"),
        Some(e) => log::warn!(target: "cutover::diag", "{what}: FAILED after {ms:.1} ms: {e}"),
    }
}

/// A tick every second: the clock on screen moves, windows count down.
/// Reads the migration history (and each env's `schema-max`) every `[schema] interval`.
fn spawn_schema(
    feed: std::sync::Arc<crate::signals::schema::SchemaFeed>,
    tx: &mpsc::Sender<Event>,
    clock: Clock,
) -> JoinHandle<()> {
    let tx = tx.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(feed.reader.settings().interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let t0 = std::time::Instant::now();
            let (read, max) = feed.poll().await;
            diag_call("schema read", t0, read.as_ref().err());
            let ev = Event::Schema {
                now: clock.now(),
                read,
                max,
            };
            if tx.send(ev).await.is_err() {
                break;
            }
        }
    })
}

fn spawn_tick(tx: &mpsc::Sender<Event>, clock: Clock) -> JoinHandle<()> {
    let t = tx.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if t.send(Event::Tick { now: clock.now() }).await.is_err() {
                break;
            }
        }
    })
}

/// The backend's weights and the cutover record, every interval and at once on a watch event.
fn spawn_backend_poll(setup: &Setup, tx: &mpsc::Sender<Event>) -> JoinHandle<()> {
    let clock = setup.clock;
    let interval = setup.poll_interval;
    let timeout = setup.poll_timeout;
    let t = tx.clone();
    let backend = setup.backend.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Named once: they are only needed to say who did not answer.
        let (target, place) = (
            backend.target(),
            backend.place(crate::backends::Slot::Record),
        );
        let mut told_tail: Option<std::time::Duration> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = backend.changed() => {}
            }
            let started = clock.now();
            let t0 = std::time::Instant::now();
            // The weights and the cutover record together: who made a change is named in
            // the record by the time the change is seen.
            let (read, record) = futures::join!(
                with_timeout(&target, timeout, backend.read()),
                with_timeout(&place, timeout, backend.record())
            );
            diag_call(&format!("read {target}"), t0, read.as_ref().err());
            diag_call(&format!("read {place}"), t0, record.as_ref().err());
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
            // How long clients keep an old answer (a TTL just read): the screen's tail for
            // changes it did not make itself.
            let tail = backend.propagation();
            if tail != told_tail {
                told_tail = tail;
                if t.send(Event::Propagation { tail }).await.is_err() {
                    break;
                }
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
    })
}

/// SIGTERM, SIGHUP, SIGINT: a shutdown event; traffic is left as it is.
fn spawn_os_signals(tx: &mpsc::Sender<Event>, clock: Clock) -> JoinHandle<()> {
    let t = tx.clone();
    tokio::spawn(async move {
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
    })
}

/// The lease task: a driver renews every third of the lease's life; an observer reads who
/// drives; a take-over request takes the lease. Each result goes to the loop.
pub(super) fn spawn_lease(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EnvPair, Reading};
    use crate::signals::EnvPoll;

    /// A poll that answered with refused queries is not logged `ok`.
    #[test]
    fn a_poll_that_answered_errors_is_not_ok() {
        let fine = EnvPoll {
            error_rate: Some(Reading::Value(0.0)),
            ..EnvPoll::default()
        };
        assert_eq!(
            poll_troubles(&EnvPair::new(fine.clone(), fine.clone())),
            None
        );
        let refused = EnvPoll {
            error_rate: Some(Reading::Error("HTTP 400 Bad Request: bad_data".into())),
            ..EnvPoll::default()
        };
        let said = poll_troubles(&EnvPair::new(fine, refused)).unwrap();
        assert!(
            said.contains("green error-rate: HTTP 400 Bad Request: bad_data"),
            "{said}"
        );
    }
}
