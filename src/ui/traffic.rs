//! The traffic section: the split bar, the plan with the current step, set vs observed
//! share, pause, the write in flight and the rollback-window countdown.

use super::theme::Theme;
use super::{age, clock, pct};
use crate::app::keymap::Action;
use crate::app::state::{SmokeState, State};
use crate::core::{Env, Millis};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut lines = banners(state, theme, area.width as usize);
    // Cut at whole words with `…`, never a unit off a number (the events pane and `status`
    // have the whole text).
    let w = area.width as usize;
    lines.extend([
        bar(state, theme, w),
        super::fmt::fit(plan_line(state, theme), w),
        super::fmt::fit(with_progress(state, theme, window_line(state, theme)), w),
    ]);
    if let Some(l) = rollback_line(state, theme) {
        lines.push(super::fmt::fit(l, w));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// Lines the section needs: the banners, then bar, plan and window.
pub fn height(state: &State) -> u16 {
    3 + banners_of(state).len() as u16 + u16::from(rollback_shown(state))
}

/// The rollback line: "if I press r now, will the old version work?" — the standby's own
/// smoke checks and warmth while it waits, then the schema guard's verdict (`[schema]`):
/// red when a migration makes the rollback unsafe, amber when the standby fails its checks
/// or the schema cannot be known.
fn rollback_line(state: &State, theme: &Theme) -> Option<Line<'static>> {
    if !rollback_shown(state) {
        return None;
    }
    let target = state.live();
    let mut standby = Vec::new();
    if state.standby.interval_ms.is_some() && state.standby_waits() {
        standby.push(Span::styled(format!("{target} standby "), theme.dim));
        let last = state.standby.last.as_ref().filter(|l| l.env == target);
        match (last, state.standby.running) {
            (Some(l), _) if l.passed => standby.push(Span::styled(
                format!("✓ smoke {} ago", age(state.now.saturating_sub(l.at))),
                theme.ok,
            )),
            (Some(l), _) => {
                // The events pane has the whole summary.
                let mut why: String = l.summary.chars().take(60).collect();
                if l.summary.chars().count() > 60 {
                    why.push('…');
                }
                standby.push(Span::styled(
                    format!(
                        "✕ smoke FAILED {} ago: {why}",
                        age(state.now.saturating_sub(l.at))
                    ),
                    theme.warn,
                ));
            }
            (None, Some(_)) => standby.push(Span::styled("⟳ smoke running", theme.warn)),
            (None, None) => standby.push(Span::styled("○ smoke not run yet", theme.dim)),
        }
        let (warm, cold) = state.warmth(target);
        standby.push(Span::styled(" · ", theme.dim));
        standby.push(Span::styled(
            warm,
            if cold { theme.warn } else { theme.text },
        ));
    }
    let mut schema = Vec::new();
    let mut danger = false;
    if let Some(j) = state.rollback_safety() {
        let version = state.signals.get(target).version.clone();
        let words = j.words(version.as_deref(), &|t| state.hhmm(t));
        let (glyph, style) = match j.safety {
            crate::core::schema::Safety::Unsafe { .. } => ("⚠", theme.rollback),
            crate::core::schema::Safety::Unknown { .. } => ("?", theme.warn),
            crate::core::schema::Safety::Safe { .. } => ("✓", theme.ok),
        };
        danger = j.safety.state() == "unsafe";
        schema.push(Span::styled(format!("{glyph} {words}"), style));
    }
    // What matters most comes first, where a narrow terminal still shows it.
    let (first, second) = if danger {
        (schema, standby)
    } else {
        (standby, schema)
    };
    let mut spans = vec![Span::styled(" rollback ", theme.dim)];
    // What `r` will do: one call, or a ramp onto a cold target.
    if let Some(how) = how(state) {
        let ramp = how.contains("ramp") || how.contains("RAMP");
        let how = if how.starts_with("RAMP") {
            format!("COLD {how}")
        } else {
            how
        };
        spans.push(Span::styled(
            how,
            if ramp { theme.warn } else { theme.text },
        ));
        if !first.is_empty() || !second.is_empty() {
            spans.push(Span::styled(" · ", theme.dim));
        }
    }
    let both = !first.is_empty() && !second.is_empty();
    spans.extend(first);
    if both {
        spans.push(Span::styled(" · ", theme.dim));
    }
    spans.extend(second);
    Some(Line::from(spans))
}

