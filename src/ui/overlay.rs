//! Popups: help (generated from the keymap), confirm, and the diagnostic log.

use super::strings::{HELP_FOOTER, confirm_keys, describe, describe_jumps};
use super::theme::Theme;
use crate::app::keymap::Action;
use crate::app::state::State;
use crate::app::words::reason_text;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

fn popup<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.title)
        .title(Span::styled(format!(" {title} "), theme.title))
        .style(theme.popup)
}

pub fn render_help(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut lines = Vec::new();
    let jumps: Vec<String> = state
        .keymap
        .bindings()
        .iter()
        .filter(|(a, _)| matches!(a, Action::Jump(_)))
        .filter_map(|(_, ks)| ks.first().map(std::string::ToString::to_string))
        .collect();
    for (action, keys) in state.keymap.bindings() {
        if let Action::Jump(p) = action {
            // One line for the digits when they are the default run 1…9.
            if jumps.len() == 9
                && jumps.iter().all(|k| k.len() == 1)
                && jumps.concat() == "123456789"
            {
                if *p == 10 {
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {:<14}", "1 … 9"), theme.key),
                        Span::styled(describe_jumps(), theme.text),
                    ]));
                }
                continue;
            }
        }
        let k: Vec<String> = keys.iter().map(std::string::ToString::to_string).collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<14}", k.join(" ")), theme.key),
            Span::styled(describe(*action), theme.text),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(format!(" {HELP_FOOTER}"), theme.dim));
    let h = lines.len() as u16 + 2;
    let rect = centered(area, 78, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup("keys", theme)), rect);
}

/// The take-over question: whose lease, since when.
pub fn render_takeover(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let who = match &state.holder {
        Some(l) => format!(
            " {} drives since {}; the lease runs to {}.",
            l.holder,
            state.hhmm(l.since),
            state.hhmm(l.expires)
        ),
        None => " Nobody holds the driver lease now.".to_string(),
    };
    let lines = vec![
        Line::styled(" Take over driving this cutover?", theme.title),
        Line::from(""),
        Line::styled(who, theme.text),
        Line::styled(
            " They become an observer at their next renewal; this is journaled.",
            theme.text,
        ),
        Line::from(""),
        Line::styled(
            format!(
                " {} take over   any other key cancels",
                state.keymap.first(Action::Confirm)
            ),
            theme.key,
        ),
    ];
    let rect = centered(area, 72, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(popup("take over", theme)),
        rect,
    );
}

pub fn render_confirm(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(c) = &state.confirm else { return };
    let cand = state.candidate();
    let from = state
        .cutover
        .base()
        .map_or_else(|| "?".into(), |b| format!("{b} %"));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", c.action), theme.title),
            Span::styled(format!("{cand} "), theme.env(cand)),
            Span::styled(format!("{from} → {} %?", c.share), theme.title),
        ]),
        Line::from(""),
    ];
    for r in &c.reasons {
        let style = if *r == crate::core::ConfirmReason::Breach {
            theme.breach
        } else {
            theme.text
        };
        lines.push(Line::styled(format!(" · {}", reason_text(*r)), style));
        if *r == crate::core::ConfirmReason::Preflight {
            for item in state.preflight_failures() {
                let detail = match &state.smoke {
                    Some(crate::app::state::SmokeState::Done { summary, .. })
                        if item == crate::app::state::PreflightCheck::SmokePassed =>
                    {
                        format!(": {summary}")
                    }
                    _ => String::new(),
                };
                let text: String = format!("   ✕ {item}{detail}").chars().take(68).collect();
                lines.push(Line::styled(text, theme.breach));
            }
        }
    }
    lines.push(Line::from(""));
    // Going back after the window closed is a new cutover: there is nothing to roll back.
    let keys = confirm_keys(
        &state.keymap,
        c.action != crate::app::journal::WriteAction::Revert,
    );
    lines.push(Line::styled(format!(" {keys}"), theme.key));
    let h = lines.len() as u16 + 2;
    let rect = centered(area, 72, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(popup("confirm", theme)),
        rect,
    );
}

pub fn render_log(frame: &mut Frame, area: Rect, theme: &Theme) {
    let rect = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, rect);
    let widget = tui_logger::TuiLoggerWidget::default()
        .block(popup("log · any key closes", theme))
        .style(theme.text)
        .style_error(theme.breach)
        .style_warn(theme.warn)
        .style_info(theme.text)
        .output_target(false)
        .output_file(false)
        .output_line(false);
    frame.render_widget(widget, rect);
}
