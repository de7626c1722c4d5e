//! The pre-flight of the first step away from 0 %: smoke checks first (the step waits for
//! them, other forward keys are refused meanwhile), then the checklist; a failed item turns
//! the step into a confirm that is a journaled override.

use super::Effect;
use crate::app::journal::WriteAction;
use crate::app::keymap::Action;
use crate::app::state::{Level, SmokeState, State};
use crate::core::{Command, ConfirmReason, Decision};

/// `decision` for `cmd` as the pre-flight lets it through: unchanged after the first step,
/// a confirm naming the pre-flight when an item fails, or `Err` with the effects that
/// start the smoke checks the step now waits for.
pub(super) fn preflight(
    s: &mut State,
    cmd: Command,
    name: WriteAction,
    decision: Decision,
) -> Result<Decision, Vec<Effect>> {
    let first = s.cutover.base() == Some(0);
    let target = match &decision {
        Decision::Apply {
            share,
            rollback: false,
        }
        | Decision::Confirm { share, .. } => Some(*share),
        _ => None,
    };
    if !first || target.is_none_or(|t| t == 0) {
        return Ok(decision);
    }
    let cand = s.candidate();
    let smoked = matches!(
        &s.smoke,
        Some(SmokeState::Done { env, at, .. }) if *env == cand && s.smoke_counts(*at)
    );
    if s.settings.smoke_available && !smoked {
        s.preflight_pending = Some((cmd, name));
        if matches!(s.smoke, Some(SmokeState::Running { .. })) {
            return Err(Vec::new());
        }
        s.smoke = Some(SmokeState::Running {
            env: cand,
            since: s.now,
        });
        s.log(
            Level::Info,
            format!("pre-flight: smoke checks against {cand} before the first step …"),
        );
        return Err(vec![Effect::Smoke(cand)]);
    }
    if s.preflight_failures().is_empty() {
        return Ok(decision);
    }
    Ok(decision.asking_first(ConfirmReason::Preflight))
}

/// A step waits for its pre-flight smoke: other forward keys are refused, said so, never
/// queued behind it or turned into something else. True when `cmd` was refused so.
pub(super) fn waits_for_preflight(s: &mut State, cmd: Command) -> bool {
    let Some((pending, pname)) = &s.preflight_pending else {
        return false;
    };
    if !matches!(s.smoke, Some(SmokeState::Running { .. })) || cmd == Command::TogglePause {
        return false;
    }
    let text = if *pending == cmd {
        format!("{pname} already waits for the pre-flight smoke checks")
    } else {
        format!(
            "pre-flight smoke running: {pname} waits for its result; this key is ignored ({} pauses and cancels the step, {} rolls back)",
            s.key(Action::Pause),
            s.key(Action::Rollback)
        )
    };
    s.log(Level::Warn, text);
    true
}
