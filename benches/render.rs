//! Full-frame render time (budget: < 1 ms at 200 × 50; see BENCHMARKS.md) and the reducer's cost per
//! key press, on states made by the real simulator and reducer.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use criterion::{Criterion, criterion_group, criterion_main};
use cutover::app::fixtures::{Step, run};
use cutover::app::keymap::{Key, KeyCode};
use cutover::app::update::{Event, update};
use cutover::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn render(c: &mut Criterion) {
    let state = run(
        "bad-release",
        120,
        &[
            (5, Step::Key(KeyCode::Right)),
            (40, Step::Key(KeyCode::Right)),
        ],
    );
    let theme = Theme::default();
    for (w, h) in [(200u16, 50u16), (120, 32), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("render full frame {w}x{h}"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| ui::render(f, black_box(&state), &theme))
                    .unwrap();
            });
        });
    }
}

fn key_to_effect(c: &mut Criterion) {
    let base = run("happy", 30, &[]);
    // The keymap lookup is part of the path from a key to its effect.
    let keymap = base.settings.keymap.clone();
    c.bench_function("key r → rollback effect (update)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| {
                let press = keymap.press(&Key::new(KeyCode::Char('r'), false));
                black_box(update(&mut s, Event::Key { press, now: 31_000 }))
            },
            criterion::BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, render, key_to_effect);
criterion_main!(benches);
