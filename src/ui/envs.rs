//! The blue and green panels, side by side: health, error rate, p99, rps and extra metrics,
//! each with a sparkline, a trend glyph and a freshness mark; on the candidate, guardrail
//! words and the difference to live with its significance.

use super::age;
use super::strings::UNKNOWN;
use super::theme::Theme;
use crate::app::state::State;
use crate::core::stats::two_proportion;
use crate::core::{Env, EnvSignals, Health, Reading, RuleCheck, RuleKind, RuleResult, Series};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

const LABEL_W: usize = 8;
const VALUE_W: usize = 9;
const TREND_W: usize = 2;
const TAIL_W: usize = 13;
const SPARK_MAX: usize = 30;
const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Extra metric rows shown at most.
pub const MAX_METRIC_ROWS: usize = 4;

/// Rows the panels need: title, health, errors, p99, rps, the metrics, two lines of notes.
pub fn height(state: &State) -> u16 {
    7 + state.settings.metric_info.len().min(MAX_METRIC_ROWS) as u16
}

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

struct Row<'a> {
    state: &'a State,
    theme: &'a Theme,
    guards: &'a [RuleResult],
    spark_w: usize,
    w: usize,
}

impl Row<'_> {
    fn guard(&self, k: &RuleKind) -> Option<&RuleResult> {
        self.guards.iter().find(|r| &r.kind == k)
    }

    fn metric(
        &self,
        label: &str,
        series: &Series,
        fmt: impl Fn(f64) -> String,
        guard: Option<&RuleResult>,
    ) -> Line<'static> {
        let (state, theme) = (self.state, self.theme);
        let now = state.now;
        let stale = series.is_stale(now, state.settings.poll_interval);
        let (text, style) = match series.latest.as_ref().map(|s| &s.reading) {
            None => (UNKNOWN.to_string(), theme.stale),
            Some(Reading::Value(v)) => {
                let style = match guard.map(|g| g.check) {
                    _ if stale => theme.stale,
                    Some(RuleCheck::Breach) => theme.breach,
                    Some(RuleCheck::Pending { .. }) => theme.warn,
                    // Still includes traffic from before the last move: dimmed.
                    _ if state.settling_until().is_some() => theme.dim,
                    _ => theme.text,
                };
                (fmt(*v), style)
            }
            Some(Reading::NoData(why)) => (short_reason(why), theme.dim),
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
            Span::styled(sparkline(series, self.spark_w), theme.dim),
        ];
        pad_to(&mut spans, self.w.saturating_sub(TAIL_W));
        if series.latest.is_some() {
            spans.extend(tail(
                theme,
                state,
                guard,
                stale,
                series.age(now).unwrap_or(0),
            ));
        } else if guard.is_some() {
            spans.push(Span::styled("NO DATA", theme.warn));
        }
        Line::from(spans)
    }
}

