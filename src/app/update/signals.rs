//! Signal polls and smoke results: the samples land in `State::signals`, a source that
//! stops answering is said once (and again when it answers), and a lasting gap between the
//! observed and the set share is reported.

use super::Effect;
use super::writes::command;
use crate::app::state::{Level, SmokeState, State};
use crate::core::{EnvPair, Millis};
use crate::shared::SignalError;
use crate::signals::{EnvPoll, SmokeReport};

/// Says once when the observed share stops matching the set share, and once when it
/// matches again.
pub(super) fn report_mismatch(s: &mut State) {
    let off = s.observed_mismatch();
    if off == s.traffic.mismatch_reported {
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

/// A signal source's poll: its samples, or why it did not answer.
pub(super) fn on_signals(
    s: &mut State,
    source: String,
    now: Millis,
    result: Result<Box<EnvPair<EnvPoll>>, SignalError>,
) {
    match result {
        Ok(pair) => {
            let EnvPair { blue, green } = *pair;
            let interval = s.settings.poll_interval;
            blue.apply_to(&mut s.signals.blue, now, interval);
            green.apply_to(&mut s.signals.green, now, interval);
            if let Some(pos) = s
                .source_errors
                .iter()
                .position(|(src, _, _)| *src == source)
            {
                s.source_errors.remove(pos);
                s.log(Level::Good, format!("{source} answers again"));
            }
        }
        Err(e) => {
            let e = e.to_string();
            match s
                .source_errors
                .iter_mut()
                .find(|(src, _, _)| *src == source)
            {
                Some(entry) => entry.1 = e,
                None => {
                    s.log(Level::Error, format!("{source}: {e}"));
                    s.source_errors.push((source, e, now));
                }
            }
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
        for now in [5_000u64, 31_000, 32_000, 33_000] {
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
        let said = |s: &State| {
            s.view
                .events
                .iter()
                .filter(|e| e.text.contains("sticky sessions"))
                .count()
        };
        assert_eq!(said(&s), 1);
        let result = Ok(Box::new(EnvPair::new(poll(180.0), poll(20.0))));
        update(
            &mut s,
            Event::Signals {
                source: "t".into(),
                now: 34_000,
                result,
            },
        );
        assert!(!s.observed_mismatch());
        assert!(s.last_event().contains("matches the set share again"));
    }
}
