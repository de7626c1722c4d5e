//! The screen, rendered from states made by the real simulator and reducer on virtual time,
//! at 120 × 32 and 80 × 24, plus colour and glyph checks on key cells.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use cutover::app::State;
use cutover::app::fixtures::{Step, run};
use cutover::app::keymap::{Key, KeyCode};
use cutover::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn draw(state: &State, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::render(f, state, theme)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
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

/// Cells where `word` starts, scanning rows.
fn find(b: &Buffer, word: &str) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    for y in 0..b.area.height {
        let row: Vec<&str> = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        for x in 0..row.len() {
            let s: String = row[x..]
                .iter()
                .take(word.chars().count())
                .copied()
                .collect();
            if s == word {
                out.push((x as u16, y));
            }
        }
    }
    out
}

fn mid_cutover() -> State {
    run("bad-release", 40, &[(5, Step::Key(KeyCode::Right))])
}

fn breach_at_half() -> State {
    run(
        "bad-release",
        90,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
            (90, Step::Key(KeyCode::Right)),
        ],
    )
}

#[test]
fn mid_cutover_120x32() {
    insta::assert_snapshot!(text(&draw(&mid_cutover(), &Theme::default(), 120, 32)));
}

#[test]
fn mid_cutover_80x24() {
    insta::assert_snapshot!(text(&draw(&mid_cutover(), &Theme::default(), 80, 24)));
}

#[test]
fn breach_and_promote_confirm_120x32() {
    let s = breach_at_half();
    assert!(s.view.confirm.is_some(), "promotion asks to confirm");
    insta::assert_snapshot!(text(&draw(&s, &Theme::default(), 120, 32)));
}

#[test]
fn feeds_down_80x24() {
    let s = run(
        "bad-release",
        30,
        &[
            (5, Step::Key(KeyCode::Right)),
            (10, Step::BackendDown),
            (10, Step::SignalsDown),
        ],
    );
    let t = draw(&s, &Theme::default(), 80, 24);
    let screen = text(&t);
    assert!(screen.contains("STALE"), "{screen}");
    assert!(
        !screen.contains("0.00 %"),
        "unknown is never shown as zero:\n{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn promoted_window_countdown_120x32() {
    let s = run(
        "happy",
        130,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Char('y'))),
        ],
    );
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(screen.contains("rollback window 13:50 left"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay_80x24() {
    let s = run("happy", 3, &[(2, Step::Key(KeyCode::Char('?')))]);
    insta::assert_snapshot!(text(&draw(&s, &Theme::default(), 80, 24)));
}

#[test]
fn too_small_never_panics() {
    let s = mid_cutover();
    for (w, h) in [
        (1, 1),
        (10, 3),
        (59, 24),
        (80, 15),
        (60, 16),
        (200, 50),
        (59, 15),
    ] {
        let t = draw(&s, &Theme::default(), w, h);
        let small = w < 60 || h < 16;
        assert_eq!(
            text(&t).contains("terminal too small"),
            small && w >= 18 && h >= 1,
            "{w}×{h}"
        );
    }
    insta::assert_snapshot!(text(&draw(&s, &Theme::default(), 50, 12)));
}

#[test]
fn breach_is_red_bold_and_says_so() {
    let s = breach_at_half();
    let t = draw(&s, &Theme::default(), 120, 32);
    let b = t.backend().buffer();
    let hits = find(b, "BREACH");
    assert!(!hits.is_empty(), "the word BREACH is on screen");
    for (x, y) in hits {
        assert_eq!(b[(x, y)].fg, Color::Red);
        assert!(b[(x, y)].modifier.contains(Modifier::BOLD));
    }
}

#[test]
fn deuteranopia_breach_is_orange_and_mono_has_no_colour() {
    let s = breach_at_half();
    let t = draw(&s, &Theme::builtin("deuteranopia").unwrap(), 120, 32);
    let b = t.backend().buffer();
    let (x, y) = find(b, "BREACH")[0];
    assert_eq!(b[(x, y)].fg, Color::Rgb(0xe6, 0x9f, 0x00));

    let t = draw(&s, &Theme::builtin("mono").unwrap(), 120, 32);
    let b = t.backend().buffer();
    for cell in b.content() {
        assert!(matches!(cell.fg, Color::Reset), "mono cell {cell:?}");
    }
    let (x, y) = find(b, "BREACH")[0];
    assert!(
        b[(x, y)].modifier.contains(Modifier::REVERSED),
        "mono tells breach by reverse video"
    );
}

#[test]
fn env_panels_wear_their_colours_and_the_rollback_key_is_marked() {
    let t = draw(&mid_cutover(), &Theme::default(), 120, 32);
    let b = t.backend().buffer();
    let (x, y) = find(b, "GREEN")[0];
    assert_eq!(b[(x, y)].fg, Color::Rgb(0x3e, 0xc4, 0x6d));
    let (x, y) = find(b, "ROLLBACK")[0];
    assert_eq!(b[(x, y)].fg, Color::Red);
}

#[test]
fn flip_only_backend_shows_its_plan_and_refuses_partial_steps() {
    use cutover::app::update::{Event, update};
    let mut s = run("happy", 3, &[]);
    s.cutover = s.cutover.clone().flip_only();
    s.settings.backend_kind = "kube-service".into();
    let press = s
        .settings
        .keymap
        .press(&Key::new(KeyCode::Char('5'), false));
    let effects = update(&mut s, Event::Key { press, now: 3500 });
    assert!(effects.is_empty(), "{effects:?}");
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(
        screen.contains("plan 0 ── [0]") || screen.contains("plan [0] ── 100"),
        "{screen}"
    );
    assert!(
        screen.contains("flip-only: kube-service has no partial steps"),
        "{screen}"
    );
    assert!(screen.contains("switches all traffic at once"), "{screen}");
    // → goes straight to promotion, which asks to confirm.
    let press = s.settings.keymap.press(&Key::new(KeyCode::Right, false));
    update(&mut s, Event::Key { press, now: 3600 });
    assert_eq!(s.view.confirm.as_ref().map(|c| c.share), Some(100));
}

#[test]
fn live_scaled_to_zero_during_the_window_is_flagged() {
    use cutover::app::update::{Event, update};
    use cutover::core::{EnvPair, Health, HealthSample};
    use cutover::signals::EnvPoll;
    let mut s = run(
        "happy",
        70,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Char('y'))),
        ],
    );
    let sample = |up, total, health, detail: &str| EnvPoll {
        health: Some(HealthSample {
            health,
            up,
            total,
            latency_ms: None,
            failures: 0,
            detail: detail.into(),
        }),
        ..EnvPoll::default()
    };
    let poll = EnvPair::new(
        sample(0, 0, Health::Down, "Deployment checkout-blue scaled to 0"),
        sample(2, 2, Health::Up, "Deployment checkout-green: 2/2 ready"),
    );
    update(
        &mut s,
        Event::Signals {
            source: "deployment readiness".into(),
            now: 71_000,
            result: Ok(Box::new(poll)),
        },
    );
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(screen.contains("blue ⚠ NOT WARM: scaled to 0"), "{screen}");
    assert!(
        screen.contains("blue is not warm while the rollback window is open"),
        "{screen}"
    );
}

