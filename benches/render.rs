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

/// Discards what it is given and counts it: the real escape output of crossterm, without a
/// terminal's own cost.
#[derive(Clone, Default)]
struct Counting {
    bytes: std::rc::Rc<std::cell::Cell<usize>>,
    writes: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.set(self.bytes.get() + buf.len());
        self.writes.set(self.writes.get() + 1);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The cockpit's real output path: ratatui's diff, crossterm's escape codes, the cockpit's
/// output buffer. A full repaint (after a clear: every cell sent, as on start, resize or
/// Ctrl-L) and a steady frame (the next frame of a running cockpit: only what changed).
fn terminal(c: &mut Criterion) {
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};
    let states: Vec<_> = (100..104)
        .map(|t| {
            run(
                "bad-release",
                t,
                &[
                    (5, Step::Key(KeyCode::Right)),
                    (40, Step::Key(KeyCode::Right)),
                ],
            )
        })
        .collect();
    let theme = Theme::default();
    for (w, h) in [(200u16, 50u16), (120, 32), (80, 24)] {
        let counted = Counting::default();
        let fresh = || {
            let out =
                std::io::BufWriter::with_capacity(cutover::tui::OUTPUT_BUFFER, counted.clone());
            ratatui::Terminal::with_options(
                CrosstermBackend::new(out),
                TerminalOptions {
                    viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
                },
            )
            .unwrap()
        };
        // A full repaint: a terminal that shows nothing yet (start, resize, Ctrl-L), so
        // every cell that is not blank is sent.
        c.bench_function(&format!("terminal full repaint {w}x{h}"), |b| {
            b.iter_batched_ref(
                fresh,
                |t| {
                    t.draw(|f| ui::render(f, black_box(&states[0]), &theme))
                        .unwrap();
                },
                criterion::BatchSize::SmallInput,
            );
        });
        let mut terminal = fresh();
        let mut i = 0;
        c.bench_function(&format!("terminal steady frame {w}x{h}"), |b| {
            b.iter(|| {
                // One second of the incident later each frame: sparklines, ages and the
                // countdown move, as in a running cockpit.
                i = (i + 1) % states.len();
                terminal
                    .draw(|f| ui::render(f, black_box(&states[i]), &theme))
                    .unwrap();
            });
        });
        // What one full repaint sends, and in how many writes.
        let (b0, w0) = (counted.bytes.get(), counted.writes.get());
        fresh().draw(|f| ui::render(f, &states[0], &theme)).unwrap();
        eprintln!(
            "{w}x{h}: a full repaint is {} bytes in {} writes",
            counted.bytes.get() - b0,
            counted.writes.get() - w0
        );
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

criterion_group!(benches, render, terminal, key_to_effect);
criterion_main!(benches);
