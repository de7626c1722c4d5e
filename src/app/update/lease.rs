//! Who drives: the driver lease as the lease task read it, and why a cutover that does not
//! drive does nothing on a write key.

use super::Effect;
use crate::app::journal::Phase;
use crate::app::keymap::Action;
use crate::app::state::{Level, Role, State};

pub(super) fn on_lease(
    s: &mut State,
    role: Role,
    holder: Option<crate::core::Lease>,
    took_over: Option<crate::core::Lease>,
    error: Option<String>,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Some(e) = error {
        // Fail closed: no lease seen held, no forward write. Rollback still works.
        if s.lease.lease_error.as_deref() != Some(e.as_str()) {
            s.log(
                Level::Error,
                format!(
                    "driver lease: {e}: forward steps refused until the lease store answers; {} still rolls back",
                    s.key(Action::Rollback)
                ),
            );
        }
        s.lease.lease_error = Some(e);
        // Nobody can be said to drive while the store answers nothing or nonsense.
        s.lease.holder = None;
        if s.lease.role == Role::Driver {
            s.lease.role = Role::Observer;
            s.view.confirm = None;
            effects.extend(super::approval::withdraw(s));
        }
        return effects;
    }
    if s.lease.lease_error.take().is_some() {
        s.log(Level::Good, "driver lease store answers again");
    }
    let was = s.lease.role;
    s.lease.role = role;
    match (was, role) {
        (Role::Observer, Role::Driver) => {
            let reason = match &took_over {
                Some(l) => format!(
                    "{} took over the driver lease from {} (driving since {})",
                    s.settings.driver,
                    l.holder,
                    s.hhmm(l.since)
                ),
                None => format!(
                    "{} drives now: the driver lease was free",
                    s.settings.driver
                ),
            };
            s.log(Level::Warn, reason.clone());
            effects.push(Effect::JournalNote {
                phase: Phase::TakeOver,
                reason,
            });
        }
        (Role::Driver, Role::Observer) => {
            let who = holder
                .as_ref()
                .map_or_else(|| "someone".to_string(), |l| l.holder.clone());
            s.log(
                Level::Warn,
                format!("{who} took over the driver lease: this cutover now observes"),
            );
            // Nothing of ours is still to be written, nor asked for.
            s.view.confirm = None;
            effects.extend(super::approval::withdraw(s));
        }
        _ => {}
    }
    s.lease.holder = holder;
    effects
}