#[test]
fn a_failed_rollback_and_a_missing_journal_line_stay_on_the_traffic_panel_80x24() {
    use cutover::app::engine::WriteResult;
    use cutover::app::update::{Effect, Event, update};
    use cutover::core::Weights;
    let mut s = mid_cutover();
    let now = s.now;
    let press = s
        .settings
        .keymap
        .press(&Key::new(KeyCode::Char('r'), false));
    let e = update(
        &mut s,
        Event::Key {
            press,
            now: now + 1,
        },
    );
    let Some(Effect::Write(o)) = e.into_iter().find(|e| matches!(e, Effect::Write(_))) else {
        panic!("r writes")
    };
    update(
        &mut s,
        Event::WriteDone {
            id: o.id,
            now: now + 50,
            result: WriteResult::Failed {
                error: "HAProxy 127.0.0.1:9999 refused: Permission denied".into(),
                after: Some(Weights::new(90, 10)),
            },
            journal_error: Some("journal j.jsonl: No space left on device (os error 28)".into()),
            record_error: None,
            settling: false,
            tail: None,
        },
    );
    // Plenty of later events: the banners do not scroll away.
    for i in 0..40 {
        update(
            &mut s,
            Event::Tick {
                now: now + 100 + i * 1000,
            },
        );
    }
    let t = draw(&s, &Theme::default(), 80, 24);
    let screen = text(&t);
    assert!(screen.contains("✕ ROLLBACK FAILED"), "{screen}");
    assert!(screen.contains("✕ ROLLBACK NOT JOURNALED"), "{screen}");
    assert!(
        screen.contains("BLUE") && screen.contains("plan"),
        "bar and plan stay: {screen}"
    );
    let b = t.backend().buffer();
    let (x, y) = find(b, "ROLLBACK FAILED")[0];
    assert_eq!(b[(x, y)].fg, Theme::default().rollback.fg.unwrap(), "red");
    insta::assert_snapshot!(screen);
}