fn render_env(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, env: Env) {
    let w = area.width as usize;
    let is_cand = env == state.candidate();
    let sig = state.signals.get(env);
    // With live unknown nothing is judged against a live env nobody knows.
    let guards: &[RuleResult] = if is_cand && state.traffic.live_known {
        state.guard_results()
    } else {
        &[]
    };
    let row = Row {
        state,
        theme,
        guards,
        spark_w: w
            .saturating_sub(LABEL_W + VALUE_W + TREND_W + TAIL_W + 1)
            .min(SPARK_MAX),
        w,
    };

    let version = sig.version.clone().unwrap_or_default();
    let head = format!(" {:<6}{version:<9} ", env.label());
    let role = role_text(state, env, w.saturating_sub(head.chars().count()));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {:<6}", env.label()), theme.env(env)),
            Span::styled(format!("{version:<9} "), theme.text),
            Span::styled(role, theme.env(env)),
        ]),
        health_line(&row, sig),
        row.metric(
            "errors",
            &sig.error_rate,
            |v| format!("{:.2} %", v * 100.0),
            row.guard(&RuleKind::ErrorRate),
        ),
        row.metric("p99", &sig.p99_ms, ms_text, row.guard(&RuleKind::P99)),
        row.metric("rps", &sig.rps, |v| format!("{v:.0}"), None),
    ];
    for info in state.settings.metric_info.iter().take(MAX_METRIC_ROWS) {
        let empty = Series::default();
        let series = sig.metric(&info.name).unwrap_or(&empty);
        let guard = row.guard(&RuleKind::Metric(info.name.clone()));
        let label: String = info.name.chars().take(LABEL_W - 2).collect();
        lines.push(row.metric(
            &label,
            series,
            |v| format!("{}{}", compact(v), info.unit),
            guard,
        ));
    }
    if !state.traffic.live_known {
        let why = if state.traffic.weights.is_some() {
            " live unknown: split, no cutover record"
        } else {
            " live unknown: traffic state unknown"
        };
        lines.push(Line::from(Span::styled(why, theme.warn)));
        lines.push(Line::from(Span::styled(
            format!(
                " nothing judged ({} asks where traffic goes)",
                state.key(crate::app::keymap::Action::Rollback)
            ),
            theme.dim,
        )));
    } else if is_cand {
        lines.push(vs_live(state, theme));
        lines.push(guard_summary(guards, state, theme));
    } else {
        lines.push(Line::from(Span::styled(
            format!(" rollback target{}", warmth(state, env)),
            theme.dim,
        )));
        lines.push(match state.source_errors.first() {
            Some((src, e, _)) => Line::from(Span::styled(format!(" ⚠ {src}: {e}"), theme.breach)),
            None => Line::from(""),
        });
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// What `env` is doing, in words that fit `width`: whether it serves traffic (and how
/// much) and its role — the candidate, or live (the rollback target), on standby at 0 %.
/// The long form first, a compact one at 80 columns; never the share cut off.
fn role_text(state: &State, env: Env, width: usize) -> String {
    if !state.traffic.live_known {
        return "?".into();
    }
    let share = state.traffic.weights.and_then(|w| w.share_of(env));
    let p = share.map_or_else(|| "?".to_string(), |p| p.to_string());
    let forms = match (env == state.candidate(), share) {
        (true, Some(0)) => vec!["CANDIDATE · 0 %".to_string(), "CANDIDATE 0 %".into()],
        (true, _) => vec![
            format!("CANDIDATE · SERVING {p} %"),
            format!("CANDIDATE {p} %"),
        ],
        (false, Some(0)) => vec!["STANDBY 0 % · live".to_string(), "STANDBY · live".into()],
        (false, _) => vec![format!("SERVING {p} % · live"), format!("LIVE {p} %")],
    };
    forms
        .iter()
        .find(|f| f.chars().count() <= width)
        .or(forms.last())
        .cloned()
        .unwrap_or_default()
}

/// How warm the rollback target is kept: " · warm 6/6", " · COLD 2/6", or nothing unknown.
fn warmth(state: &State, env: Env) -> String {
    let sig = state.signals.get(env);
    let word = match sig.health(state.now, state.settings.poll_interval) {
        Health::Up => "warm",
        Health::Degraded => "DEGRADED",
        Health::Down => "COLD",
        Health::Unknown => return " · warmth unknown".into(),
    };
    match &sig.health {
        Some((h, _)) if h.total > 0 => format!(" · {word} {}/{}", h.up, h.total),
        _ => format!(" · {word}"),
    }
}

fn health_line(row: &Row, sig: &EnvSignals) -> Line<'static> {
    let (state, theme) = (row.state, row.theme);
    let (now, interval) = (state.now, state.settings.poll_interval);
    let label = Span::styled(format!(" {:<w$}", "health", w = LABEL_W - 1), theme.dim);
    let guard = row.guard(&RuleKind::HealthFailures);
    match &sig.health {
        None => Line::from(vec![label, Span::styled("? unknown", theme.stale)]),
        Some((_, at)) if now.saturating_sub(*at) > interval * 3 => {
            let mut spans = vec![label, Span::styled("? unknown", theme.stale)];
            pad_to(&mut spans, row.w.saturating_sub(TAIL_W));
            spans.extend(tail(theme, state, None, true, now.saturating_sub(*at)));
            Line::from(spans)
        }
        Some((h, at)) => {
            let glyph = match h.health {
                Health::Up => "●",
                Health::Degraded => "◐",
                Health::Down => "✕",
                Health::Unknown => "?",
            };
            let mut spans = vec![
                label,
                Span::styled(
                    format!("{glyph} {}/{} {}", h.up, h.total, h.health.word()),
                    theme.health(h.health),
                ),
            ];
            if let Some(ms) = h.latency_ms {
                spans.push(Span::styled(format!("  {ms:.0} ms"), theme.text));
            }
            if h.failures > 0 {
                spans.push(Span::styled(format!("  {}×", h.failures), theme.warn));
            }
            pad_to(&mut spans, row.w.saturating_sub(TAIL_W));
            spans.extend(tail(theme, state, guard, false, now.saturating_sub(*at)));
            Line::from(spans)
        }
    }
}

