//! The event panel: what happened, newest at the bottom, with level glyphs. Long events
//! wrap under their text, so an error is read whole.

use super::theme::Theme;
use crate::app::state::{Level, State};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// " HH:MM:SS g "
const PREFIX: usize = 12;

/// `text` cut into pieces of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        if len > 0 && len + 1 + w > width {
            out.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        // A word longer than the line is cut.
        let mut rest: Vec<char> = word.chars().collect();
        while len + rest.len() > width {
            let take = width - len;
            line.extend(rest.drain(..take));
            out.push(std::mem::take(&mut line));
            len = 0;
        }
        len += rest.len();
        line.extend(rest);
    }
    out.push(line);
    out
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let n = area.height as usize;
    let width = (area.width as usize).saturating_sub(PREFIX);
    let mut lines: Vec<Line> = Vec::with_capacity(n);
    for e in state.view.events.iter().rev() {
        if lines.len() >= n {
            break;
        }
        let glyph = match e.level {
            Level::Info => "·",
            Level::Good => "✓",
            Level::Warn => "!",
            Level::Error => "✕",
        };
        let style = theme.level(e.level);
        let pieces = wrap(&e.text, width);
        let mut block: Vec<Line> = pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                if i == 0 {
                    Line::from(vec![
                        Span::styled(
                            format!(" {} ", state.wall(e.at).format("%H:%M:%S")),
                            theme.dim,
                        ),
                        Span::styled(format!("{glyph} "), style),
                        Span::styled(piece, style),
                    ])
                } else {
                    Line::from(vec![
                        Span::raw(" ".repeat(PREFIX)),
                        Span::styled(piece, style),
                    ])
                }
            })
            .collect();
        // The newest event keeps its first lines when the panel is short.
        block.truncate(n - lines.len());
        lines.extend(block.into_iter().rev());
    }
    lines.reverse();
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("step → 10 % applied", 40), vec!["step → 10 % applied"]);
        assert_eq!(
            wrap(
                "RBAC denied `patch` on httproutes.gateway.networking.k8s.io shop/checkout",
                30
            ),
            vec![
                "RBAC denied `patch` on",
                "httproutes.gateway.networking.",
                "k8s.io shop/checkout"
            ]
        );
        assert_eq!(wrap("", 10), vec![""]);
    }
}
