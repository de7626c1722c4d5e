//! The event panel: what happened, newest at the bottom, with level glyphs.

use super::theme::Theme;
use crate::app::state::{Level, State};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let n = area.height as usize;
    let lines: Vec<Line> = state
        .events
        .iter()
        .skip(state.events.len().saturating_sub(n))
        .map(|e| {
            let glyph = match e.level {
                Level::Info => "·",
                Level::Good => "✓",
                Level::Warn => "!",
                Level::Error => "✕",
            };
            Line::from(vec![
                Span::styled(
                    format!(" {} ", state.wall(e.at).format("%H:%M:%S")),
                    theme.dim,
                ),
                Span::styled(format!("{glyph} "), theme.level(e.level)),
                Span::styled(e.text.clone(), theme.level(e.level)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