#[test]
fn rebound_keys_are_the_ones_the_screen_names() {
    use cutover::app::keymap::Keymap;
    use cutover::app::update::{Event, update};
    use std::collections::BTreeMap;
    let mut s = mid_cutover();
    let t0 = s.now;
    let keys: BTreeMap<String, Vec<String>> = [
        ("rollback", vec!["x"]),
        ("confirm", vec!["j"]),
        ("set-50", vec!["z"]),
        ("pick-blue", vec!["1"]),
    ]
    .into_iter()
    .map(|(a, k)| (a.to_string(), k.into_iter().map(String::from).collect()))
    .collect();
    s.settings.keymap = Keymap::with_overrides(&keys).unwrap();
    let press = |s: &State, c: char| s.settings.keymap.press(&Key::new(KeyCode::Char(c), false));

    // The help at 80 × 24 with the digits rebound: one row for the shares, the footer kept,
    // naming the rollback key as bound.
    let p = press(&s, '?');
    update(
        &mut s,
        Event::Key {
            press: p,
            now: t0 + 100,
        },
    );
    let screen = text(&draw(&s, &Theme::default(), 80, 24));
    assert!(screen.contains("1 2 3 4 z 6 7 8 9"), "{screen}");
    assert!(
        screen.contains("any key closes · x rolls back from anywhere"),
        "{screen}"
    );
    assert!(!screen.contains(" r rolls back"), "{screen}");
    // Too short for every row: how many are hidden is said, the footer stays.
    let screen = text(&draw(&s, &Theme::default(), 80, 18));
    assert!(screen.contains("more: a taller terminal"), "{screen}");
    assert!(screen.contains("x rolls back from anywhere"), "{screen}");

    // The confirm dialog names j and x, and j confirms.
    // Any other key closes the help.
    let p = s.settings.keymap.press(&Key::new(KeyCode::Esc, false));
    update(
        &mut s,
        Event::Key {
            press: p,
            now: t0 + 200,
        },
    );
    let p = s
        .settings
        .keymap
        .press(&Key::new(KeyCode::Char('9'), false));
    update(
        &mut s,
        Event::Key {
            press: p,
            now: t0 + 300,
        },
    );
    assert!(s.view.confirm.is_some(), "a jump asks to confirm");
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(screen.contains("j confirm"), "{screen}");
    assert!(screen.contains("x ROLLBACK"), "{screen}");
    let p = press(&s, 'j');
    let effects = update(
        &mut s,
        Event::Key {
            press: p,
            now: t0 + 400,
        },
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, cutover::app::update::Effect::Write(o) if o.share == 90)),
        "{effects:?}"
    );
}

#[test]
fn unknown_traffic_is_not_called_a_split() {
    let mut s = run("happy", 3, &[]);
    s.traffic.live_known = false;
    s.traffic.weights = None;
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(screen.contains("traffic state unknown"), "{screen}");
    assert!(!screen.contains("split"), "{screen}");
    s.traffic.weights = Some(cutover::core::Weights::new(50, 50));
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(screen.contains("split"), "{screen}");
}

/// Rolled back from a breach at 50 %: green's windowed numbers still hold the errors from
/// before; they settle, dimmed, with no verdict, and the traffic panel says until when.
fn rolled_back() -> State {
    run(
        "bad-release",
        98,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
            (95, Step::Key(KeyCode::Char('r'))),
        ],
    )
}

#[test]
fn after_a_rollback_the_numbers_settle_not_breach_120x32() {
    let s = rolled_back();
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    assert!(
        screen.contains("rolled back 14:01:35 — green's numbers settle until 14:01:45"),
        "{screen}"
    );
    assert!(!screen.contains("✕ BREACH"), "{screen}");
    assert!(screen.contains("settling"), "{screen}");
    assert!(
        screen.contains("STANDBY") || screen.contains("SERVING 100 % · live"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn after_a_rollback_the_numbers_settle_not_breach_80x24() {
    let screen = text(&draw(&rolled_back(), &Theme::default(), 80, 24));
    assert!(!screen.contains("✕ BREACH"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The roles in words at 0 %, and after the window: the panels keep their sides, the
/// words change, and an event says so.
#[test]
fn role_words_at_zero_and_after_the_window_80x24() {
    let s = run("happy", 3, &[]);
    let screen = text(&draw(&s, &Theme::default(), 80, 24));
    assert!(
        screen.contains("SERVING 100 % · live") && screen.contains("CANDIDATE · 0 %"),
        "{screen}"
    );
    insta::assert_snapshot!("role_words_at_zero_80x24", screen);
    let s = run(
        "happy",
        970,
        &[
            (5, Step::Key(KeyCode::Right)),
            (30, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Right)),
            (60, Step::Key(KeyCode::Char('y'))),
        ],
    );
    let screen = text(&draw(&s, &Theme::default(), 80, 24));
    let blue_left = screen.lines().find(|l| l.contains("BLUE  v")).unwrap_or("");
    assert!(
        blue_left.contains("CANDIDATE")
            && blue_left.contains("GREEN v1.5.0    SERVING 100 % · live"),
        "blue stays left, now the candidate; green is live:\n{screen}"
    );
    insta::assert_snapshot!("role_words_after_the_window_80x24", screen);
}

#[test]
fn a_read_only_cockpit_shows_no_write_keys() {
    let mut s = run("happy", 3, &[]);
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    let bar = |screen: &str| screen.lines().last().unwrap_or_default().to_string();
    assert!(bar(&screen).contains("ROLLBACK"), "{screen}");
    s.lease.role = cutover::app::state::Role::ReadOnly;
    let screen = text(&draw(&s, &Theme::default(), 120, 32));
    let keys = bar(&screen);
    for write in ["step", "back", "pause", "ROLLBACK"] {
        assert!(!keys.contains(write), "{write} in {keys:?}");
    }
    assert!(keys.contains("quit") && keys.contains("help"), "{keys:?}");
}
