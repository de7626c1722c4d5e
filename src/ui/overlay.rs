//! Popups: help (generated from the keymap), confirm, and the diagnostic log.

use super::strings::{confirm_keys, describe, describe_jumps, help_footer, keys_shown};
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
    let rows = help_rows(state);
    // The key column fits the longest key list (within reason); descriptions wrap after it.
    let col = rows
        .iter()
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .clamp(14, 32);
    // Descriptions wrap under themselves, not under the keys.
    let inner = usize::from(area.width.min(78).saturating_sub(2));
    let room_for_words = inner.saturating_sub(col + 1).max(16);
    let mut lines: Vec<Line> = Vec::new();
    for (k, d) in rows {
        for (i, part) in wrap_words(&d, room_for_words).into_iter().enumerate() {
            let keys = if i == 0 { k.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {keys:<col$}"), theme.key),
                Span::styled(part, theme.text),
            ]));
        }
    }
    // Never cut the footer: too many rows for the terminal say how many are not shown.
    let room = usize::from(area.height.saturating_sub(4));
    if lines.len() > room {
        let hidden = lines.len() + 1 - room;
        lines.truncate(room.saturating_sub(1));
        lines.push(Line::styled(
            format!(" … {hidden} more: a taller terminal shows them all"),
            theme.dim,
        ));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        format!(" {}", help_footer(&state.settings.keymap)),
        theme.dim,
    ));
    let h = lines.len() as u16 + 2;
    let rect = centered(area, 78, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup("keys", theme)), rect);
}

/// `text` cut at spaces into lines of at most `width` characters (a longer word is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let line = out.last_mut().expect("one line at least");
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(String::new());
        }
        let line = out.last_mut().expect("one line at least");
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        if line.chars().count() > width {
            let rest: String = line.chars().skip(width).collect();
            let head: String = line.chars().take(width).collect();
            *line = head;
            out.push(rest);
        }
    }
    out
}

/// The help's rows, (keys, what they do), in the keymap's order; the nine share keys on one
/// row.
fn help_rows(state: &State) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let jumps: Vec<String> = state
        .settings
        .keymap
        .bindings()
        .iter()
        .filter(|(a, _)| matches!(a, Action::Jump(_)))
        .map(|(_, ks)| {
            ks.first()
                .map_or_else(|| "·".to_string(), ToString::to_string)
        })
        .collect();
    for (action, keys) in state.settings.keymap.bindings() {
        if let Action::Jump(p) = action {
            if *p == 10 {
                let k = if jumps.concat() == "123456789" {
                    "1 … 9".to_string()
                } else {
                    jumps.join(" ")
                };
                rows.push((k, describe_jumps()));
            }
            continue;
        }
        let k: Vec<String> = keys.iter().map(ToString::to_string).collect();
        rows.push((k.join(" "), describe(*action)));
    }
    rows
}

