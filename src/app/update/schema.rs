//! The schema guard in the cockpit: the migration history as read, the rollback line's
//! verdict said once per change (events, journal, webhooks), and the auto-rollback that
//! asks a human instead of writing when the schema makes a rollback unsafe.

use super::Effect;
use crate::app::journal::Phase;
use crate::app::keymap::Action;
use crate::app::state::{Level, Role, State};
use crate::core::EnvPair;
use crate::core::schema::{Safety, SchemaRead};
use crate::signals::schema::MaxRead;

pub(super) fn on_schema(
    s: &mut State,
    now: crate::core::Millis,
    read: Result<SchemaRead, String>,
    max: EnvPair<MaxRead>,
) -> Vec<Effect> {
    super::advance(s, now);
    s.schema.read = Some(read);
    s.schema.read_at = Some(s.now);
    // An env's schema-max read from its health answer is a fact of its build: a health
    // that stops answering does not unsay it.
    for e in crate::core::Env::ALL {
        let new = max.get(e).clone();
        let keep = matches!(new, Some(Err(_))) && matches!(s.schema.max.get(e), Some(Ok(_)));
        if !keep {
            *s.schema.max.get_mut(e) = new;
        }
    }
    if let Some(j) = s.rollback_safety_now()
        && j.safety.state() == "unsafe"
        && j.began_at.is_some()
    {
        s.schema.unsafe_seen = Some(j);
    }
    Vec::new()
}

/// Says the rollback safety when it changed: an event line, a journal note (the driver
/// only, and not for the first `safe`), a webhook when it turned unsafe.
pub(super) fn say_safety(s: &mut State) -> Vec<Effect> {
    let Some(j) = s.rollback_safety() else {
        return Vec::new();
    };
    let target = s.live();
    let version = s.signals.get(target).version.clone();
    let words = j.words(version.as_deref(), &|t| s.hhmm(t));
    let state = j.safety.state();
    let before = s.schema.said.as_ref().map(|(st, _)| *st);
    if s.schema
        .said
        .as_ref()
        .is_some_and(|(st, w)| *st == state && *w == words)
    {
        return Vec::new();
    }
    // Before the first read nothing is said: "not read yet" is the screen's, not news.
    if s.schema.read.is_none() {
        return Vec::new();
    }
    s.schema.said = Some((state, words.clone()));
    let level = match j.safety {
        Safety::Unsafe { .. } => Level::Error,
        Safety::Unknown { .. } => Level::Warn,
        Safety::Safe { .. } => Level::Info,
    };
    s.log(level, format!("rollback safety: {words}"));
    let mut effects = Vec::new();
    let news = state != "safe" || before.is_some_and(|b| b != "safe");
    if s.lease.role == Role::Driver && news {
        effects.push(Effect::JournalNote {
            phase: Phase::RollbackSafety,
            reason: format!("{state}: {words}"),
        });
    }
    if state == "unsafe" {
        effects.push(Effect::Notify {
            event: "rollback-unsafe".into(),
            text: format!("{}: {words}", s.settings.name),
        });
    }
    effects
}

/// An auto-rollback whose time came: `Some` (what to do instead of writing) when the schema
/// makes the rollback unsafe. It is said once per breach; the operator's `r` still rolls
/// back at once. An unknown schema does not hold it: a store that does not answer never
/// keeps traffic on a failing release.
pub(super) fn hold_auto_rollback(s: &mut State) -> Option<Vec<Effect>> {
    let j = s.rollback_safety()?;
    if !matches!(j.safety, Safety::Unsafe { .. }) {
        return None;
    }
    if s.window.auto.held {
        return Some(Vec::new());
    }
    s.window.auto.held = true;
    let target = s.live();
    let version = s.signals.get(target).version.clone();
    let words = j.words(version.as_deref(), &|t| s.hhmm(t));
    let text = format!(
        "AUTO-ROLLBACK HELD: the candidate breaches, but {words} — a human decides: {} rolls back anyway",
        s.key(Action::Rollback)
    );
    s.log(Level::Error, text.clone());
    Some(vec![
        Effect::JournalNote {
            phase: Phase::AutoRollbackHeld,
            reason: words,
        },
        Effect::Notify {
            event: "auto-rollback-held".into(),
            text: format!("{}: {text}", s.settings.name),
        },
    ])
}

