//! Numbers and lines that fit their panel: values in a few characters whatever their size,
//! and lines cut at whole words with `…`, never a unit torn off its number.

use crate::core::value::num;
use ratatui::text::{Line, Span};

/// Tokens that belong to the number before them: a cut never falls between the two.
const UNITS: [&str; 12] = [
    "%", "ms", "s", "pp", "req", "µs", "ns", "min", "h", "k", "/s", "/min",
];
/// Tokens that belong to what follows them (`> 1 %`, `≥ 3`, `or p99`): a line never ends
/// on one.
const LEADERS: [&str; 12] = [
    ">", "≥", "<", "≤", "=", "→", "×", "~", "or", "and", "no", "vs",
];
/// Where a line may drop whole clauses first.
const CLAUSE_SEPARATORS: [&str; 2] = [" · ", ", "];
const ELLIPSIS: &str = "…";

/// Milliseconds as `180 ms`, `1.51 s`, `3600 s`.
pub fn ms_text(v: f64) -> String {
    if v >= 100_000.0 {
        format!("{} s", compact(v / 1000.0))
    } else if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

/// A number in a few characters: 0.42, 12.3, 1234, 12.3k, 4.5M, 1e308.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let si = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    if !a.is_finite() || a >= 1e15 {
        return num(v);
    }
    if a >= 10_000.0 {
        let (scale, unit) = si
            .iter()
            .find(|(s, _)| a >= *s)
            .copied()
            .unwrap_or((1.0, ""));
        return format!("{:.1}{unit}", v / scale);
    }
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A request rate: whole numbers up to 9999, then compact (`12.3k`, `1e308`).
pub fn rate_text(v: f64) -> String {
    if v.abs() < 10_000.0 {
        format!("{v:.0}")
    } else {
        compact(v)
    }
}

pub use crate::app::words::short;

/// Width of `s` in terminal columns.
fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Whether a line may be cut at the space at byte `i` of `text`: not before a unit, not
/// after an operator or a word that leads into the next.
fn breakable(text: &str, i: usize) -> bool {
    let before = text[..i].split(' ').next_back().unwrap_or("");
    let after = text[i + 1..].split(' ').next().unwrap_or("");
    let bare = after.trim_end_matches([')', ',', ':', ';', '.']);
    !(UNITS.contains(&bare) || LEADERS.contains(&before) || before.is_empty())
}

/// Where `text` is cut to fit `max` columns with `…` after it: a byte index at the end of
/// a whole word (or of a whole clause when that keeps most of the line); `None` when it
/// fits as it is.
fn cut_at(text: &str, max: usize) -> Option<usize> {
    if width(text) <= max {
        return None;
    }
    let room = max.saturating_sub(width(ELLIPSIS));
    let fits = |i: usize| width(text[..i].trim_end_matches([' ', '·', ',', ':', '—'])) <= room;
    let word = text
        .char_indices()
        .filter(|&(i, c)| c == ' ' && breakable(text, i) && fits(i))
        .map(|(i, _)| i)
        .next_back();
    let clause = CLAUSE_SEPARATORS
        .iter()
        .flat_map(|sep| text.match_indices(sep).map(|(i, _)| i))
        .filter(|&i| fits(i))
        .max();
    Some(match (word, clause) {
        (Some(w), Some(c)) if c * 5 >= w * 3 => c,
        (Some(w), _) => w,
        (None, Some(c)) => c,
        // One word longer than the room: cut it, the only way left.
        (None, None) => text
            .char_indices()
            .map(|(i, _)| i)
            .take_while(|&i| width(&text[..i]) <= room)
            .last()
            .unwrap_or(0),
    })
}

/// `text` cut to `max` columns at whole words, ending in `…` when cut.
pub fn fit_str(text: &str, max: usize) -> String {
    match cut_at(text, max) {
        None => text.to_string(),
        Some(i) => {
            let kept = text[..i].trim_end_matches([' ', '·', ',', ':', '—']);
            format!("{kept}{ELLIPSIS}")
        }
    }
}

/// A line cut to `max` columns at whole words, keeping each span's style, ending in `…`
/// (in the style of the last word kept) when cut.
pub fn fit(line: Line<'static>, max: usize) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let Some(i) = cut_at(&text, max) else {
        return line;
    };
    let keep = text[..i].trim_end_matches([' ', '·', ',', ':', '—']).len();
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut at = 0;
    for span in line.spans {
        if at >= keep {
            break;
        }
        let len = span.content.len();
        let take = len.min(keep - at);
        out.push(Span::styled(span.content[..take].to_string(), span.style));
        at += len;
    }
    let style = out.last().map(|s| s.style).unwrap_or_default();
    out.push(Span::styled(ELLIPSIS, style));
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_drops_whole_words_and_keeps_units_on_their_numbers() {
        let cases = [
            ("errors 4.38 % > 1 %", 40, "errors 4.38 % > 1 %"),
            (
                "guardrails ✕ BREACH: errors 4.38 % > 1 %",
                38,
                "guardrails ✕ BREACH: errors 4.38 %…",
            ),
            ("errors 4.38 % > 1 %", 18, "errors 4.38 %…"),
            ("errors 4.38 % > 1 %", 12, "errors…"),
            (
                "vs live errors +0.46 pp too few · p99 ×9.0",
                40,
                "vs live errors +0.46 pp too few…",
            ),
            (
                "p99 1.51 s > 1 s, errors 4.38 % > 1 %",
                30,
                "p99 1.51 s > 1 s…",
            ),
            ("invalid > 100 % (500 %)", 18, "invalid > 100 %…"),
            ("3-series-for-env=green", 10, "3-series-…"),
            (
                "guardrails NO DATA — no source for error-rate or p99",
                39,
                "guardrails NO DATA — no source for…",
            ),
        ];
        for (text, max, want) in cases {
            let got = fit_str(text, max);
            assert_eq!(got, want, "{text:?} in {max}");
            assert!(width(&got) <= max, "{got:?} is wider than {max}");
        }
    }

    #[test]
    fn a_cut_line_keeps_its_styles() {
        use ratatui::style::{Color, Style};
        let red = Style::default().fg(Color::Red);
        let line = Line::from(vec![
            Span::raw(" guardrails "),
            Span::styled("✕ BREACH: errors 4.38 % > 1 %, p99 1.51 s > 1 s", red),
        ]);
        let cut = fit(line, 42);
        let text: String = cut.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, " guardrails ✕ BREACH: errors 4.38 % > 1 %…");
        assert_eq!(cut.spans.last().unwrap().style, red);
        assert_eq!(cut.width(), 42);
    }

    #[test]
    fn numbers_never_spill() {
        let cases = [
            (0.42, "0.42"),
            (12.34, "12.3"),
            (1234.0, "1234"),
            (12_345.0, "12.3k"),
            (4.5e6, "4.5M"),
            (1e308, "1e308"),
            (-2e20, "-2e20"),
        ];
        for (v, want) in cases {
            assert_eq!(compact(v), want, "{v}");
        }
        assert_eq!(rate_text(103.4), "103");
        assert_eq!(rate_text(1e308), "1e308");
        assert_eq!(ms_text(160.0), "160 ms");
        assert_eq!(ms_text(1510.0), "1.51 s");
        assert_eq!(ms_text(3_600_000.0), "3600 s");
    }
}
