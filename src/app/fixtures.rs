//! Deterministic cockpit states for snapshot tests and benchmarks, produced by running the
//! real simulator and the real reducer on virtual time.
#![doc(hidden)]

use super::Effect;
use super::engine::WriteResult;
use super::keymap::{Key, KeyCode};
use super::state::State;
use super::update::{Event, update};
use crate::core::{Cutover, Plan, Weights};
use crate::signals::sim::poll_local;
use crate::sim::{Scenario, Simulator, WEIGHT_SCALE};

/// What happens at a second of virtual time.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Key(KeyCode),
    /// The backend stops answering from here on.
    BackendDown,
    /// The signal source stops answering from here on.
    SignalsDown,
}

/// Runs `scenario` for `seconds` of virtual time, pressing keys at the given seconds.
/// Writes land at once and are verified; every second the backend and signals are polled.
pub fn run(scenario: &str, seconds: u64, script: &[(u64, Step)]) -> State {
    let scenario = Scenario::load(scenario).expect("built-in scenario");
    let mut sim = Simulator::new(scenario.clone(), None);
    let cutover = Cutover::new(scenario.live, Plan::default(), 15 * 60_000);
    let mut s = State::new(
        scenario.service.clone(),
        cutover,
        chrono::DateTime::parse_from_rfc3339("2026-11-23T14:00:00+00:00").expect("a fixed time"),
    );
    s.settings.backend_kind = "sim".into();
    s.settings.backend_target = "127.0.0.1:7070".into();
    s.settings.driver = "alice@bastion".into();
    // As the demo: values settle for the simulator's stats window after a move.
    s.settings.settle_ms = crate::sim::STATS_WINDOW_S * 1000;
    s.traffic.live_known = true;
    let (mut backend_up, mut signals_up) = (true, true);
    for sec in 0..=seconds {
        let now = sec * 1000;
        if sec > 0 {
            sim.advance(1000);
        }
        if backend_up {
            update(
                &mut s,
                Event::BackendRead {
                    started: now,
                    now,
                    result: Ok(sim.weights()),
                },
            );
        } else {
            update(
                &mut s,
                Event::BackendRead {
                    started: now,
                    now,
                    result: Err(crate::app::state::ReadError::Failed(
                        "cannot reach 127.0.0.1:7070: Connection refused (os error 111)".into(),
                    )),
                },
            );
        }
        if signals_up {
            update(
                &mut s,
                Event::Signals {
                    source: "simulator".into(),
                    now,
                    result: Ok(Box::new(poll_local(&sim))),
                },
            );
        }
        for (_, step) in script.iter().filter(|(t, _)| *t == sec) {
            match step {
                Step::BackendDown => backend_up = false,
                Step::SignalsDown => signals_up = false,
                Step::Key(code) => {
                    let press = s.settings.keymap.press(&Key::new(*code, false));
                    for e in update(
                        &mut s,
                        Event::Key {
                            press,
                            now: now + 1,
                        },
                    ) {
                        if let Effect::Write(o) = e {
                            let w = Weights::for_share(o.live.other(), o.share, WEIGHT_SCALE);
                            sim.set_weights(w);
                            let result = WriteResult::Verified {
                                after: w,
                                elapsed_ms: 3,
                            };
                            update(
                                &mut s,
                                Event::WriteDone {
                                    id: o.id,
                                    now: now + 4,
                                    result,
                                    journal_error: None,
                                    record_error: None,
                                    settling: false,
                                    tail: None,
                                },
                            );
                        }
                    }
                }
            }
        }
        update(&mut s, Event::Tick { now: now + 999 });
    }
    s.now = seconds * 1000 + 999;
    s
}
