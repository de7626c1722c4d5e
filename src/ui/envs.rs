//! The blue and green panels, side by side: health, error rate, p99, rps, each with a
//! sparkline, a trend glyph and a freshness mark; guardrail words on the candidate.

use super::age;
use super::strings::{NO_DATA, UNKNOWN};
use super::theme::Theme;
use crate::app::state::State;
use crate::core::{Env, Health, Reading, RuleCheck, RuleKind, RuleResult, Series};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

const LABEL_W: usize = 8;
const VALUE_W: usize = 9;
const TREND_W: usize = 2;
const TAIL_W: usize = 13;
const SPARK_MAX: usize = 30;
const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let sep = Block::default()
        .borders(Borders::RIGHT)
        .border_style(theme.border);
    let left_inner = sep.inner(left);
    frame.render_widget(sep, left);
    render_env(frame, left_inner, state, theme, Env::Blue);
    render_env(frame, right, state, theme, Env::Green);
}

fn render_env(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, env: Env) {
    let w = area.width as usize;
    let is_cand = env == state.candidate();
    let sig = state.signals.get(env);
    let interval = state.poll_interval;
    let now = state.now;
    let guards = if is_cand {
        state.guard_results()
    } else {
        Vec::new()
    };
    let guard = |k: RuleKind| guards.iter().find(|r| r.kind == k);
    let spark_w = w
        .saturating_sub(LABEL_W + VALUE_W + TREND_W + TAIL_W + 1)
        .min(SPARK_MAX);

    let role = if !state.live_known {
        "?"
    } else if is_cand {
        "CANDIDATE"
    } else {
        "LIVE"
    };
    let version = sig.version.clone().unwrap_or_default();
    let title = Line::from(vec![
        Span::styled(format!(" {:<6}", env.label()), theme.env(env)),
        Span::styled(format!("{version:<9} "), theme.text),
        Span::styled(role, theme.env(env)),
    ]);

    let health = match &sig.health {
        None => Line::from(vec![
            Span::styled(format!(" {:<w$}", "health", w = LABEL_W - 1), theme.dim),
            Span::styled("? unknown", theme.stale),
        ]),
        Some((_, at)) if now.saturating_sub(*at) > interval * 3 => {
            let mut spans = vec![
                Span::styled(format!(" {:<w$}", "health", w = LABEL_W - 1), theme.dim),
                Span::styled("? unknown", theme.stale),
            ];
            pad_to(&mut spans, w.saturating_sub(TAIL_W));
            spans.extend(tail(theme, None, true, now.saturating_sub(*at)));
            Line::from(spans)
        }
        Some((h, at)) => {
            let status = sig.health(now, interval);
            let glyph = match status {
                Health::Up => "●",
                Health::Degraded => "◐",
                Health::Down => "✕",
                Health::Unknown => "?",
            };
            let mut spans = vec![
                Span::styled(format!(" {:<w$}", "health", w = LABEL_W - 1), theme.dim),
                Span::styled(
                    format!("{glyph} {}/{} {}", h.up, h.total, status.word()),
                    theme.health(status),
                ),
            ];
            if let Some(ms) = h.latency_ms {
                spans.push(Span::styled(format!("  {ms:.0} ms"), theme.text));
            }
            if h.failures > 0 {
                spans.push(Span::styled(format!("  {} failed", h.failures), theme.warn));
            }
            pad_to(&mut spans, w.saturating_sub(TAIL_W));
            spans.extend(tail(
                theme,
                guard(RuleKind::HealthFailures),
                false,
                now.saturating_sub(*at),
            ));
            Line::from(spans)
        }
    };

    let errors = metric(
        "errors",
        &sig.error_rate,
        |v| format!("{:.2} %", v * 100.0),
        guard(RuleKind::ErrorRate),
        state,
        theme,
        spark_w,
        w,
    );
    let p99 = metric(
        "p99",
        &sig.p99_ms,
        ms_text,
        guard(RuleKind::P99),
        state,
        theme,
        spark_w,
        w,
    );
    let rps = metric(
        "rps",
        &sig.rps,
        |v| format!("{v:.0}"),
        None,
        state,
        theme,
        spark_w,
        w,
    );

    let last = if let Some((e, _)) = &sig.last_error {
        Line::from(Span::styled(format!(" ⚠ signals: {e}"), theme.breach))
    } else if is_cand {
        guard_summary(&guards, theme)
    } else if state.live_known {
        Line::from(Span::styled(" rollback target", theme.dim))
    } else {
        Line::from(Span::styled(
            " live unknown: set `live` in the config",
            theme.warn,
        ))
    };

    let lines = vec![title, health, errors, p99, rps, last];
    frame.render_widget(Paragraph::new(lines), area);
}

