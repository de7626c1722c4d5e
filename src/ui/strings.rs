//! User-visible words of the screen, in one place.

use crate::app::keymap::{Action, KeyCode, Keymap};

pub const TOO_SMALL: &str = "terminal too small";
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
pub const NO_DATA: &str = "no data";
pub const UNKNOWN: &str = "—";
pub const WINDOW_NOT_STARTED: &str = "rollback window: starts at 100 %";

/// An action's keys for a dialog line, "n/Esc": upper-case twins left out.
pub fn keys_shown(keymap: &Keymap, action: Action) -> String {
    keymap
        .keys(action)
        .iter()
        .filter(|k| !matches!(k.code, KeyCode::Char(c) if c.is_ascii_uppercase()))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// The help's last line, naming the rollback key as bound.
pub fn help_footer(keymap: &Keymap) -> String {
    format!(
        "any key closes · {} rolls back from anywhere",
        keymap.first(Action::Rollback)
    )
}

/// A dialog's keys, as bound: "y confirm   n/Esc cancel", then "   r ROLLBACK" unless
/// there is nothing to roll back.
pub fn confirm_keys(keymap: &Keymap, rollback: bool) -> String {
    let mut text = format!(
        "{} confirm   {} cancel",
        keymap.first(Action::Confirm),
        keys_shown(keymap, Action::Cancel)
    );
    if rollback {
        text.push_str(&format!("   {} ROLLBACK", keymap.first(Action::Rollback)));
    }
    text
}

/// What an action does, for the help overlay.
pub fn describe(a: Action) -> String {
    match a {
        Action::StepForward => {
            "step forward to the next share in the plan (confirm at 100 %)".into()
        }
        Action::StepBack => "step back to the previous share".into(),
        Action::Jump(p) => format!("set the candidate's share to {p} % (asks to confirm)"),
        Action::Rollback => "ROLLBACK: all traffic to live now, one call, no confirm".into(),
        Action::Pause => "pause / resume: forward steps refused while paused".into(),
        Action::Smoke => "run smoke checks against the candidate".into(),
        Action::ExtendWindow => "extend the running rollback window".into(),
        Action::TakeOver => "take the driver lease from whoever drives (asks to confirm)".into(),
        Action::Approve => "answer another person's request for approval".into(),
        Action::CancelAuto => "cancel the auto-rollback countdown (until the breach recurs)".into(),
        Action::Help => "this help".into(),
        Action::Log => "the diagnostic log: backend calls, polls, writes, timings".into(),
        Action::Quit => "quit (never changes traffic)".into(),
        Action::CompleteWindow => "complete a HELD rollback window anyway (journaled)".into(),
        Action::Confirm => "in a dialog: yes".into(),
        Action::Cancel => "in a dialog: no (any unbound key cancels too)".into(),
        Action::PickBlue => "asked where all traffic goes: blue".into(),
        Action::PickGreen => "asked where all traffic goes: green".into(),
    }
}

pub fn describe_jumps() -> String {
    "set the candidate's share to 10 … 90 % (asks to confirm)".into()
}

/// Short label for the key bar; `None` keeps the action off the bar.
pub fn keybar_label(a: Action) -> Option<&'static str> {
    match a {
        Action::StepForward => Some("step"),
        Action::StepBack => Some("back"),
        Action::Pause => Some("pause"),
        Action::Rollback => Some("ROLLBACK"),
        Action::Smoke => Some("smoke"),
        Action::Help => Some("help"),
        Action::Quit => Some("quit"),
        _ => None,
    }
}