/// The candidate's error rate against live's: the difference in percentage points and
/// whether it is statistically significant; p99 as a ratio.
fn vs_live(state: &State, theme: &Theme) -> Line<'static> {
    let (c, l) = (
        state.signals.get(state.candidate()),
        state.signals.get(state.live()),
    );
    let (now, i) = (state.now, state.settings.poll_interval);
    let fresh = |s: &Series| s.fresh_value(now, i);
    let mut spans = vec![Span::styled(" vs live ", theme.dim)];
    let counts = (|| {
        Some((
            fresh(&c.errors)?,
            fresh(&c.requests)?,
            fresh(&l.errors)?,
            fresh(&l.requests)?,
        ))
    })();
    match (fresh(&c.error_rate), fresh(&l.error_rate)) {
        (Some(ce), Some(le)) => {
            let diff = (ce - le) * 100.0;
            let test = counts.and_then(|(ec, nc, el, nl)| two_proportion(ec, nc, el, nl));
            let (verdict, style) = match test {
                Some(d) if d.significant && d.diff_pp > 0.0 => (p_text(d.p_value), theme.breach),
                Some(d) if d.significant => (p_text(d.p_value), theme.ok),
                Some(_) => ("n.s.".to_string(), theme.text),
                None if counts.is_some() => ("too few".to_string(), theme.dim),
                None => ("no counts".to_string(), theme.dim),
            };
            spans.push(Span::styled(format!("errors {diff:+.2} pp "), style));
            spans.push(Span::styled(verdict, style));
        }
        _ => spans.push(Span::styled("errors —", theme.dim)),
    }
    if let (Some(cp), Some(lp)) = (fresh(&c.p99_ms), fresh(&l.p99_ms))
        && lp > 0.0
    {
        spans.push(Span::styled(format!(" · p99 ×{:.1}", cp / lp), theme.text));
    }
    Line::from(spans)
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p<0.001".into()
    } else {
        format!("p={p:.3}")
    }
}

/// What a no-data reading is, in a word: `NaN`, `+Inf`, `empty`, or `no data`.
fn short_reason(why: &str) -> String {
    for token in ["NaN", "+Inf", "-Inf", "empty"] {
        if why.starts_with(token) {
            return token.into();
        }
    }
    super::strings::NO_DATA.into()
}

