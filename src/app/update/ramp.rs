//! A cold standby is not flooded (`cold-rollback = "ramp"`): when the rollback target is
//! known not warm (a Deployment short of ready replicas, targets unhealthy, an EB env
//! degraded), a rollback gives it the traffic back through `cold-rollback-steps`, each
//! verified, `cold-rollback-wait` between. `r` again sends everything back at once. The
//! default stays one instant call; the screen says which `r` will do before it is pressed.

use super::Effect;
use super::writes::issue;
use crate::app::journal::WriteAction;
use crate::app::keymap::Action;
use crate::app::state::{Level, Ramp, State};

/// What `r` does now: the candidate's shares on the way back when it ramps (a cold target,
/// `cold-rollback = "ramp"`, more than one step left), and how warm the target is.
pub fn planned(s: &State) -> Option<(Vec<u8>, String)> {
    let ramp = s.settings.cold_ramp.as_ref()?;
    let (warmth, cold) = s.warmth(s.live());
    if !cold {
        return None;
    }
    let steps = ramp.from(s.cutover.share?)?;
    Some((steps, warmth))
}

/// "r: instant" or "r: ramp 50 → 0, blue is cold: DEGRADED 2/6", for the rollback line;
/// `None` when no ramp is configured and the target is warm (nothing to tell).
pub fn words(s: &State) -> Option<String> {
    let key = s.key(Action::Rollback);
    if let Some(r) = &s.writes.ramp {
        let rest: Vec<String> = r.rest.iter().map(u8::to_string).collect();
        let when = r.next_at.map_or_else(
            || " once this step reads back".to_string(),
            |t| format!(" in {} s", t.saturating_sub(s.now).div_ceil(1000)),
        );
        return Some(format!(
            "RAMP under way: next {} %{when} — {key} again: all to {} now",
            rest.join(" → "),
            s.live()
        ));
    }
    match planned(s) {
        Some((steps, warmth)) => {
            let steps: Vec<String> = steps.iter().map(u8::to_string).collect();
            Some(format!(
                "{key}: ramp {}, {} is cold: {warmth}",
                steps.join(" → "),
                s.live()
            ))
        }
        None if s.settings.cold_ramp.is_some() => {
            let (warmth, cold) = s.warmth(s.live());
            Some(if cold {
                format!(
                    "{key}: instant ({} is cold: {warmth}, but {} at {} % is not above the ramp's first step)",
                    s.live(),
                    s.candidate(),
                    s.cutover
                        .share
                        .map_or_else(|| "?".to_string(), |p| p.to_string())
                )
            } else {
                format!("{key}: instant")
            })
        }
        None => {
            let (warmth, cold) = s.warmth(s.live());
            cold.then(|| {
                format!(
                    "{key}: instant, all at once onto a cold {}: {warmth}",
                    s.live()
                )
            })
        }
    }
}

/// A rollback: the next step of a ramp under way is skipped for all at once (`r` again);
/// a cold target with a ramp configured starts one; otherwise `None` (one instant call).
pub(super) fn rollback(s: &mut State, action: &WriteAction) -> Option<Vec<Effect>> {
    if s.writes.ramp.take().is_some() {
        s.log(
            Level::Warn,
            format!(
                "{} again: the ramp is cut short: all traffic to {} now",
                s.key(Action::Rollback),
                s.live()
            ),
        );
        return None;
    }
    let (steps, warmth) = planned(s)?;
    let wait = s.settings.cold_ramp.as_ref().map_or(0, |r| r.wait_ms);
    let from = s.cutover.share.unwrap_or(100);
    let path: Vec<String> = std::iter::once(from)
        .chain(steps.iter().copied())
        .map(|p| p.to_string())
        .collect();
    let reason = format!(
        "cold rollback: {} is {warmth}: {} {} %, each verified, {} s between",
        s.live(),
        s.candidate(),
        path.join(" → "),
        wait / 1000
    );
    s.log(
        Level::Warn,
        format!(
            "ROLLBACK RAMP: {reason}; {} again sends all to {} now",
            s.key(Action::Rollback),
            s.live()
        ),
    );
    s.writes.ramp = Some(Ramp {
        rest: steps[1..].to_vec(),
        next_at: None,
    });
    Some(step(s, steps[0], action, reason))
}

