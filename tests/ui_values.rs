//! The screen never lies about a value: hostile readings shown as `invalid` and why, a
//! sample a day old as `STALE 24h`, huge numbers kept inside their panel, whole words cut
//! with `…`, guardrails that say NO DATA because no source is configured or WAITING for
//! requests, and blue and green sparklines on one scale. Rendered at 80 × 24 and 120 × 32
//! from states made by the real simulator and reducer.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use cutover::app::State;
use cutover::app::fixtures::{Step, run};
use cutover::app::keymap::KeyCode;
use cutover::app::update::{Event, update};
use cutover::core::{EnvPair, Health, HealthSample, Lags, Provided, Reading};
use cutover::signals::EnvPoll;
use cutover::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(state: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::render(f, state, &Theme::default())).unwrap();
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn poll(s: &mut State, source: &str, now: u64, blue: EnvPoll, green: EnvPoll) {
    update(
        s,
        Event::Signals {
            source: source.into(),
            now,
            result: Ok(Box::new(EnvPair::new(blue, green))),
        },
    );
}

/// The green (right-hand) half of the row that starts with `label`.
fn green_row<'a>(screen: &'a str, label: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("│ {label}")))
        .and_then(|l| l.split('│').nth(2))
        .unwrap_or_else(|| panic!("no row {label}:\n{screen}"))
}

/// Mid-cutover on the simulator, then a Prometheus that answers hostile values.
fn hostile() -> State {
    let mut s = run("bad-release", 40, &[(5, Step::Key(KeyCode::Right))]);
    let now = s.now;
    let green = EnvPoll {
        error_rate: Some(Reading::Invalid(
            "5 series for env=green: add sum by (env) (instance=a|b|c|…)".into(),
        )),
        p99_ms: Some(Reading::Value(-500.0)),
        rps: Some(Reading::Value(1e308)),
        ..EnvPoll::default()
    };
    let blue = EnvPoll {
        error_rate: Some(Reading::Value(0.002)),
        p99_ms: Some(Reading::Value(7_200_000.0)),
        rps: Some(Reading::Value(1e308)),
        lags: Lags {
            error_rate: 86_400_000,
            ..Lags::default()
        },
        ..EnvPoll::default()
    };
    poll(&mut s, "prometheus", now, blue, green);
    s
}