fn ms_text(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

#[allow(clippy::too_many_arguments)]
fn metric(
    label: &str,
    series: &Series,
    fmt: impl Fn(f64) -> String,
    guard: Option<&RuleResult>,
    state: &State,
    theme: &Theme,
    spark_w: usize,
    w: usize,
) -> Line<'static> {
    let now = state.now;
    let stale = series.is_stale(now, state.poll_interval);
    let (text, style) = match series.latest.as_ref().map(|s| &s.reading) {
        None => (UNKNOWN.to_string(), theme.stale),
        Some(Reading::Value(v)) => {
            let style = match guard.map(|g| g.check) {
                Some(RuleCheck::Breach) => theme.breach,
                _ if stale => theme.stale,
                _ => theme.text,
            };
            (fmt(*v), style)
        }
        Some(Reading::NoData(_)) => (NO_DATA.to_string(), theme.dim),
        Some(Reading::Error(_)) => ("ERROR".to_string(), theme.breach),
    };
    let trend = match series.trend(10) {
        1 => "▲",
        -1 => "▼",
        _ => " ",
    };
    let mut spans = vec![
        Span::styled(format!(" {:<w$}", label, w = LABEL_W - 1), theme.dim),
        Span::styled(format!("{text:<VALUE_W$}"), style),
        Span::styled(format!("{trend:<TREND_W$}"), style),
        Span::styled(sparkline(series, spark_w), theme.dim),
    ];
    pad_to(&mut spans, w.saturating_sub(TAIL_W));
    if series.latest.is_some() {
        spans.extend(tail(theme, guard, stale, series.age(now).unwrap_or(0)));
    } else if guard.is_some() {
        spans.push(Span::styled("NO DATA", theme.warn));
    }
    Line::from(spans)
}

/// Guardrail word and freshness mark.
fn tail(theme: &Theme, guard: Option<&RuleResult>, stale: bool, age_ms: u64) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    if stale {
        v.push(Span::styled(format!("STALE {}", age(age_ms)), theme.stale));
        return v;
    }
    if let Some(g) = guard {
        let word = match g.check {
            RuleCheck::Ok => "OK",
            RuleCheck::Breach => "BREACH",
            RuleCheck::NoData => "NO DATA",
            RuleCheck::Stale => "STALE",
        };
        v.push(Span::styled(format!("{word:<8}"), theme.check(g.check)));
    }
    v.push(Span::styled(age(age_ms), theme.dim));
    v
}

fn guard_summary(results: &[RuleResult], theme: &Theme) -> Line<'static> {
    let breaches: Vec<String> = results
        .iter()
        .filter(|r| r.check == RuleCheck::Breach)
        .map(|r| {
            let v = r.value.unwrap_or(f64::NAN);
            match r.kind {
                RuleKind::ErrorRate => {
                    format!("errors {:.2} % > {} %", v * 100.0, short(r.limit * 100.0))
                }
                RuleKind::P99 => format!("p99 {} > {}", ms_text(v), ms_text(r.limit)),
                RuleKind::HealthFailures => format!("health {v:.0} failures ≥ {:.0}", r.limit),
            }
        })
        .collect();
    if !breaches.is_empty() {
        return Line::from(vec![
            Span::styled(" guardrails ", theme.dim),
            Span::styled(format!("✕ BREACH: {}", breaches.join(", ")), theme.breach),
        ]);
    }
    let (word, style) = if results.is_empty() {
        ("none set", theme.dim)
    } else if results.iter().all(|r| r.check == RuleCheck::Ok) {
        ("✓ OK", theme.ok)
    } else if results.iter().any(|r| r.check == RuleCheck::Stale) {
        ("STALE data", theme.stale)
    } else {
        ("NO DATA yet (no traffic)", theme.warn)
    };
    Line::from(vec![
        Span::styled(" guardrails ", theme.dim),
        Span::styled(word, style),
    ])
}

/// A number without trailing zeros: 1, 0.5, 2.25.
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn pad_to(spans: &mut Vec<Span<'static>>, width: usize) {
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used < width {
        spans.push(Span::raw(" ".repeat(width - used)));
    } else {
        spans.push(Span::raw(" "));
    }
}

/// The last `width` values as block characters scaled to the largest shown; gaps are blank.
pub fn sparkline(series: &Series, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let vals: Vec<Option<f64>> = series
        .history
        .iter()
        .rev()
        .take(width)
        .rev()
        .copied()
        .collect();
    let max = vals.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
    let mut out: String = vals
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => SPARK[0],
            Some(v) => {
                SPARK[((v / max) * (SPARK.len() - 1) as f64)
                    .round()
                    .clamp(0.0, 7.0) as usize]
            }
        })
        .collect();
    let n = out.chars().count();
    if n < width {
        out.push_str(&" ".repeat(width - n));
    }
    out
}