/// Whether the rollback line has anything to say: a schema guard, or a standby waiting
/// with smoke checks to run against it.
fn rollback_shown(state: &State) -> bool {
    state.schema.contract.is_some()
        || (state.standby.interval_ms.is_some() && state.standby_waits())
        || how(state).is_some()
}

/// What `r` does now ("r: instant", "r: ramp 50 → 0, blue is cold: …"), while there is
/// something to roll back.
fn how(state: &State) -> Option<String> {
    if !state.standby_waits() && state.writes.ramp.is_none() {
        return None;
    }
    crate::app::update::rollback_how(state)
}

/// What must stay on screen until it is resolved: a failed write (until a later write
/// succeeds) and a write that went out without its journal line (until quit).
fn banners_of(state: &State) -> Vec<(bool, String)> {
    let mut v = Vec::new();
    if let Some(t) = &state.writes.not_journaled {
        v.push((true, format!(" ✕ {t}")));
    }
    if state.traffic.live_from == Some(crate::core::LiveFrom::Config)
        && let Some(r) = state
            .traffic
            .record
            .as_ref()
            .filter(|r| r.live != state.live())
    {
        v.push((
            false,
            format!(
                " ⚠ `live` in the config says {}, the cutover record says {} (started by {}): {} sends all traffic to {}",
                state.live(),
                r.live,
                crate::shared::printable(&r.by),
                state.key(Action::Rollback),
                state.live()
            ),
        ));
    }
    if let Some(b) = &state.writes.failed {
        v.push((b.rollback, format!(" ✕ {}", b.text)));
    }
    v.extend(approval_banner(state));
    v
}

/// A second person (`[approval]`): our request waiting, or someone else's open to answer.
fn approval_banner(state: &State) -> Option<(bool, String)> {
    let wall = state.wall_ms(state.now);
    let left = |until: i64| {
        let ms = u64::try_from(until.saturating_sub(wall)).unwrap_or(0);
        crate::app::words::clock(ms)
    };
    if let Some(w) = &state.approval.waiting {
        let what = crate::app::words::approval_what(
            state,
            w.need,
            &w.confirm.action,
            w.confirm.from,
            w.confirm.share,
        );
        let asked = if w.asked { "" } else { " (asking …)" };
        return Some((
            false,
            format!(
                " ⏳ WAITING FOR APPROVAL (another person){asked}: {what} · {} left · {} withdraws · {} rolls back",
                left(w.until),
                state.key(Action::Cancel),
                state.key(Action::Rollback)
            ),
        ));
    }
    let r = state.traffic.record.as_ref()?;
    let a = r.ask.as_ref()?;
    if r.answer.is_some()
        || wall > a.until
        || crate::core::approval::same_person(&a.who, &state.settings.driver)
        || !crate::app::words::asker_drives(state, a)
    {
        return None;
    }
    Some((
        false,
        format!(
            " ✋ {} asks for approval: {} · {} left · {} looks and answers",
            crate::shared::printable(&a.who),
            crate::app::words::approval_asked(state, a),
            left(a.until),
            state.key(Action::Approve)
        ),
    ))
}

/// One line each, cut to the width with `…` (the events panel has the whole text).
fn banners(state: &State, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    banners_of(state)
        .into_iter()
        .map(|(red, text)| {
            let style = if red { theme.rollback } else { theme.warn };
            let text = if text.chars().count() > width {
                let mut t: String = text.chars().take(width.saturating_sub(1)).collect();
                t.push('…');
                t
            } else {
                text
            };
            Line::from(Span::styled(text, style))
        })
        .collect()
}