fn step(s: &mut State, share: u8, action: &WriteAction, reason: String) -> Vec<Effect> {
    let mut effects = issue(s, share, true, action.clone());
    for e in &mut effects {
        if let Effect::Write(o) = e {
            o.reason = Some(reason.clone());
        }
    }
    effects
}

/// Quitting (or told to) during a ramp: the rest is not sent, and that is said and
/// journaled, with how to finish it.
pub(super) fn abandon(s: &mut State) -> Vec<Effect> {
    let Some(r) = s.writes.ramp.take() else {
        return Vec::new();
    };
    let rest: Vec<String> = r.rest.iter().map(|p| format!("{p} %")).collect();
    let reason = format!(
        "quit during a cold rollback: {} left at {} %, the rest ({}) not sent; a rollback from any cockpit or `cutover rollback` finishes it",
        s.candidate(),
        s.cutover
            .share
            .map_or_else(|| "?".to_string(), |p| p.to_string()),
        rest.join(" → ")
    );
    s.log(Level::Error, reason.clone());
    vec![Effect::JournalNote {
        phase: crate::app::journal::Phase::QuitInFlight,
        reason,
    }]
}

/// A write done: a ramp step verified schedules the next one; one that did not land
/// (failed, unknown) gives up the ramp for all traffic back at once.
pub(super) fn on_step_done(s: &mut State, share: u8, verified: bool) -> Vec<Effect> {
    let Some(r) = s.writes.ramp.as_mut() else {
        return Vec::new();
    };
    if verified {
        let wait = s.settings.cold_ramp.as_ref().map_or(0, |r| r.wait_ms);
        r.next_at = Some(s.now + wait);
        return Vec::new();
    }
    s.writes.ramp = None;
    s.log(
        Level::Error,
        format!(
            "the cold rollback's step to {share} % did not read back: all traffic to {} now, in one call",
            s.live()
        ),
    );
    issue(s, 0, true, WriteAction::Rollback)
}