#[test]
fn hostile_values_80x24() {
    let s = hostile();
    let screen = screen(&s, 80, 24);
    assert!(
        green_row(&screen, "errors").contains("invalid 5 series…"),
        "{screen}"
    );
    assert!(green_row(&screen, "errors").contains("INVALID"), "{screen}");
    assert!(
        green_row(&screen, "p99").contains("invalid negative…"),
        "{screen}"
    );
    assert!(green_row(&screen, "rps").contains("1e308"), "{screen}");
    assert!(
        screen.contains("STALE 24h"),
        "blue's day-old sample:\n{screen}"
    );
    assert!(screen.contains("invalid > 1 h"), "{screen}");
    assert!(
        screen.contains("guardrails INVALID error-rate, p99"),
        "{screen}"
    );
    for never in ["inf", "✓ OK", "-500", "0000000"] {
        assert!(!screen.contains(never), "{never:?} on screen:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn hostile_values_120x32() {
    let screen = screen(&hostile(), 120, 32);
    assert!(
        green_row(&screen, "errors").contains("invalid 5 series for env=green: add…"),
        "{screen}"
    );
    assert!(
        green_row(&screen, "p99").contains("invalid negative (-500 ms)"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// nginx or an ALB with health probes only: nothing provides error rate or p99.
#[test]
fn no_source_configured_80x24() {
    let mut s = run("happy", 3, &[]);
    s.signals = EnvPair::default();
    s.settings.provided = Provided::HEALTH;
    let up = || EnvPoll {
        health: Some(HealthSample {
            health: Health::Up,
            up: 2,
            total: 2,
            latency_ms: Some(12.0),
            failures: 0,
            detail: "2/2 up".into(),
        }),
        ..EnvPoll::default()
    };
    let now = s.now;
    poll(&mut s, "health probes", now, up(), up());
    let screen = screen(&s, 80, 24);
    assert!(green_row(&screen, "errors").contains("NO DATA"), "{screen}");
    assert!(
        screen.contains("guardrails NO DATA — no source for…"),
        "{screen}"
    );
    assert!(!screen.contains("yet"), "no source is not 'yet':\n{screen}");
    let wide = self::screen(&s, 120, 32);
    assert!(
        wide.contains("guardrails NO DATA — no source for error-rate or p99"),
        "{wide}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn too_few_requests_wait_80x24() {
    let mut s = run("bad-release", 40, &[(5, Step::Key(KeyCode::Right))]);
    s.settings.guardrails.min_requests = Some(200);
    let now = s.now;
    let counts = |requests: f64, rate: f64| EnvPoll {
        error_rate: Some(Reading::Value(rate)),
        requests: Some(Reading::Value(requests)),
        errors: Some(Reading::Value((requests * rate).round())),
        ..EnvPoll::default()
    };
    poll(
        &mut s,
        "simulator",
        now,
        counts(9000.0, 0.001),
        counts(12.0, 0.25),
    );
    let screen = screen(&s, 80, 24);
    assert!(green_row(&screen, "errors").contains("WAITING"), "{screen}");
    assert!(screen.contains("guardrails WAITING 12/200 req"), "{screen}");
    assert!(
        !screen.contains("BREACH"),
        "12 requests judge nothing:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn blue_and_green_share_one_scale() {
    let mut s = run("happy", 1, &[]);
    s.signals = EnvPair::default();
    let rate = |r: f64| EnvPoll {
        error_rate: Some(Reading::Value(r)),
        ..EnvPoll::default()
    };
    let t0 = s.now;
    for i in 0..10 {
        poll(&mut s, "t", t0 + i * 1000, rate(0.0005), rate(0.04));
    }
    s.now = t0 + 9000;
    let screen = screen(&s, 120, 32);
    let row = screen.lines().find(|l| l.starts_with("│ errors")).unwrap();
    let (blue, green) = (
        row.split('│').nth(1).unwrap(),
        row.split('│').nth(2).unwrap(),
    );
    assert!(
        blue.contains("▁▁▁▁▁▁▁▁▁▁") && !blue.contains('█'),
        "0.05 % is low next to 4 %: {row}"
    );
    assert!(green.contains("██████████"), "{row}");
}

#[test]
fn a_breach_keeps_its_units_at_80x24() {
    let s = run(
        "bad-release",
        90,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
        ],
    );
    let screen = screen(&s, 80, 24);
    let line = screen
        .lines()
        .find(|l| l.contains("guardrails"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(line.contains("✕ BREACH: errors "), "{screen}");
    let words = line.split('│').nth(2).unwrap().trim_end();
    assert!(
        words.ends_with('%') || words.ends_with('…'),
        "ends on a unit or …: {words:?}"
    );
    assert!(!words.ends_with("> 1"), "a unit torn off: {words:?}");
    let vs = screen.lines().find(|l| l.contains("vs live")).unwrap();
    assert!(
        !vs.contains("p99") || vs.contains('×'),
        "a ratio is never cut from its label: {vs}"
    );
}

#[test]
fn no_trend_arrow_beside_a_value_that_is_not_a_number() {
    // bad-release at 50 %: green's error rate is rising, so its row carries ▲.
    let mut s = run(
        "bad-release",
        40,
        &[
            (5, Step::Key(KeyCode::Right)),
            (20, Step::Key(KeyCode::Right)),
        ],
    );
    let rising = screen(&s, 120, 32);
    assert!(green_row(&rising, "errors").contains('▲'), "{rising}");
    // Then the feed answers no data: the arrow goes with the number.
    let now = s.now + 500;
    let none = || EnvPoll {
        error_rate: Some(Reading::NoData("empty result".into())),
        ..EnvPoll::default()
    };
    poll(&mut s, "simulator", now, none(), none());
    let after = screen(&s, 120, 32);
    let row = green_row(&after, "errors");
    assert!(!row.contains('▲') && !row.contains('▼'), "{row:?}\n{after}");
}

/// Text a backend or a feed gives (another operator's lease holder, a version) reaches the
/// screen escaped: an escape sequence or a bidirectional override is shown as `\u{…}`,
/// never sent to the terminal (ratatui drops the ESC alone, leaving `[2J` and passing the
/// override through).
#[test]
fn text_from_a_backend_is_shown_escaped() {
    let mut s = run("bad-release", 20, &[]);
    let now = s.now;
    let holder =
        cutover::core::Lease::decode("ev\u{1b}[2Jil\u{202e}@h 1000 99999999999999 tok").unwrap();
    update(
        &mut s,
        Event::Lease {
            now,
            role: cutover::app::state::Role::Observer,
            holder: Some(holder),
            took_over: None,
            error: None,
        },
    );
    let green = EnvPoll {
        version: Some("v2\u{1b}]0;OWNED\u{7}".into()),
        ..EnvPoll::default()
    };
    poll(&mut s, "sim", now, EnvPoll::default(), green);
    let shown = screen(&s, 120, 32);
    assert!(
        shown.contains("ev\\u{1b}[2Jil\\u{202e}@h drives"),
        "{shown}"
    );
    // Escaped, then cut to the version's 9 columns.
    assert!(shown.contains("v2\\u{1b}…"), "{shown}");
    // The events pane says the same holder escaped too.
    assert!(
        shown
            .lines()
            .filter(|l| l.contains("ev\\u{1b}[2Jil\\u{202e}@h"))
            .count()
            >= 2,
        "{shown}"
    );
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{7}') && !shown.contains('\u{1b}'),
        "{shown}"
    );
}

/// A long version is cut to its first characters: the env's role and share stay on the
/// line at 80 × 24 (they were pushed off it).
#[test]
fn a_long_version_leaves_the_role_and_share_on_screen() {
    let mut s = run("bad-release", 20, &[(5, Step::Key(KeyCode::Right))]);
    let now = s.now;
    let long = || EnvPoll {
        version: Some("1.5.0-rc.3+build.20261126.abcdef".into()),
        ..EnvPoll::default()
    };
    poll(&mut s, "sim", now, long(), long());
    let shown = screen(&s, 80, 24);
    let title = shown.lines().nth(1).unwrap();
    assert!(title.contains("1.5.0-rc…"), "{shown}");
    assert!(title.contains("SERVING") && title.contains('%'), "{shown}");
}