fn ms_text(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

/// A number in a few characters: 0.42, 12.3, 1234, 12.3k.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 100_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Guardrail word and freshness mark.
fn tail(
    theme: &Theme,
    state: &State,
    guard: Option<&RuleResult>,
    stale: bool,
    age_ms: u64,
) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    if stale {
        v.push(Span::styled(format!("STALE {}", age(age_ms)), theme.stale));
        return v;
    }
    if let Some(g) = guard {
        let word = match g.check {
            RuleCheck::Ok => "OK".to_string(),
            RuleCheck::Breach => "BREACH".to_string(),
            RuleCheck::Pending { since } => format!("⧗ {}", age(state.now.saturating_sub(since))),
            RuleCheck::NoData => "NO DATA".to_string(),
            RuleCheck::Stale => "STALE".to_string(),
            RuleCheck::Settling { until } => {
                // No verdict: how long until there is one, instead of the sample's age.
                let left = until.saturating_sub(state.now).div_ceil(1000);
                v.push(Span::styled(format!("settling {left}s"), theme.dim));
                return v;
            }
        };
        v.push(Span::styled(format!("{word:<8}"), theme.check(g.check)));
    }
    v.push(Span::styled(age(age_ms), theme.dim));
    v
}

fn rule_text(r: &RuleResult, state: &State) -> String {
    let v = r.value.unwrap_or(f64::NAN);
    match &r.kind {
        RuleKind::ErrorRate => format!("errors {:.2} % > {} %", v * 100.0, short(r.limit * 100.0)),
        RuleKind::ErrorRateDelta => format!(
            "errors {:+.2} pp vs live > {} pp",
            v * 100.0,
            short(r.limit * 100.0)
        ),
        RuleKind::P99 => format!("p99 {} > {}", ms_text(v), ms_text(r.limit)),
        RuleKind::P99Ratio => format!("p99 ×{v:.1} live > ×{}", short(r.limit)),
        RuleKind::HealthFailures => format!("health {v:.0} failures ≥ {:.0}", r.limit),
        RuleKind::Metric(name) => {
            let bad = state
                .settings
                .metric_info
                .iter()
                .find(|m| &m.name == name)
                .map_or(crate::core::Bad::Down, |m| m.bad);
            let word = if bad == crate::core::Bad::Down {
                "drop"
            } else {
                "rise"
            };
            format!(
                "{name} {:+.0} % vs live ({word} > {} %)",
                v * 100.0,
                short(r.limit * 100.0)
            )
        }
    }
}

fn guard_summary(results: &[RuleResult], state: &State, theme: &Theme) -> Line<'static> {
    let label = Span::styled(" guardrails ", theme.dim);
    let of = |pred: &dyn Fn(&RuleCheck) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|r| pred(&r.check))
            .map(|r| rule_text(r, state))
            .collect()
    };
    let breaches = of(&|c| *c == RuleCheck::Breach);
    if !breaches.is_empty() {
        return Line::from(vec![
            label,
            Span::styled(format!("✕ BREACH: {}", breaches.join(", ")), theme.breach),
        ]);
    }
    let pending = of(&|c| matches!(c, RuleCheck::Pending { .. }));
    if !pending.is_empty() {
        let for_s = state.settings.guardrails.for_ms / 1000;
        return Line::from(vec![
            label,
            Span::styled(
                format!("⧗ over for < {for_s}s: {}", pending.join(", ")),
                theme.warn,
            ),
        ]);
    }
    if let Some(until) = results.iter().find_map(|r| match r.check {
        RuleCheck::Settling { until } => Some(until),
        _ => None,
    }) {
        return Line::from(vec![
            label,
            Span::styled(
                format!(
                    "settling {}: no verdict until {}",
                    age(until.saturating_sub(state.now)),
                    state.wall(until).format("%H:%M:%S")
                ),
                theme.dim,
            ),
        ]);
    }
    let (word, style): (&str, Style) = if results.is_empty() {
        ("none set", theme.dim)
    } else if results.iter().all(|r| r.check == RuleCheck::Ok) {
        ("✓ OK", theme.ok)
    } else if results.iter().any(|r| r.check == RuleCheck::Stale) {
        ("STALE data", theme.stale)
    } else {
        ("NO DATA yet", theme.warn)
    };
    Line::from(vec![label, Span::styled(word, style)])
}

/// A number without trailing zeros: 1, 0.5, 2.25.
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn pad_to(spans: &mut Vec<Span<'static>>, width: usize) {
    let used: usize = spans.iter().map(ratatui::prelude::Span::width).sum();
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