/// The next step, when its wait is over and nothing is in flight.
pub(super) fn due(s: &mut State) -> Vec<Effect> {
    let Some(r) = &s.writes.ramp else {
        return Vec::new();
    };
    // All back already (someone else's rollback): nothing is left to ramp.
    if s.cutover.share == Some(0) && s.writes.in_flight.is_empty() {
        s.writes.ramp = None;
        s.log(
            Level::Info,
            format!(
                "the cold rollback is over: {} holds all the traffic",
                s.live()
            ),
        );
        return Vec::new();
    }
    if r.next_at.is_none_or(|t| s.now < t) || !s.writes.in_flight.is_empty() {
        return Vec::new();
    }
    // The configured steps below where traffic reads now: never back up, and a move forward
    // made meanwhile elsewhere is taken back down a step at a time, never all at once.
    let now_at = s.cutover.share.unwrap_or(0);
    let steps = s
        .settings
        .cold_ramp
        .as_ref()
        .map_or_else(|| r.rest.clone(), |c| c.steps.clone());
    let mut rest: Vec<u8> = steps.into_iter().filter(|x| *x < now_at).collect();
    if rest.is_empty() {
        // At 0 % this was said above; an unknown share says nothing.
        s.writes.ramp = None;
        return Vec::new();
    }
    let share = rest.remove(0);
    let reason = format!("cold rollback: next step, {} → {share} %", s.candidate());
    if rest.is_empty() {
        s.writes.ramp = None;
    } else {
        s.writes.ramp = Some(Ramp {
            rest,
            next_at: None,
        });
    }
    step(s, share, &WriteAction::Rollback, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;
    use crate::core::cutover::ColdRamp;

    /// Green at 100 %, blue (the rollback target) at `ready` of 6 replicas.
    /// The backend read back `w` just after `t`.
    fn read(s: &mut State, t: Millis, w: Weights) {
        update(
            s,
            Event::BackendRead {
                started: t + 100,
                now: t + 200,
                result: Ok(w),
            },
        );
    }

    fn cold(ready: u32) -> State {
        let mut s = state(100);
        s.settings.cold_ramp = Some(ColdRamp {
            steps: vec![50, 0],
            wait_ms: 2_000,
        });
        let poll = |up: u32| crate::signals::EnvPoll {
            health: Some(crate::core::HealthSample {
                health: if up == 6 {
                    crate::core::Health::Up
                } else {
                    crate::core::Health::Degraded
                },
                up,
                total: 6,
                latency_ms: None,
                failures: 0,
                detail: String::new(),
            }),
            ..Default::default()
        };
        let result = Ok(Box::new(EnvPair::new(poll(ready), poll(6))));
        update(
            &mut s,
            Event::Signals {
                source: "kube".into(),
                now: 10,
                result,
            },
        );
        s
    }

    #[test]
    fn a_cold_target_gets_the_traffic_back_in_verified_steps_and_r_again_sends_all_at_once() {
        let mut s = cold(2);
        assert_eq!(
            words(&s).as_deref(),
            Some("r: ramp 50 → 0, blue is cold: DEGRADED 2/6")
        );
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), [(50, true)]);
        assert!(
            s.said("ROLLBACK RAMP: cold rollback: blue is DEGRADED 2/6: green 100 → 50 → 0 %"),
            "{}",
            s.last_event()
        );
        // Nothing more until it reads back, then the wait.
        assert!(update(&mut s, Event::Tick { now: 5_000 }).is_empty());
        done(&mut s, &e, 50);
        // Nothing moves forward during a ramp (a step up would be thrown down at once).
        assert!(key(&mut s, KeyCode::Char('9')).is_empty());
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(
            s.last_event().starts_with("a cold rollback is under way"),
            "{}",
            s.last_event()
        );
        let t = s.now;
        assert!(
            update(&mut s, Event::Tick { now: t + 1_000 }).is_empty(),
            "the wait"
        );
        let e = update(&mut s, Event::Tick { now: t + 2_100 });
        assert_eq!(shares(&e), [(0, true)]);
        done(&mut s, &e, 0);
        assert!(s.writes.ramp.is_none());
        assert!(update(&mut s, Event::Tick { now: t + 9_000 }).is_empty());

        // r again during the ramp: everything back at once.
        let mut s = cold(2);
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), [(50, true)]);
        assert!(words(&s).is_some_and(|w| {
            w.starts_with("RAMP under way: next 0 % once this step reads back")
        }));
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), [(0, true)]);
        assert!(s.writes.ramp.is_none());

        // Someone rolled back all the way from another terminal during the wait: the next
        // step (75 → 50 → 0 here) never sends traffic back to the candidate.
        let mut s = cold(2);
        s.settings.cold_ramp = Some(ColdRamp {
            steps: vec![75, 50, 0],
            wait_ms: 2_000,
        });
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), [(75, true)]);
        done(&mut s, &e, 75);
        let t = s.now;
        read(&mut s, t, Weights::new(100, 0));
        assert_eq!(s.cutover.share, Some(0));
        let e = update(&mut s, Event::Tick { now: t + 3_000 });
        assert!(shares(&e).is_empty(), "{e:?}");
        assert!(s.writes.ramp.is_none());

        // Someone moved traffic forward meanwhile (from another cockpit): taken back down a
        // step at a time, never all at once.
        let mut s = cold(2);
        let e = key(&mut s, KeyCode::Char('r'));
        done(&mut s, &e, 50);
        let t = s.now;
        read(&mut s, t, Weights::new(10, 90));
        let e = update(&mut s, Event::Tick { now: t + 3_000 });
        assert_eq!(shares(&e), [(50, true)], "{e:?}");
    }

    #[test]
    fn a_warm_target_or_no_ramp_configured_is_one_instant_call_and_a_failed_step_goes_all_at_once()
    {
        let mut s = cold(6);
        assert_eq!(words(&s).as_deref(), Some("r: instant"));
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), [(0, true)]);
        let mut s = cold(2);
        s.settings.cold_ramp = None;
        assert_eq!(
            words(&s).as_deref(),
            Some("r: instant, all at once onto a cold blue: DEGRADED 2/6")
        );
        assert_eq!(shares(&key(&mut s, KeyCode::Char('r'))), [(0, true)]);
        // A step that does not read back: the rest at once.
        let mut s = cold(2);
        let e = key(&mut s, KeyCode::Char('r'));
        let id = only_write(&e);
        let e = update(
            &mut s,
            Event::WriteDone {
                id,
                now: 500,
                result: WriteResult::Failed {
                    error: "HTTP 500".into(),
                    after: Some(Weights::new(0, 100)),
                },
                journal_error: None,
                record_error: None,
                settling: false,
                tail: None,
            },
        );
        assert_eq!(shares(&e), [(0, true)]);
        assert!(s.writes.ramp.is_none());
    }
}
