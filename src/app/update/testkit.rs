//! Helpers for the reducer's tests: a cockpit at a share, fresh signals, a key press.

pub(crate) use super::{Effect, Event, RecordOp, update};
pub(crate) use crate::app::engine::WriteResult;
pub(crate) use crate::app::journal::{Phase, WriteAction};
pub(crate) use crate::app::keymap::{Key, KeyCode};
pub(crate) use crate::app::state::{ReadError, State};
pub(crate) use crate::core::{Cutover, Env, EnvPair, LiveFrom, Millis, Plan, Weights};
pub(crate) use crate::signals::SmokeReport;

/// A cockpit that has read nothing yet: live not known, no config `live`.
pub(crate) fn unread() -> State {
    State::new(
        "t".into(),
        Cutover::new(Env::Blue, Plan::default(), 60_000),
        chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
    )
}

/// Whether every write among `effects` sends traffic toward `live` (none toward the other).
pub(crate) fn writes_only_toward(effects: &[Effect], live: Env) -> bool {
    effects
        .iter()
        .all(|e| !matches!(e, Effect::Write(o) if o.live != live))
}

pub(crate) fn state(share: u8) -> State {
    let mut s = unread();
    s.traffic.live_known = true;
    let w = Weights::for_share(Env::Green, share, 100);
    update(
        &mut s,
        Event::BackendRead {
            started: 0,
            now: 0,
            result: Ok(w),
        },
    );
    fresh_signals(&mut s, 0);
    s
}

/// Healthy signals for both envs at `now`.
pub(crate) fn fresh_signals(s: &mut State, now: Millis) {
    let poll = || crate::signals::EnvPoll {
        error_rate: Some(crate::core::Reading::Value(0.001)),
        p99_ms: Some(crate::core::Reading::Value(150.0)),
        rps: Some(crate::core::Reading::Value(100.0)),
        health: Some(crate::core::HealthSample {
            health: crate::core::Health::Up,
            up: 1,
            total: 1,
            latency_ms: None,
            failures: 0,
            detail: String::new(),
        }),
        ..Default::default()
    };
    let result = Ok(Box::new(EnvPair::new(poll(), poll())));
    update(
        s,
        Event::Signals {
            source: "test".into(),
            now,
            result,
        },
    );
}

/// Signals at `now` with green's error rate at `err`.
pub(crate) fn green_errors(s: &mut State, now: Millis, err: f64) -> Vec<Effect> {
    let poll = |e: f64| crate::signals::EnvPoll {
        error_rate: Some(crate::core::Reading::Value(e)),
        p99_ms: Some(crate::core::Reading::Value(150.0)),
        ..Default::default()
    };
    let result = Ok(Box::new(EnvPair::new(poll(0.001), poll(err))));
    update(
        s,
        Event::Signals {
            source: "t".into(),
            now,
            result,
        },
    )
}

pub(crate) fn key(s: &mut State, c: KeyCode) -> Vec<Effect> {
    update(
        s,
        Event::Key {
            press: s.settings.keymap.press(&Key::new(c, false)),
            now: s.now + 10,
        },
    )
}

pub(crate) fn shares(effects: &[Effect]) -> Vec<(u8, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write(o) => Some((o.share, o.rollback)),
            _ => None,
        })
        .collect()
}

pub(crate) fn done(s: &mut State, effects: &[Effect], share: u8) {
    for e in effects {
        if let Effect::Write(o) = e {
            let after = Weights::for_share(Env::Green, share, 100);
            update(
                s,
                Event::WriteDone {
                    id: o.id,
                    now: s.now + 5,
                    result: WriteResult::Verified {
                        after,
                        elapsed_ms: 5,
                    },
                    journal_error: None,
                    record_error: None,
                    settling: false,
                    tail: None,
                },
            );
        }
    }
}

/// The window at 100 % with green's errors at `err`, run to its end.
pub(crate) fn promoted(err: f64) -> State {
    let mut s = state(100);
    s.traffic.live_from = Some(LiveFrom::AllTraffic);
    green_errors(&mut s, 1_000, err);
    s
}

/// The id of the one write among `effects` (there must be exactly one effect, a write).
pub(crate) fn only_write(effects: &[Effect]) -> u64 {
    let [Effect::Write(o)] = effects else {
        panic!("{effects:?}")
    };
    o.id
}

/// At 10 %, a step to 50 whose outcome came back unknown; its write id.
pub(crate) fn step_unknown() -> (State, u64) {
    let mut s = state(10);
    let e = key(&mut s, KeyCode::Right);
    let id = only_write(&e);
    update(
        &mut s,
        Event::WriteDone {
            id,
            now: 1_000,
            result: WriteResult::Unknown {
                error: "no answer within 1.0 s".into(),
                after: Some(Weights::new(90, 10)),
            },
            journal_error: None,
            record_error: None,
            settling: false,
            tail: None,
        },
    );
    (s, id)
}