fn bar(state: &State, theme: &Theme, width: usize) -> Line<'static> {
    let Some(w) = state.traffic.weights else {
        let why = state.traffic.backend_error.as_ref().map_or_else(
            || "waiting for the backend".to_string(),
            |(e, _)| e.message().to_string(),
        );
        return Line::from(vec![
            Span::styled(" traffic UNKNOWN: ", theme.breach),
            Span::styled(why, theme.text),
        ]);
    };
    let (Some(blue), Some(green)) = (w.share_of(Env::Blue), w.share_of(Env::Green)) else {
        return Line::from(Span::styled(
            format!(" no traffic anywhere: both weights are 0 ({w})"),
            theme.breach,
        ));
    };
    let labels = 6 + 6 + 7 + 7 + 2;
    let stale_tag = if state.weights_stale() {
        format!(
            "  STALE {}",
            age(state
                .now
                .saturating_sub(state.traffic.weights_at.unwrap_or(0)))
        )
    } else {
        String::new()
    };
    let room = width
        .saturating_sub(labels + stale_tag.chars().count() + 1)
        .max(10);
    let frac = w.fraction(Env::Blue).unwrap_or(0.0);
    let mut bw = (frac * room as f64).round() as usize;
    if blue > 0 && bw == 0 {
        bw = 1;
    }
    if green > 0 && bw == room {
        bw = room - 1;
    }
    let gw = room - bw;
    let mut spans = vec![
        Span::styled(" BLUE ", theme.env(Env::Blue)),
        Span::styled("█".repeat(bw), theme.bar(Env::Blue)),
        Span::styled(format!(" {blue:>3} %  "), theme.env(Env::Blue)),
        Span::styled("GREEN ", theme.env(Env::Green)),
        Span::styled("█".repeat(gw), theme.bar(Env::Green)),
        Span::styled(format!(" {green:>3} %"), theme.env(Env::Green)),
    ];
    if !stale_tag.is_empty() {
        spans.push(Span::styled(stale_tag, theme.stale));
    }
    Line::from(spans)
}

fn plan_line(state: &State, theme: &Theme) -> Line<'static> {
    let c = &state.cutover;
    let cur = c.share;
    let mut steps: Vec<u8> = std::iter::once(0)
        .chain(c.plan.steps().iter().copied())
        .collect();
    if let Some(s) = cur
        && !steps.contains(&s)
    {
        steps.push(s);
        steps.sort_unstable();
    }
    let mut spans = vec![Span::styled(" plan ", theme.dim)];
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" ── ", theme.dim));
        }
        if Some(*s) == cur {
            spans.push(Span::styled(format!("[{s}]"), theme.env(state.candidate())));
        } else if Some(*s) == c.intent {
            spans.push(Span::styled(format!("→{s}"), theme.warn));
        } else {
            spans.push(Span::styled(s.to_string(), theme.text));
        }
    }
    if c.flip_only {
        spans.push(Span::styled(
            format!(
                "  (flip-only: {} has no partial steps)",
                state.settings.backend_kind
            ),
            theme.dim,
        ));
    }
    let cand = state.candidate();
    spans.push(Span::styled("   set ", theme.dim));
    spans.push(Span::styled(
        cur.map_or_else(|| "?".to_string(), |s| format!("{s} %")),
        theme.text,
    ));
    match state.hold() {
        Some(crate::core::Hold::Bake { left }) => {
            spans.push(Span::styled(format!("  bake {}", clock(left)), theme.warn));
        }
        Some(crate::core::Hold::Requests { seen, min }) => spans.push(Span::styled(
            format!(
                "  hold {}/{min} req",
                seen.map_or_else(|| "?".to_string(), |n| n.to_string())
            ),
            theme.warn,
        )),
        None => {}
    }
    spans.push(Span::styled("  observed ", theme.dim));
    let settling = state.settling_until();
    match state.observed_share() {
        // Still mixes traffic from before the last move: no number to compare yet.
        Some(_) if settling.is_some() => spans.push(Span::styled(
            format!(
                "— settling {}s",
                settling
                    .unwrap_or(0)
                    .saturating_sub(state.now)
                    .div_ceil(1000)
            ),
            theme.dim,
        )),
        Some(o) => {
            // As said in the events: only a mismatch that lasted.
            let off = state.traffic.mismatch_reported;
            let style = if off { theme.warn } else { theme.text };
            spans.push(Span::styled(format!("{} {cand}", pct(o)), style));
            if off {
                spans.push(Span::styled(" ≠ set", theme.warn));
            }
        }
        None => spans.push(Span::styled(super::strings::NO_DATA, theme.dim)),
    }
    if let Some(w) = state.writing() {
        let what = if w.rollback {
            "ROLLING BACK"
        } else {
            "writing"
        };
        let style = if w.rollback {
            theme.rollback
        } else {
            theme.warn
        };
        spans.push(Span::styled(
            format!(
                "   ⟳ {what} → {} % {}",
                w.share,
                age(state.now.saturating_sub(w.since))
            ),
            style,
        ));
    }
    if c.paused {
        spans.push(Span::styled("   ‖ PAUSED", theme.warn));
    }
    Line::from(spans)
}