/// Why this cutover does not write, or `None` when it drives.
pub fn not_driving(s: &State) -> Option<String> {
    match s.lease.role {
        Role::Driver => None,
        Role::ReadOnly => {
            Some("read-only: this cutover never writes (started with --read-only)".to_string())
        }
        Role::Observer => Some(match &s.lease.holder {
            Some(l) => format!(
                "observing: {} drives since {} (lease at {}); {} takes over",
                l.holder,
                s.hhmm(l.since),
                s.settings.lease_place,
                s.key(Action::TakeOver)
            ),
            None if s.lease.lease_error.is_some() => format!(
                "no driver lease ({}): forward steps refused; {} still rolls back",
                s.lease.lease_error.as_deref().unwrap_or(""),
                s.key(Action::Rollback)
            ),
            None => format!(
                "nobody drives: {} to drive ({} still rolls back)",
                s.key(Action::TakeOver),
                s.key(Action::Rollback)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;

    #[test]
    #[allow(clippy::too_many_lines)] // one scenario, told from start to end
    fn an_observer_explains_writes_away_sees_the_drivers_and_can_take_over() {
        let bob = crate::core::Lease::new("bob@h", "tok", 0, 15_000);
        let lease = |s: &mut State, role, holder, took_over| {
            let now = s.now + 1;
            update(
                s,
                Event::Lease {
                    now,
                    role,
                    holder,
                    took_over,
                    error: None,
                },
            )
        };
        let mut s = state(10);
        s.settings.driver = "alice@h".into();
        let e = lease(&mut s, Role::Observer, Some(bob.clone()), None);
        assert!(e.is_empty());
        assert!(s.last_event().contains("bob@h took over"));
        for c in [KeyCode::Right, KeyCode::Left, KeyCode::Char('5')] {
            assert!(key(&mut s, c).is_empty(), "{c:?} writes nothing");
            let t = &s.last_event();
            assert!(t.contains("observing: bob@h drives since"), "{t}");
        }
        // …but an observer rolls back at once, named with the driver.
        let e = key(&mut s, KeyCode::Char('r'));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert!(o.rollback && o.share == 0 && o.live == Env::Blue);
        assert_eq!(o.driver.as_deref(), Some("bob@h"));
        assert!(s.said("alice@h rolls back while bob@h drives"));
        let (id, t0) = (o.id, s.now);
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: t0 + 1,
                result: WriteResult::Verified {
                    after: Weights::new(100, 0),
                    elapsed_ms: 1,
                },
                journal_error: None,
                record_error: None,
                settling: false,
                tail: None,
            },
        );
        update(
            &mut s,
            Event::BackendRead {
                started: t0 + 2,
                now: t0 + 2,
                result: Ok(Weights::new(90, 10)),
            },
        );
        // The driver's step lands: seen, named from the record, not journaled as external.
        let t = s.now + 1;
        let rec = crate::core::Record::new(Env::Blue, "bob@h", s.wall_ms(0)).with_flight(
            "1-7",
            50,
            "bob@h",
            "step",
            s.wall_ms(t),
        );
        update(
            &mut s,
            Event::RecordRead {
                now: t,
                result: Ok(Some(rec)),
            },
        );
        let e = update(
            &mut s,
            Event::BackendRead {
                started: t,
                now: t,
                result: Ok(Weights::new(50, 50)),
            },
        );
        assert!(e.is_empty(), "{e:?}");
        assert!(
            s.last_event()
                .starts_with("bob@h made a step: green 10 → 50 %")
        );
        // Take over: a confirm, then the effect; the result is journaled.
        assert!(key(&mut s, KeyCode::Char('T')).is_empty());
        assert!(s.view.takeover_confirm);
        assert_eq!(key(&mut s, KeyCode::Char('y')), vec![Effect::TakeOver]);
        let e = lease(&mut s, Role::Driver, None, Some(bob));
        assert!(matches!(
            e.as_slice(),
            [Effect::JournalNote { phase, reason }] if *phase == Phase::TakeOver && reason.contains("from bob@h")
        ));
        assert!(matches!(
            key(&mut s, KeyCode::Char('r')).as_slice(),
            [Effect::Write(_)]
        ));
        // Read-only never writes, whatever the keys.
        s.lease.role = Role::ReadOnly;
        assert!(key(&mut s, KeyCode::Char('r')).is_empty());
        assert!(key(&mut s, KeyCode::Char('T')).is_empty());
        assert!(!s.view.takeover_confirm);
        assert!(s.last_event().contains("read-only"));
    }

    #[test]
    fn failures_stay_on_screen_and_the_lease_store_down_refuses_forward_only() {
        let mut s = state(50);
        let e = key(&mut s, KeyCode::Char('r'));
        let id = only_write(&e);
        update(
            &mut s,
            Event::WriteDone {
                id,
                now: 100,
                result: WriteResult::Failed {
                    error: "HTTP 500".into(),
                    after: Some(Weights::new(50, 50)),
                },
                journal_error: Some("journal j.jsonl: No space left on device".into()),
                record_error: None,
                settling: false,
                tail: None,
            },
        );
        let b = s.writes.failed.clone().unwrap();
        assert!(b.rollback);
        assert!(
            b.text.starts_with("ROLLBACK FAILED")
                && b.text
                    .contains("— r retries — traffic still blue 50 / green 50 (read back)"),
            "{}",
            b.text
        );
        assert!(
            s.writes
                .not_journaled
                .as_deref()
                .unwrap()
                .contains("NOT JOURNALED")
        );
        // Many events later, still there.
        for i in 0..300 {
            s.log(Level::Info, format!("noise {i}"));
        }
        assert!(s.writes.failed.is_some());
        // The lease store stops answering: forward refused, rollback still goes.
        update(
            &mut s,
            Event::Lease {
                now: 200,
                role: Role::Driver,
                holder: None,
                took_over: None,
                error: Some("no answer within 1.0 s".into()),
            },
        );
        assert_eq!(s.lease.role, Role::Observer);
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(s.last_event().contains("no driver lease"));
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), vec![(0, true)]);
        assert!(
            s.said("who drives is unknown") && !s.said("while nobody drives"),
            "a store that does not answer says nothing of who drives"
        );
        done(&mut s, &e, 0);
        assert!(
            s.writes.failed.is_none(),
            "a write that succeeded clears the banner"
        );
        assert!(s.writes.not_journaled.is_some(), "not journaled stays");
    }
}