#[cfg(test)]
mod tests {
    use crate::app::journal::{Phase, WriteAction};
    use crate::app::update::testkit::*;
    use crate::app::update::{Effect, Event, update};
    use crate::core::EnvPair;
    use crate::core::schema::{Migration, SchemaRead};

    fn history(drop: bool) -> SchemaRead {
        let m = |rank: i64, d: &str| Migration {
            rank: Some(rank),
            version: (41 + rank).to_string(),
            description: Some(d.into()),
            script: None,
            applied_at: Some(1_000 * rank),
            failed: false,
        };
        let mut ms = vec![m(1, "create orders")];
        if drop {
            ms.push(m(2, "drop column orders total"));
        }
        SchemaRead {
            migrations: ms,
            tool: "flyway".into(),
        }
    }

    fn guarded(share: u8) -> crate::app::State {
        let mut s = state(share);
        s.schema.contract =
            Some(regex::Regex::new(crate::signals::schema::DEFAULT_CONTRACT).unwrap());
        s.schema.stale_ms = 60_000;
        s.schema.started = Some((Some("1".into()), 0));
        s.settings.auto_rollback_ms = Some(10_000);
        s
    }

    fn read(s: &mut crate::app::State, now: u64, r: Result<SchemaRead, String>) -> Vec<Effect> {
        update(
            s,
            Event::Schema {
                now,
                read: r,
                max: EnvPair::default(),
            },
        )
    }