/// What a write in flight waits for at the backend ("swap in progress: green Updating
/// 20 s"), first on the window line: the plan line has no room left for it.
fn with_progress(state: &State, theme: &Theme, line: Line<'static>) -> Line<'static> {
    let Some(p) = state.writing().and_then(|w| w.progress.clone()) else {
        return line;
    };
    let mut spans = vec![Span::styled(format!(" ⟳ {p}"), theme.warn)];
    if !line.spans.iter().all(|s| s.content.trim().is_empty()) {
        spans.push(Span::styled(" ·", theme.dim));
    }
    spans.extend(line.spans);
    Line::from(spans)
}

fn window_line(state: &State, theme: &Theme) -> Line<'static> {
    let c = &state.cutover;
    if state.window.auto.held && !state.window.auto.cancelled {
        return Line::from(Span::styled(
            format!(
                " ⚠ AUTO-ROLLBACK HELD: the schema makes a rollback unsafe (below) — {} rolls back anyway, {} cancels",
                state.key(Action::Rollback),
                state.key(Action::CancelAuto)
            ),
            theme.rollback,
        ));
    }
    if let Some(left) = state.auto_rollback_in() {
        let key = state
            .settings
            .keymap
            .keys(crate::app::keymap::Action::CancelAuto)
            .first()
            .map_or_else(|| "?".to_string(), std::string::ToString::to_string);
        return Line::from(vec![Span::styled(
            format!(
                " ⚠ AUTO-ROLLBACK in {} s — {key} to cancel",
                left.div_ceil(1000)
            ),
            theme.rollback,
        )]);
    }
    if let Some(held) = &state.window.held {
        let why = state.candidate_failing().unwrap_or_else(|| {
            format!("{held} (now judged fine, but a held window completes only on y)")
        });
        return Line::from(Span::styled(
            format!(
                " ⚠ window held at 0:00: {why} — {} rolls back, {} completes anyway",
                state.key(Action::Rollback),
                state.key(Action::CompleteWindow)
            ),
            theme.rollback,
        ));
    }
    if state.view.ask_target {
        return Line::from(Span::styled(
            format!(
                " ROLLBACK: who was live is unknown — {}: all to blue · {}: all to green · other key cancels",
                state.key(Action::PickBlue),
                state.key(Action::PickGreen)
            ),
            theme.rollback,
        ));
    }
    let mut spans = match c.window_remaining(state.now) {
        // Just moved back to 0 %: the truth about the numbers, not a checklist.
        None if c.share == Some(0)
            && let (Some(until), Some(at)) = (state.settling_until(), state.traffic.moved_at) =>
        {
            let cand = state.candidate();
            let how = if state.traffic.moved_by_rollback {
                "rolled back"
            } else {
                "moved to 0 %"
            };
            vec![Span::styled(
                format!(
                    " {how} {} — {cand}'s numbers settle until {}",
                    state.wall(at).format("%H:%M:%S"),
                    state.wall(until).format("%H:%M:%S")
                ),
                theme.warn,
            )]
        }
        // At 0 %: the pre-flight checklist for the first step.
        None if c.share == Some(0) && state.traffic.live_known => preflight_spans(state, theme),
        None if !state.traffic.live_known => vec![Span::styled(
            format!(
                " live UNKNOWN: {} — {} asks where all traffic goes",
                state.live_unknown_why(),
                state.key(Action::Rollback)
            ),
            theme.warn,
        )],
        None => vec![Span::styled(
            format!(" {}", super::strings::WINDOW_NOT_STARTED),
            theme.dim,
        )],
        Some(left) => countdown_spans(state, theme, left),
    };
    spans.extend(smoke_spans(state, theme));
    // A DNS switch's tail comes first: after a rollback it is what the operator must know.
    if let Some(until) = state.traffic.tail_until.filter(|u| *u > state.now) {
        spans.insert(
            0,
            Span::styled(
                format!(
                    " DNS: resolvers may answer the old way until {} ·",
                    state.wall(until).format("%H:%M:%S")
                ),
                theme.warn,
            ),
        );
    }
    Line::from(spans)
}

