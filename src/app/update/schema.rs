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
    s.schema.max = max;
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