    #[test]
    fn an_unsafe_schema_holds_the_auto_rollback_but_an_unknown_one_does_not() {
        let mut s = guarded(50);
        let e = read(&mut s, 500, Ok(history(true)));
        assert!(
            e.iter().any(|e| matches!(e, Effect::JournalNote { phase: Phase::RollbackSafety, reason } if reason.starts_with("unsafe: ROLLBACK MAY BREAK BLUE: V43"))),
            "{e:?}"
        );
        green_errors(&mut s, 1_000, 0.05);
        let e = green_errors(&mut s, 11_000, 0.05);
        assert!(
            e.iter().all(|e| !matches!(e, Effect::Write(_))),
            "no write: {e:?}"
        );
        assert!(
            e.iter().any(|e| matches!(
                e,
                Effect::JournalNote {
                    phase: Phase::AutoRollbackHeld,
                    ..
                }
            )),
            "{e:?}"
        );
        assert!(s.window.auto.held);
        assert!(green_errors(&mut s, 12_000, 0.05).is_empty(), "said once");
        // `r` is never held.
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), vec![(0, true)]);

        // The database stops answering: unknown, never safe, and an auto-rollback fires
        // (a store that does not answer never keeps traffic on a failing release).
        let mut s = guarded(50);
        let e = read(
            &mut s,
            500,
            Err("cannot connect: connection refused".into()),
        );
        assert!(
            e.iter().any(|e| matches!(e, Effect::JournalNote { phase: Phase::RollbackSafety, reason } if reason.starts_with("unknown: schema UNKNOWN"))),
            "{e:?}"
        );
        green_errors(&mut s, 1_000, 0.05);
        let e = green_errors(&mut s, 11_000, 0.05);
        assert!(
            e.iter()
                .any(|e| matches!(e, Effect::Write(o) if o.action == WriteAction::AutoRollback)),
            "{e:?}"
        );
    }

    #[test]
    fn a_safe_schema_is_not_journaled_until_it_changes_and_a_stale_read_is_unknown() {
        let mut s = guarded(50);
        let e = read(&mut s, 500, Ok(history(false)));
        assert!(
            !e.iter().any(|e| matches!(e, Effect::JournalNote { .. })),
            "the first safe is no news: {e:?}"
        );
        assert!(s.said("rollback safety: schema V42 (unchanged since the cutover began)"));
        assert!(
            read(&mut s, 1_500, Ok(history(false))).is_empty(),
            "said once"
        );
        // No read for longer than the stale limit: unknown.
        let j = {
            s.now = 100_000;
            s.rollback_safety().unwrap()
        };
        assert_eq!(j.safety.state(), "unknown");
        // The write that begins a cutover carries the baseline.
        let mut s = guarded(0);
        s.schema.started = None;
        read(&mut s, 500, Ok(history(true)));
        let o = s.order(10, false, WriteAction::Step, "tui");
        assert_eq!(o.schema.as_deref(), Some("2_43"));
        assert_eq!(
            s.schema.started.as_ref().map(|(b, _)| b.clone()),
            Some(Some("2_43".into()))
        );
    }

    #[test]
    fn nothing_is_called_safe_without_a_rollback_target_or_a_start_to_judge_from() {
        // Live unknown: no target to judge.
        let mut s = guarded(50);
        s.traffic.live_known = false;
        read(&mut s, 500, Ok(history(false)));
        let j = s.rollback_safety().unwrap();
        assert_eq!(j.safety.state(), "unknown");
        // The candidate serves, but nothing says when the cutover began (no record, not
        // this cockpit's step): what was applied since cannot be told.
        let mut s = guarded(50);
        s.schema.started = None;
        read(&mut s, 500, Ok(history(false)));
        let j = s.rollback_safety().unwrap();
        assert_eq!(j.safety.state(), "unknown", "{j:?}");
        // At 0 % nothing is under way: the schema as it is.
        let mut s = guarded(0);
        s.schema.started = None;
        read(&mut s, 500, Ok(history(true)));
        assert_eq!(s.rollback_safety().unwrap().safety.state(), "safe");
    }

    #[test]
    fn an_unsafe_schema_stays_unsafe_when_the_database_stops_answering_or_the_row_is_deleted() {
        let mut s = guarded(50);
        read(&mut s, 500, Ok(history(true)));
        green_errors(&mut s, 1_000, 0.05);
        // The database stops answering: the danger seen is not made unknown.
        read(&mut s, 2_000, Err("cannot connect".into()));
        let j = s.rollback_safety().unwrap();
        assert_eq!(j.safety.state(), "unsafe");
        assert!(
            j.words(None, &|_| "t".into())
                .contains("now unknown: the database did not answer")
        );
        let e = green_errors(&mut s, 11_000, 0.05);
        assert!(
            e.iter().all(|e| !matches!(e, Effect::Write(_))),
            "still held: {e:?}"
        );
        // The contract row deleted from the history: its change is not undone.
        read(&mut s, 12_000, Ok(history(false)));
        let j = s.rollback_safety().unwrap();
        assert_eq!(j.safety.state(), "unsafe");
        assert!(
            j.words(None, &|_| "t".into())
                .contains("the history no longer shows it")
        );
        // A new cutover (another start) is judged afresh.
        s.schema.started = Some((Some("1".into()), 99));
        assert_eq!(s.rollback_safety().unwrap().safety.state(), "safe");
    }

    /// A cockpit whose blue `schema-max` (from its health) could not be read.
    fn blue_max_unread(h: SchemaRead) -> crate::app::State {
        let mut s = guarded(50);
        s.schema.max_configured = EnvPair::new(true, false);
        update(
            &mut s,
            Event::Schema {
                now: 500,
                read: Ok(h),
                max: EnvPair::new(Some(Err("its health did not answer".into())), None),
            },
        );
        s
    }

    #[test]
    fn a_schema_max_that_cannot_be_read_does_not_hide_a_contract_migration() {
        // A fresh cockpit (nothing kept from before): blue's health is down, so its
        // schema-max cannot be read, and a contract migration came after the baseline.
        let mut s = blue_max_unread(history(true));
        let j = s.rollback_safety().unwrap();
        assert_eq!(j.safety.state(), "unsafe", "{j:?}");
        green_errors(&mut s, 1_000, 0.05);
        let e = green_errors(&mut s, 11_000, 0.05);
        assert!(
            e.iter().all(|e| !matches!(e, Effect::Write(_))),
            "held: {e:?}"
        );
        // Without the contract migration the unread schema-max is unknown, not safe.
        let s = blue_max_unread(history(false));
        assert_eq!(s.rollback_safety().unwrap().safety.state(), "unknown");
    }
}