/// The take-over question: whose lease, since when.
pub fn render_takeover(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let who = match &state.lease.holder {
        Some(l) => format!(
            " {} drives since {}; the lease runs to {}.",
            crate::shared::printable(&l.holder),
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
                " {} take over   {} ROLLBACK   any other key cancels",
                keys_shown(&state.settings.keymap, Action::Confirm),
                state.key(Action::Rollback)
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

/// A second person (`[approval]`): `y` asks them, it does not send.
fn approval_row(state: &State, c: &crate::app::state::PendingConfirm) -> Option<String> {
    let overrides = c.reasons.iter().any(|r| {
        matches!(
            r,
            crate::core::ConfirmReason::Breach
                | crate::core::ConfirmReason::Stale
                | crate::core::ConfirmReason::Unjudged
                | crate::core::ConfirmReason::Preflight
        )
    });
    if c.action == crate::app::journal::WriteAction::Revert {
        return None;
    }
    let need = crate::core::approval::Rules::need(
        state.settings.approval.as_ref(),
        &crate::app::words::recorded_rules(state),
        c.share,
        overrides,
    )?;
    Some(format!(
        " · needs another person's approval ({need}): y asks them; nothing moves until they approve"
    ))
}

pub fn render_confirm(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(c) = &state.view.confirm else { return };
    let cand = state.candidate();
    let from = state
        .cutover
        .base()
        .map_or_else(|| "?".into(), |b| format!("{b} %"));
    let title = Line::from(vec![
        Span::styled(format!(" {} ", c.action), theme.title),
        Span::styled(format!("{cand} "), theme.env(cand)),
        Span::styled(format!("{from} → {} %?", c.share), theme.title),
    ]);
    // Each row with its indent: wrapped here, under itself, so the popup is as tall as
    // its text and the keys line is never pushed out.
    let mut rows: Vec<(String, usize, ratatui::style::Style)> = Vec::new();
    for r in &c.reasons {
        let style = if *r == crate::core::ConfirmReason::Breach {
            theme.breach
        } else {
            theme.text
        };
        rows.push((format!(" · {}", reason_text(*r)), 3, style));
        // What exactly: the breach's values, or why nothing judged the candidate.
        let detail = match r {
            crate::core::ConfirmReason::Breach => state.candidate_failing(),
            crate::core::ConfirmReason::Unjudged => state.unjudged(),
            _ => None,
        };
        if let Some(d) = detail {
            rows.push((format!("   {d}"), 3, style));
        }
        if *r == crate::core::ConfirmReason::Preflight {
            let failing = state.preflight_failures();
            if failing.is_empty() {
                // What failed when asked (the numbers settling after a rollback) holds by now.
                rows.push((
                    "   ✓ every item holds now; one did not when asked".to_string(),
                    3,
                    theme.dim,
                ));
            }
            for item in failing {
                // What failed, as it reads: "smoke failed: 1 of 2 checks failed", not
                // "✕ smoke passed".
                let what = match &state.smoke {
                    Some(crate::app::state::SmokeState::Done {
                        summary,
                        passed: false,
                        ..
                    }) if item == crate::app::state::PreflightCheck::SmokePassed => {
                        format!("smoke failed: {summary}")
                    }
                    // Why: no source for p99, or data that is stale or unreadable.
                    _ if item == crate::app::state::PreflightCheck::DataFresh => {
                        state.not_judgeable().unwrap_or_else(|| item.failed_text())
                    }
                    _ => item.failed_text(),
                };
                rows.push((format!("   ✕ {what}"), 5, theme.breach));
            }
        }
    }
    if let Some(row) = approval_row(state, c) {
        rows.push((row, 3, theme.warn));
    }
    // Going back after the window closed is a new cutover: there is nothing to roll back.
    let keys = confirm_keys(
        &state.settings.keymap,
        c.action != crate::app::journal::WriteAction::Revert,
    );
    let width = usize::from(area.width.min(72).saturating_sub(2)).max(20);
    let mut body: Vec<Line> = Vec::new();
    for (text, indent, style) in rows {
        let pad = " ".repeat(indent);
        for (i, piece) in wrap_words(text.trim_start(), width.saturating_sub(indent))
            .into_iter()
            .enumerate()
        {
            // The first piece keeps its own lead (" · ", "   ✕ "); the rest hang under it.
            let lead = if i == 0 {
                text[..text.len() - text.trim_start().len()].to_string()
            } else {
                pad.clone()
            };
            body.push(Line::styled(format!("{lead}{piece}"), style));
        }
    }
    // Title, a blank, the body, a blank, the keys, in the room there is: the body is cut
    // (with …) before the keys ever are.
    let room = usize::from(area.height.saturating_sub(2));
    let fixed = 4;
    if body.len() + fixed > room {
        body.truncate(room.saturating_sub(fixed + 1));
        body.push(Line::styled("   …", theme.dim));
    }
    let mut lines = vec![title, Line::from("")];
    lines.extend(body);
    lines.push(Line::from(""));
    lines.push(Line::styled(format!(" {keys}"), theme.key));
    let h = lines.len() as u16 + 2;
    let rect = centered(area, 72, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup("confirm", theme)), rect);
}

/// Someone else's request for approval: who asks, what, and the candidate as this
/// cockpit judges it now; `y` approves, `n` declines with a reason typed here.
pub fn render_answer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    use crate::app::keymap::Action;
    let Some(d) = &state.approval.answering else {
        return;
    };
    let cand = state.candidate();
    let what = crate::app::words::approval_asked(state, &d.ask);
    let mut rows: Vec<(String, ratatui::style::Style)> = vec![
        (
            format!(
                " {} asks you to approve: {what}",
                crate::shared::printable(&d.ask.who)
            ),
            theme.title,
        ),
        (
            format!(" open until {}", state.hhmm(d.ask.until)),
            theme.dim,
        ),
        (String::new(), theme.text),
    ];
    // The candidate as judged here, now: what the approval is given on.
    let judged = if let Some(f) = state.candidate_failing() {
        (format!(" {cand} BREACHING: {f}"), theme.breach)
    } else if state.candidate_stale() {
        (format!(" {cand}'s data is STALE"), theme.warn)
    } else if let Some(u) = state.unjudged() {
        (format!(" {cand} NOT JUDGED: {u}"), theme.warn)
    } else {
        (format!(" {cand}: every guardrail OK"), theme.ok)
    };
    rows.push(judged);
    for r in state.guard_results() {
        let text = match r.check {
            crate::core::RuleCheck::Ok => format!(
                "✓ {}",
                super::guards::rule_text(r, state).replacen(" > ", " · limit ", 1)
            ),
            crate::core::RuleCheck::Breach => format!("✕ {}", super::guards::rule_text(r, state)),
            _ => format!(
                "· {}",
                crate::app::words::unsettled_rules(std::slice::from_ref(r), true).join(", ")
            ),
        };
        rows.push((format!("   {text}"), theme.text));
    }
    rows.push((String::new(), theme.text));
    match &d.reason {
        None => rows.push((
            format!(
                " {} approves   {} declines (with a reason)   Esc closes   {} rolls back",
                state.key(Action::Confirm),
                state.key(Action::Cancel),
                state.key(Action::Rollback)
            ),
            theme.key,
        )),
        Some(text) => {
            rows.push((format!(" why decline? {text}▏"), theme.text));
            rows.push((
                " Enter sends   Esc goes back   (while typing, r types r: Esc first to roll back)"
                    .to_string(),
                theme.key,
            ));
        }
    }
    let width = usize::from(area.width.min(76).saturating_sub(2)).max(20);
    let mut lines = Vec::new();
    for (text, style) in rows {
        if text.is_empty() {
            lines.push(Line::from(""));
            continue;
        }
        for piece in wrap_words(text.trim_start(), width.saturating_sub(2)) {
            lines.push(Line::styled(format!(" {piece}"), style));
        }
    }
    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() > room {
        let keep = lines.split_off(lines.len().saturating_sub(3));
        lines.truncate(room.saturating_sub(keep.len() + 1));
        lines.push(Line::styled("   …", theme.dim));
        lines.extend(keep);
    }
    let rect = centered(area, 76, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup("approval", theme)), rect);
}

pub fn render_log(frame: &mut Frame, area: Rect, theme: &Theme) {
    let rect = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    frame.render_widget(Clear, rect);
    let widget = tui_logger::TuiLoggerWidget::default()
        .block(popup(
            "diagnostic log · calls, polls, writes, timings · any key closes",
            theme,
        ))
        .style(theme.text)
        .style_error(theme.breach)
        .style_warn(theme.warn)
        .style_info(theme.text)
        .output_target(false)
        .output_file(false)
        .output_line(false);
    frame.render_widget(widget, rect);
}
