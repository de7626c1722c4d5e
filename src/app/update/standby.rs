//! The standby proven while it waits: while the candidate serves, the smoke checks run
//! against the rollback target every `standby-check-interval` and at once after a schema
//! change, so that "test the rollback path, not just the deploy" is something on screen.

use super::Effect;
use crate::app::state::{Level, StandbyRun, State};
use crate::core::SmokeReport;

/// The newest migration as last read, for noticing a schema change.
fn schema_head(s: &State) -> Option<String> {
    match &s.schema.read {
        Some(Ok(r)) => r.head().map(crate::core::schema::Migration::label),
        _ => None,
    }
}

/// Starts a run against the standby when one is due.
pub(super) fn standby_due(s: &mut State) -> Vec<Effect> {
    let Some(interval) = s.standby.interval_ms else {
        return Vec::new();
    };
    if !s.standby_waits() || s.standby.running.is_some() {
        return Vec::new();
    }
    let env = s.live();
    let head = schema_head(s);
    let due = match &s.standby.last {
        None => true,
        Some(l) => {
            l.env != env
                || s.now.saturating_sub(l.at) >= interval
                || (head.is_some() && head != s.standby.schema_head)
        }
    };
    if !due {
        return Vec::new();
    }
    s.standby.running = Some((env, s.now));
    s.standby.schema_head = head;
    vec![Effect::Smoke(env)]
}

/// A smoke report for the standby's run: `true` when it was one (said on a change only).
pub(super) fn on_standby_done(s: &mut State, now: crate::core::Millis, r: &SmokeReport) -> bool {
    if s.standby.running.is_none_or(|(env, _)| env != r.env) {
        return false;
    }
    s.standby.running = None;
    let before = s.standby.last.as_ref().map(|l| (l.env, l.passed));
    s.standby.last = Some(StandbyRun {
        env: r.env,
        passed: r.passed,
        summary: r.summary.clone(),
        at: now,
    });
    if before != Some((r.env, r.passed)) {
        if r.passed {
            s.log(
                Level::Good,
                format!("standby {}: its smoke checks pass: {}", r.env, r.summary),
            );
        } else {
            s.log(
                Level::Warn,
                format!(
                    "standby {}: its smoke checks FAIL: {} — a rollback now sends traffic to it",
                    r.env, r.summary
                ),
            );
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::app::update::testkit::*;
    use crate::app::update::{Effect, Event, update};
    use crate::core::{Env, SmokeReport};

    fn tick(s: &mut crate::app::State, now: u64) -> Vec<Effect> {
        update(s, Event::Tick { now })
    }

    #[test]
    fn the_standby_is_smoked_every_interval_while_the_candidate_serves() {
        let mut s = state(0);
        s.standby.interval_ms = Some(60_000);
        assert!(tick(&mut s, 1_000).is_empty(), "nothing waits at 0 %");
        let mut s = state(10);
        s.standby.interval_ms = Some(60_000);
        assert_eq!(tick(&mut s, 1_000), vec![Effect::Smoke(Env::Blue)]);
        assert!(tick(&mut s, 2_000).is_empty(), "one run at a time");
        let done = |s: &mut crate::app::State, now, passed| {
            update(
                s,
                Event::SmokeDone {
                    now,
                    report: SmokeReport {
                        env: Env::Blue,
                        passed,
                        summary: if passed {
                            "50/50 ok"
                        } else {
                            "connection refused"
                        }
                        .into(),
                    },
                },
            )
        };
        done(&mut s, 3_000, false);
        assert!(s.said("standby blue: its smoke checks FAIL: connection refused"));
        assert!(
            s.smoke.is_none(),
            "the candidate's smoke state is not the standby's"
        );
        assert!(tick(&mut s, 30_000).is_empty());
        assert_eq!(tick(&mut s, 63_000), vec![Effect::Smoke(Env::Blue)]);
        done(&mut s, 64_000, true);
        assert!(s.said("standby blue: its smoke checks pass"));
        // A new migration: at once.
        s.schema.read = Some(Ok(crate::core::schema::SchemaRead {
            migrations: vec![crate::core::schema::Migration {
                rank: Some(1),
                version: "43".into(),
                description: None,
                script: None,
                applied_at: None,
                failed: false,
            }],
            tool: "flyway".into(),
        }));
        assert_eq!(tick(&mut s, 65_000), vec![Effect::Smoke(Env::Blue)]);
    }
}
