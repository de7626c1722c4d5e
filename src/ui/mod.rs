//! Pure rendering from state. One file per screen region, each `render(frame, area, state,
//! theme)`.
//!
//! ```text
//! ┌ cutover · checkout-api · sim 127.0.0.1:7070 · driving: alice@bastion ──── 14:02:31 ┐
//! │ BLUE  v1.4.2  LIVE                      │ GREEN v1.5.0  CANDIDATE                   │  envs
//! │ health · errors · p99 · rps (sparklines, freshness, guardrail words)                │
//! ├ traffic ────────────────────────────────────────────────────────────────────────────┤
//! │ BLUE ████████████████████████ 90 %  GREEN ██ 10 %                                   │  traffic
//! │ plan 0 ── [10] ── 50 ── 100   set 10 %  observed 9.8 %   ‖ PAUSED                   │
//! │ rollback window: starts at 100 %                                                    │
//! ├ events ─────────────────────────────────────────────────────────────────────────────┤
//! │ 14:01:02 step green 0 → 10 % applied in 42 ms, verified                             │  events
//! └ → step  ← back  p pause  r ROLLBACK  s smoke  ? help  q quit ───────────────────────┘
//! ```

pub mod envs;
pub mod events;
pub mod fmt;
pub mod guards;
pub mod header;
pub mod overlay;
pub mod spark;
pub mod strings;
pub mod theme;
pub mod traffic;

use crate::app::state::{Overlay, State};
pub use crate::app::words::clock;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use theme::Theme;

const SEPARATOR: Constraint = Constraint::Length(1);
const EVENTS_MIN: Constraint = Constraint::Min(1);

/// Draws the whole screen.
pub fn render(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    if area.width < strings::MIN_WIDTH || area.height < strings::MIN_HEIGHT {
        render_too_small(frame, area, state, theme);
        return;
    }
    let outer = header::block(state, theme, area.width);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [envs_area, sep1, traffic_area, sep2, events_area] = Layout::vertical([
        Constraint::Length(envs::height(state)),
        SEPARATOR,
        Constraint::Length(traffic::height(state)),
        SEPARATOR,
        EVENTS_MIN,
    ])
    .areas(inner);
    envs::render(frame, envs_area, state, theme);
    separator(frame, area, sep1.y, "traffic", theme);
    traffic::render(frame, traffic_area, state, theme);
    separator(frame, area, sep2.y, "events", theme);
    events::render(frame, events_area, state, theme);
    match state.view.overlay {
        Overlay::Help => overlay::render_help(frame, area, state, theme),
        Overlay::Log => overlay::render_log(frame, area, theme),
        Overlay::None => {}
    }
    if state.view.takeover_confirm {
        overlay::render_takeover(frame, area, state, theme);
    }
    if state.view.confirm.is_some() {
        overlay::render_confirm(frame, area, state, theme);
    }
    if state.approval.answering.is_some() {
        overlay::render_answer(frame, area, state, theme);
    }
}

/// A `├ title ───┤` line across the outer frame at row `y`.
fn separator(frame: &mut Frame, outer: Rect, y: u16, title: &str, theme: &Theme) {
    let w = outer.width as usize;
    let head = format!("├ {title} ");
    let fill = w.saturating_sub(head.chars().count() + 1);
    let line = Line::from(vec![
        Span::styled("├ ", theme.border),
        Span::styled(title.to_string(), theme.title),
        Span::styled(format!(" {}┤", "─".repeat(fill)), theme.border),
    ]);
    frame.render_widget(Paragraph::new(line), Rect::new(outer.x, y, outer.width, 1));
}

fn render_too_small(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let lines = vec![
        Line::styled(strings::TOO_SMALL, theme.warn),
        Line::styled(
            format!(
                "{}×{}: cutover needs at least {}×{}",
                area.width,
                area.height,
                strings::MIN_WIDTH,
                strings::MIN_HEIGHT
            ),
            theme.text,
        ),
        Line::styled(
            format!(
                "{} still rolls back · {} quits",
                state.key(crate::app::keymap::Action::Rollback),
                state.key(crate::app::keymap::Action::Quit)
            ),
            theme.dim,
        ),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + y, area.width, area.height.min(3));
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .block(Block::default().borders(Borders::NONE)),
        rect,
    );
}

/// Formats a share for display.
pub fn pct(p: f64) -> String {
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// Formats milliseconds as a short age: `<1s`, `4s`, `3m`, `2h`.
pub fn age(ms: u64) -> String {
    if ms < 1000 {
        "<1s".into()
    } else if ms < 120_000 {
        format!("{}s", ms / 1000)
    } else if ms < 7_200_000 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}h", ms / 3_600_000)
    }
}