/// At 0 %: the pre-flight checklist for the first step.
fn preflight_spans(state: &State, theme: &Theme) -> Vec<Span<'static>> {
    let mut v = vec![Span::styled(" pre-flight ", theme.dim)];
    for (name, ok) in state.preflight() {
        use crate::app::state::PreflightCheck;
        if name == PreflightCheck::Settled && ok == Some(true) {
            continue;
        }
        if name == PreflightCheck::SmokePassed {
            let (text, style) = match ok {
                Some(ok) => smoke_item(state, ok),
                None => {
                    let dim: fn(&Theme) -> ratatui::style::Style = |t| t.dim;
                    (" – no smoke ".to_string(), dim)
                }
            };
            v.push(Span::styled(text, style(theme)));
            continue;
        }
        // No source is not "no fresh data": say which signal nothing provides.
        if name == PreflightCheck::DataFresh && ok == Some(false) {
            let p = state.settings.provided;
            let missing = match (p.error_rate, p.p99) {
                (false, false) => Some("error/p99"),
                (false, true) => Some("error-rate"),
                (true, false) => Some("p99"),
                (true, true) => None,
            };
            if let Some(what) = missing {
                v.push(Span::styled(format!(" ✕ no {what} source "), theme.breach));
                continue;
            }
        }
        let (glyph, style) = match ok {
            Some(true) => ("✓", theme.ok),
            Some(false) => ("✕", theme.breach),
            None => ("–", theme.dim),
        };
        v.push(Span::styled(format!(" {glyph} {name} "), style));
    }
    v
}

/// The pre-flight's smoke item as it reads: running, passed, failed, or not run (yet, or
/// not lately).
fn smoke_item(state: &State, passed: bool) -> (String, fn(&Theme) -> ratatui::style::Style) {
    let cand = state.candidate();
    match &state.smoke {
        _ if passed => (" ✓ smoke passed ".into(), |t| t.ok),
        Some(SmokeState::Running { .. }) => (" ⟳ smoke running ".into(), |t| t.warn),
        Some(SmokeState::Done {
            env, passed: false, ..
        }) if *env == cand => (" ✕ smoke failed ".into(), |t| t.breach),
        Some(SmokeState::Done { env, .. }) if *env == cand => {
            (" ○ smoke not run lately ".into(), |t| t.dim)
        }
        _ => (" ○ smoke not run ".into(), |t| t.dim),
    }
}

/// The window's countdown and how warm the live env is kept.
fn countdown_spans(state: &State, theme: &Theme, left: Millis) -> Vec<Span<'static>> {
    let live = state.live();
    let warm = state
        .signals
        .get(live)
        .health(state.now, state.settings.poll_interval);
    let warm_style = theme.health(warm);
    let soon = left <= state.settings.window_warn_ms;
    // Ready of desired, where the health source counts them (Deployments, probes).
    let warmth = match &state.signals.get(live).health {
        Some((h, _)) if h.total == 0 && h.health == crate::core::Health::Down => {
            "⚠ NOT WARM: scaled to 0".to_string()
        }
        Some((h, _)) if h.up == 0 && h.health == crate::core::Health::Down => {
            format!("⚠ NOT WARM: 0/{} ready", h.total)
        }
        Some((h, _)) if h.total > 0 => {
            format!("kept warm: {} {}/{}", warm.word(), h.up, h.total)
        }
        _ => format!("kept warm: {}", warm.word()),
    };
    vec![
        Span::styled(" rollback window ", theme.text),
        Span::styled(clock(left), if soon { theme.warn } else { theme.title }),
        Span::styled(" left · ", theme.text),
        Span::styled(format!("{live} "), theme.env(live)),
        Span::styled(warmth, warm_style),
        Span::styled(
            if soon {
                format!(" · ends soon, {} extends", state.key(Action::ExtendWindow))
            } else {
                String::new()
            },
            theme.warn,
        ),
    ]
}

/// The last smoke run, after the window line.
fn smoke_spans(state: &State, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    match &state.smoke {
        Some(SmokeState::Running { env, since }) => spans.push(Span::styled(
            format!(
                "   smoke {env}: running {}",
                age(state.now.saturating_sub(*since))
            ),
            theme.warn,
        )),
        Some(SmokeState::Done {
            env, passed, at, ..
        }) => {
            let (word, style) = if *passed {
                ("✓ PASSED", theme.ok)
            } else {
                ("✕ FAILED", theme.breach)
            };
            spans.push(Span::styled(format!("   smoke {env}: "), theme.dim));
            spans.push(Span::styled(word, style));
            spans.push(Span::styled(
                format!(" {} ago", age(state.now.saturating_sub(*at))),
                theme.dim,
            ));
        }
        None => {}
    }
    spans
}
