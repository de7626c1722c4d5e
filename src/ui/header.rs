//! The outer frame: header (name, backend, driver, clock) and key bar.

use super::strings::keybar_label;
use super::theme::Theme;
use crate::app::state::State;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

pub fn block<'a>(state: &State, theme: &Theme, width: u16) -> Block<'a> {
    let mut left = vec![
        Span::styled(" cutover", theme.title),
        Span::styled(" · ", theme.border),
        Span::styled(state.settings.name.clone(), theme.title),
        Span::styled(" · ", theme.border),
        Span::styled(
            format!(
                "{} {}",
                state.settings.backend_kind, state.settings.backend_target
            ),
            theme.text,
        ),
        Span::styled(" · ", theme.border),
        match state.lease.role {
            crate::app::state::Role::Driver => {
                Span::styled(format!("driving: {} ", state.settings.driver), theme.text)
            }
            role => {
                let what = if role == crate::app::state::Role::ReadOnly {
                    "READ-ONLY"
                } else {
                    "OBSERVING"
                };
                let who = match (&state.lease.holder, &state.lease.lease_error) {
                    (Some(l), _) => format!(
                        "{} drives since {}",
                        crate::shared::printable(&l.holder),
                        state.hhmm(l.since)
                    ),
                    (None, Some(_)) if role != crate::app::state::Role::ReadOnly => {
                        "NO LEASE: store unavailable".to_string()
                    }
                    (None, _) if role == crate::app::state::Role::ReadOnly => {
                        "no driver".to_string()
                    }
                    (None, _) => format!(
                        "nobody drives: {} to drive",
                        state.key(crate::app::keymap::Action::TakeOver)
                    ),
                };
                Span::styled(format!("{what} · {who} "), theme.warn)
            }
        },
    ];
    // Narrow terminals lose the product name, then the backend's target, never the driver.
    let room = usize::from(width).saturating_sub(14);
    let len = |v: &[Span]| v.iter().map(Span::width).sum::<usize>();
    if len(&left) > room {
        left.drain(0..2);
        left[0] = Span::styled(format!(" {}", state.settings.name), theme.title);
    }
    if len(&left) > room {
        left[2] = Span::styled(state.settings.backend_kind.clone(), theme.text);
    }
    let left = Line::from(left);
    let clock = state.wall(state.now).format("%H:%M:%S").to_string();
    let right = Line::from(Span::styled(format!(" {clock} "), theme.title)).right_aligned();
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title_top(left)
        .title_top(right)
        .title_bottom(keybar(state, theme))
}

/// The key bar, generated from the keymap.
pub fn keybar<'a>(state: &State, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::raw(" ")];
    for (action, keys) in state.settings.keymap.bindings() {
        use crate::app::keymap::Action;
        use crate::app::state::Role;
        // An observer is shown how to drive instead of keys that would only say why not; a
        // read-only cockpit, which never writes, no write keys at all.
        let observing = state.lease.role == Role::Observer;
        let read_only = state.lease.role == Role::ReadOnly;
        let label = match action {
            Action::TakeOver if observing => Some("take over"),
            Action::StepForward | Action::StepBack if observing || read_only => None,
            Action::Pause | Action::Rollback if read_only => None,
            a => keybar_label(*a),
        };
        let (Some(label), Some(key)) = (label, keys.first()) else {
            continue;
        };
        let label_style = if *action == Action::Rollback {
            theme.rollback
        } else {
            theme.text
        };
        spans.push(Span::styled(key.to_string(), theme.key));
        spans.push(Span::styled(format!(" {label}  "), label_style));
    }
    Line::from(spans)
}
