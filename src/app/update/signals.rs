//! Signal polls and smoke results: the samples land in `State::signals`, a source that
//! stops answering is said once (and again when it answers), and a lasting gap between the
//! observed and the set share is reported.

use super::Effect;
use super::writes::command;
use crate::app::state::{Level, MATCH_AGAIN_MS, MISMATCH_AFTER_MS, SmokeState, State};
use crate::core::{EnvPair, Millis};
use crate::shared::SignalError;
use crate::signals::{EnvPoll, SmokeReport};

/// Says once when the observed share stops matching the set share, and once when it
/// matches again.
pub(super) fn report_mismatch(s: &mut State) {
    let off = s.observed_mismatch();
    // Said once it has lasted, and cleared once it has stayed gone: noisy shares (a DNS
    // switch's test trickle) do not flap the line every poll.
    let since = if off {
        s.traffic.match_since = None;
        *s.traffic.mismatch_since.get_or_insert(s.now)
    } else {
        s.traffic.mismatch_since = None;
        *s.traffic.match_since.get_or_insert(s.now)
    };
    let hold = if off {
        MISMATCH_AFTER_MS
    } else {
        MATCH_AGAIN_MS
    };
    if off == s.traffic.mismatch_reported || s.now.saturating_sub(since) < hold {
        return;
    }
    s.traffic.mismatch_reported = off;
    let cand = s.candidate();
    match (off, s.observed_share(), s.cutover.share) {
        (true, Some(o), Some(set)) => s.log(
            Level::Warn,
            format!(
                "{cand} receives {o:.1} % of requests but is set to {set} %: sticky sessions, DNS caching or a wrong selector?"
            ),
        ),
        _ => s.log(Level::Good, "observed traffic matches the set share again".to_string()),
    }
}

/// A smoke run finished: said, kept for the pre-flight, and a first step waiting for it
/// goes on.
pub(super) fn on_smoke_done(s: &mut State, now: Millis, report: SmokeReport) -> Vec<Effect> {
    if super::standby::on_standby_done(s, now, &report) {
        return Vec::new();
    }
    let level = if report.passed {
        Level::Good
    } else {
        Level::Error
    };
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    s.log(
        level,
        format!("smoke {} {verdict}: {}", report.env, report.summary),
    );
    s.smoke = Some(SmokeState::Done {
        env: report.env,
        passed: report.passed,
        summary: report.summary,
        at: now,
    });
    match s.preflight_pending.take() {
        Some((cmd, name)) if report.env == s.candidate() => command(s, cmd, name),
        _ => Vec::new(),
    }
}

/// A signal source's poll: its samples, or why it did not answer. A poll that answered
/// but whose queries could not all be read (a query Prometheus refused, a value that does
/// not parse) is said like a source that did not answer: with which and why, once, and
/// again when it reads.
pub(super) fn on_signals(
    s: &mut State,
    source: String,
    now: Millis,
    result: Result<Box<EnvPair<EnvPoll>>, SignalError>,
) {
    let failure = match result {
        Ok(pair) => {
            let unread: Vec<String> = crate::core::Env::ALL
                .into_iter()
                .flat_map(|e| {
                    pair.get(e)
                        .read_errors()
                        .into_iter()
                        .map(move |why| format!("{e} {why}"))
                })
                .collect();
            let EnvPair { blue, green } = *pair;
            let interval = s.settings.poll_interval;
            blue.apply_to(&mut s.signals.blue, now, interval);
            green.apply_to(&mut s.signals.green, now, interval);
            (!unread.is_empty()).then(|| format!("could not read {}", unread.join("; ")))
        }
        Err(e) => Some(e.to_string()),
    };
    let known = s
        .source_errors
        .iter()
        .position(|(src, _, _)| *src == source);
    match (failure, known) {
        (None, Some(pos)) => {
            s.source_errors.remove(pos);
            s.log(Level::Good, format!("{source} answers again"));
        }
        (None, None) => {}
        // Said once; the pane's warning line keeps the latest reason.
        (Some(e), Some(pos)) => s.source_errors[pos].1 = e,
        (Some(e), None) => {
            s.log(Level::Error, format!("{source}: {e}"));
            s.source_errors.push((source, e, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;

    #[test]
    fn a_lasting_observed_share_mismatch_is_said_once() {
        let mut s = state(10);
        let poll = |rps: f64| crate::signals::EnvPoll {
            rps: Some(crate::core::Reading::Value(rps)),
            ..Default::default()
        };
        let said = |s: &State| {
            s.view
                .events
                .iter()
                .filter(|e| e.text.contains("sticky sessions"))
                .count()
        };
        // Off from 31 s (settled after the move); said once it has lasted 30 s.
        for now in [5_000u64, 31_000, 45_000, 60_000] {
            let result = Ok(Box::new(EnvPair::new(poll(198.0), poll(2.0))));
            update(
                &mut s,
                Event::Signals {
                    source: "t".into(),
                    now,
                    result,
                },
            );
        }
        assert_eq!(said(&s), 0, "not yet: 29 s");
        let signals = |s: &mut State, now: Millis, g: f64| {
            let result = Ok(Box::new(EnvPair::new(poll(200.0 - g), poll(g))));
            update(
                s,
                Event::Signals {
                    source: "t".into(),
                    now,
                    result,
                },
            );
        };
        signals(&mut s, 62_000, 2.0);
        assert_eq!(said(&s), 1);
        // A poll that matches, then off again: no flapping either way.
        signals(&mut s, 63_000, 20.0);
        signals(&mut s, 64_000, 2.0);
        signals(&mut s, 65_000, 20.0);
        assert_eq!(said(&s), 1);
        assert!(!s.last_event().contains("matches the set share again"));
        signals(&mut s, 76_000, 20.0);
        assert!(!s.observed_mismatch());
        assert!(s.last_event().contains("matches the set share again"));
    }

    /// A poll that answered but could not read a query: said once with which and why, on
    /// the live pane's warning line too; a clean poll after it says so.
    #[test]
    fn a_query_that_cannot_be_read_is_said_with_its_reason() {
        let mut s = state(10);
        let poll = |er: crate::core::Reading| crate::signals::EnvPoll {
            error_rate: Some(er),
            ..Default::default()
        };
        let bad = crate::core::Reading::Error("bad_data: parse error".into());
        for now in [1_000u64, 2_000] {
            let result = Ok(Box::new(EnvPair::new(
                poll(crate::core::Reading::Value(0.0)),
                poll(bad.clone()),
            )));
            update(
                &mut s,
                Event::Signals {
                    source: "prometheus p".into(),
                    now,
                    result,
                },
            );
        }
        let said = |s: &State, what: &str| {
            s.view
                .events
                .iter()
                .filter(|e| e.text.contains(what))
                .count()
        };
        assert_eq!(
            said(
                &s,
                "prometheus p: could not read green error-rate: bad_data: parse error"
            ),
            1
        );
        assert_eq!(s.source_errors.len(), 1);
        let result = Ok(Box::new(EnvPair::new(
            poll(crate::core::Reading::Value(0.0)),
            poll(crate::core::Reading::Value(0.0)),
        )));
        update(
            &mut s,
            Event::Signals {
                source: "prometheus p".into(),
                now: 3_000,
                result,
            },
        );
        assert!(s.source_errors.is_empty());
        assert_eq!(said(&s, "prometheus p answers again"), 1);
    }
}
