//! The blue and green panels, side by side: health, error rate, p99, rps and extra metrics,
//! each with a sparkline (one scale per signal for both envs), a trend glyph and a
//! freshness mark; on the candidate, guardrail words and the difference to live with its
//! significance. An invalid value is `invalid` and why, never a number; every line is cut
//! at whole words to its panel.

use super::fmt::{compact, fit, fit_str, ms_text, rate_text};
use super::guards::{summary, tail};
use super::spark::{shared_max, sparkline};
use super::strings::UNKNOWN;
use super::theme::Theme;
use crate::app::state::State;
use crate::core::stats::two_proportion;
use crate::core::{
    Env, EnvPair, EnvSignals, Health, Reading, RuleCheck, RuleKind, RuleResult, Series,
};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

const LABEL_W: usize = 8;
const VALUE_W: usize = 9;
const TREND_W: usize = 2;
const TAIL_W: usize = 13;
const SPARK_MAX: usize = 30;
/// Extra metric rows shown at most.
pub const MAX_METRIC_ROWS: usize = 4;

/// Rows the panels need: title, health, errors, p99, rps, the metrics, two lines of notes.
pub fn height(state: &State) -> u16 {
    7 + state.settings.metric_info.len().min(MAX_METRIC_ROWS) as u16
}

/// The sparkline's width in a panel `w` columns wide.
fn spark_width(w: usize) -> usize {
    w.saturating_sub(LABEL_W + VALUE_W + TREND_W + TAIL_W + 1)
        .min(SPARK_MAX)
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let sep = Block::default()
        .borders(Borders::RIGHT)
        .border_style(theme.border);
    let left_inner = sep.inner(left);
    frame.render_widget(sep, left);
    let widths = EnvPair::new(
        spark_width(left_inner.width as usize),
        spark_width(right.width as usize),
    );
    let scales = Scales::of(state, &widths);
    render_env(frame, left_inner, state, theme, (Env::Blue, &scales));
    render_env(frame, right, state, theme, (Env::Green, &scales));
}

/// One scale per signal, shared by both panels: the largest value either shows.
struct Scales {
    error_rate: f64,
    p99: f64,
    rps: f64,
    /// In the order of `settings.metric_info`.
    metrics: Vec<f64>,
}

impl Scales {
    fn of(state: &State, widths: &EnvPair<usize>) -> Scales {
        let both = |pick: &dyn Fn(&EnvSignals) -> Option<&Series>| {
            shared_max(
                Env::ALL
                    .into_iter()
                    .filter_map(|env| pick(state.signals.get(env)).map(|s| (s, *widths.get(env)))),
            )
        };
        Scales {
            error_rate: both(&|s| Some(&s.error_rate)),
            p99: both(&|s| Some(&s.p99_ms)),
            rps: both(&|s| Some(&s.rps)),
            metrics: state
                .settings
                .metric_info
                .iter()
                .map(|m| both(&|s| s.metric(&m.name)))
                .collect(),
        }
    }
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

    /// One signal's row: label, value (or why there is none), trend, sparkline on
    /// `scale`, then the guardrail word and the age. An invalid value takes the place of
    /// value, trend and sparkline with `invalid` and its reason.
    fn metric(
        &self,
        label: &str,
        (series, scale): (&Series, f64),
        fmt: impl Fn(f64) -> String,
        guard: Option<&RuleResult>,
    ) -> Line<'static> {
        let (state, theme) = (self.state, self.theme);
        let now = state.now;
        let stale = series.is_stale(now, state.settings.poll_interval);
        let mut spans = vec![Span::styled(
            format!(" {:<w$}", label, w = LABEL_W - 1),
            theme.dim,
        )];
        if let Some(why) = series.invalid() {
            let room = VALUE_W + TREND_W + self.spark_w;
            spans.push(Span::styled(
                fit_str(&format!("invalid {why}"), room),
                theme.warn,
            ));
        } else {
            let (text, style) = match series.latest.as_ref().map(|s| &s.reading) {
                None => (UNKNOWN.to_string(), theme.stale),
                Some(Reading::Value(v)) => {
                    let style = match guard.map(|g| &g.check) {
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
                Some(Reading::Error(_) | Reading::Invalid(_)) => {
                    ("ERROR".to_string(), theme.breach)
                }
            };
            // A trend only next to a number: never beside "no data" or ERROR.
            let is_value = matches!(
                series.latest.as_ref().map(|s| &s.reading),
                Some(Reading::Value(_))
            );
            let trend = match series.trend(10) {
                1 if is_value => "▲",
                -1 if is_value => "▼",
                _ => " ",
            };
            spans.extend([
                Span::styled(format!("{text:<VALUE_W$}"), style),
                Span::styled(format!("{trend:<TREND_W$}"), style),
                Span::styled(sparkline(series, self.spark_w, scale), theme.dim),
            ]);
        }
        pad_to(&mut spans, self.w.saturating_sub(TAIL_W));
        if series.latest.is_some() {
            spans.extend(tail(
                theme,
                state,
                guard,
                stale,
                series.age(now).unwrap_or(0),
            ));
        } else if let Some(g) = guard {
            spans.push(Span::styled(g.check.word(), theme.check(&g.check)));
        }
        Line::from(spans)
    }
}

fn render_env(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    (env, scales): (Env, &Scales),
) {
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
        spark_w: spark_width(w),
        w,
    };

    // From the backend or a feed: shown escaped, never raw to the terminal.
    // At most 9 columns: a long version (`1.5.0-rc.3+build.20261126`) must not push the
    // env's role and share off its line.
    let version = crate::shared::printable(sig.version.as_deref().unwrap_or_default()).into_owned();
    let version = if version.chars().count() > 9 {
        format!("{}…", version.chars().take(8).collect::<String>())
    } else {
        version
    };
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
            (&sig.error_rate, scales.error_rate),
            |v| format!("{:.2} %", v * 100.0),
            row.guard(&RuleKind::ErrorRate),
        ),
        row.metric(
            "p99",
            (&sig.p99_ms, scales.p99),
            ms_text,
            row.guard(&RuleKind::P99),
        ),
        row.metric("rps", (&sig.rps, scales.rps), rate_text, None),
    ];
    let infos = state.settings.metric_info.iter().zip(&scales.metrics);
    for (info, scale) in infos.take(MAX_METRIC_ROWS) {
        let empty = Series::default();
        let series = sig.metric(&info.name).unwrap_or(&empty);
        let guard = row.guard(&RuleKind::Metric(info.name.clone()));
        let label = short_label(&info.name, LABEL_W - 2);
        lines.push(row.metric(
            &label,
            (series, *scale),
            |v| format!("{}{}", compact(v), info.unit),
            guard,
        ));
    }
    if !state.traffic.live_known {
        let why = match state.traffic.weights {
            Some(_) if state.traffic.disputed.is_some() => {
                " live unknown: the record contradicts the traffic"
            }
            Some(_) if state.traffic.record.is_some() => " live unknown: weighing the record",
            Some(w) if w.blue == 0 && w.green == 0 => " live unknown: 0 / 0, no traffic served",
            Some(_) => " live unknown: split, no cutover record",
            None => " live unknown: traffic state unknown",
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
        lines.push(summary(guards, state, theme));
    } else {
        lines.push(Line::from(Span::styled(
            format!(" rollback target{}", warmth(state, env)),
            theme.dim,
        )));
        lines.push(match state.source_errors.first() {
            Some((src, e, _)) => Line::from(Span::styled(format!(" ⚠ {src}: {e}"), theme.breach)),
            // What a coarse source says of its data ("CloudWatch 1-min, latest 14:01").
            None => state.signals.get(env).note.as_ref().map_or_else(
                || Line::from(""),
                |n| Line::from(Span::styled(format!(" {n}"), theme.dim)),
            ),
        });
    }
    let lines: Vec<Line> = lines.into_iter().map(|l| fit(l, w)).collect();
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
    format!(" · {}", state.warmth(env).0)
}

fn health_line(row: &Row, sig: &EnvSignals) -> Line<'static> {
    let (state, theme) = (row.state, row.theme);
    let (now, interval) = (state.now, state.settings.poll_interval);
    let label = Span::styled(format!(" {:<w$}", "health", w = LABEL_W - 1), theme.dim);
    let guard = row.guard(&RuleKind::HealthFailures);
    match &sig.health {
        None => {
            let mut spans = vec![label, Span::styled("? unknown", theme.stale)];
            if let Some(g) = guard {
                pad_to(&mut spans, row.w.saturating_sub(TAIL_W));
                spans.push(Span::styled(g.check.word(), theme.check(&g.check)));
            }
            Line::from(spans)
        }
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
            // Why it is not up, as far as the row has room (the whole text in `status`).
            if h.health != Health::Up && !h.detail.is_empty() {
                let used: usize = spans.iter().map(Span::width).sum();
                let room = row.w.saturating_sub(TAIL_W + used + 2);
                if room > 8 {
                    spans.push(Span::styled(
                        format!("  {}", super::fmt::fit_str(&h.detail, room)),
                        theme.warn,
                    ));
                }
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
        let ratio = cp / lp;
        let ratio = if ratio < 100.0 {
            format!("{ratio:.1}")
        } else {
            compact(ratio)
        };
        spans.push(Span::styled(format!(" · p99 ×{ratio}"), theme.text));
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

fn pad_to(spans: &mut Vec<Span<'static>>, width: usize) {
    let used: usize = spans.iter().map(ratatui::prelude::Span::width).sum();
    if used < width {
        spans.push(Span::raw(" ".repeat(width - used)));
    } else {
        spans.push(Span::raw(" "));
    }
}

/// A metric's name in `width` characters: whole when it fits, else its start and its end
/// around `…`, so `orders-eu` and `orders-us` stay apart (`ord…eu`, `ord…us`).
fn short_label(name: &str, width: usize) -> String {
    let n = name.chars().count();
    if n <= width {
        return name.to_string();
    }
    let tail = 2.min(width.saturating_sub(2));
    let head = width.saturating_sub(tail + 1);
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod label_tests {
    use super::short_label;

    #[test]
    fn long_metric_names_keep_their_start_and_end() {
        assert_eq!(short_label("orders", 6), "orders");
        assert_eq!(short_label("orders-eu", 6), "ord…eu");
        assert_eq!(short_label("orders-us", 6), "ord…us");
        assert_eq!(short_label("kafka-lag", 6).chars().count(), 6);
    }
}
