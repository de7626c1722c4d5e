//! The terminal front end: puts the terminal in full-screen mode, turns crossterm's key
//! events into [`Press`]es through the keymap, draws `ui::render` on every change, and
//! restores the terminal however the loop ends. Everything else is the runner's
//! (`app::runner`), which knows no terminal.

use crate::app::keymap::{Key, KeyCode, Keymap};
use crate::app::runner::{self, Outcome, Screen, Setup};
use crate::app::{Clock, Event, State};
use crate::ui::{self, theme::Theme};
use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode as TermKey, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use std::io::Write;
use tokio::sync::mpsc;

/// A crossterm key as the cockpit's own [`Key`].
pub fn key_of(ev: &KeyEvent) -> Key {
    let code = match ev.code {
        TermKey::Char(c) => KeyCode::Char(c),
        TermKey::Right => KeyCode::Right,
        TermKey::Left => KeyCode::Left,
        TermKey::Up => KeyCode::Up,
        TermKey::Down => KeyCode::Down,
        TermKey::Enter => KeyCode::Enter,
        TermKey::Esc => KeyCode::Esc,
        TermKey::Tab => KeyCode::Tab,
        TermKey::Backspace => KeyCode::Backspace,
        _ => KeyCode::Other,
    };
    Key::new(code, ev.modifiers.contains(KeyModifiers::CONTROL))
}

/// The terminal's output buffer: a full repaint at 200 × 50 (about 25 KB of escape codes)
/// goes out in one write, where stdout's own 1 KB line buffer made it dozens.
pub const OUTPUT_BUFFER: usize = 64 * 1024;

/// The cockpit's terminal: crossterm writing through [`OUTPUT_BUFFER`] (ratatui flushes
/// it at the end of each frame).
type Term = ratatui::Terminal<CrosstermBackend<std::io::BufWriter<std::io::Stdout>>>;

/// The terminal, restored when dropped.
struct Terminal {
    terminal: Term,
    theme: Theme,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

impl Screen for Terminal {
    fn draw(&mut self, state: &State) -> std::io::Result<()> {
        tui_logger::move_events();
        let theme = &self.theme;
        self.terminal
            .draw(|f| ui::render(f, state, theme))
            .map(|_| ())
    }
}

/// Sends `log` records to tui-logger's buffer (the `L` panel). tui-logger's own
/// `init_logger` wakes a thread every 10 ms, most of cutover's idle CPU; here the loop moves
/// the records once per frame instead.
struct PanelLogger;

impl log::Log for PanelLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            tui_logger::Drain::new().log(record);
        }
    }

    fn flush(&self) {}
}

static PANEL_LOGGER: PanelLogger = PanelLogger;

fn init_panel_logger() {
    if log::set_logger(&PANEL_LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    tui_logger::set_default_level(log::LevelFilter::Info);
}

/// The task that reads the terminal's events: key presses through the keymap, resizes.
fn spawn_keys(
    keymap: Keymap,
    tx: mpsc::Sender<Event>,
    clock: Clock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(Ok(ev)) = stream.next().await {
            let ev = match ev {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => Event::Key {
                    press: keymap.press(&key_of(&k)),
                    now: clock.now(),
                },
                TermEvent::Resize(..) => Event::Resize,
                _ => continue,
            };
            if tx.send(ev).await.is_err() {
                break;
            }
        }
    })
}

/// Why the full-screen cockpit cannot run here, from `TERM` and whether stdin and stdout
/// are terminals; `None` when it can.
pub fn refusal(term: Option<&str>, stdin_tty: bool, stdout_tty: bool) -> Option<&'static str> {
    if term == Some("dumb") {
        Some("TERM=dumb")
    } else if term.is_none_or(|t| t.trim().is_empty()) {
        Some("TERM is not set")
    } else if !stdout_tty {
        Some("stdout is not a terminal")
    } else if !stdin_tty {
        Some("stdin is not a terminal")
    } else {
        None
    }
}

/// Refuses in one line, before anything is drawn or any lease taken, where the cockpit
/// cannot be drawn: `TERM=dumb` or unset, or no terminal on stdin or stdout (cron, a pipe, CI).
pub fn can_run() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let term = std::env::var("TERM").ok();
    match refusal(
        term.as_deref(),
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
    ) {
        Some(why) => Err(anyhow::anyhow!(
            "the cockpit needs a full-screen terminal ({why}); use `cutover status` (or `status --json`) to watch and `cutover rollback` to roll back"
        )),
        None => Ok(()),
    }
}

/// Runs the full-screen cockpit until quit, SIGTERM or SIGHUP. Traffic is left exactly as
/// the backend has it.
pub async fn run_tui(setup: Setup, theme: Theme) -> anyhow::Result<Outcome> {
    init_panel_logger();
    let keymap = setup.state.settings.keymap.clone();
    // No terminal (cron, a pipe, a closed tty): said in one line, never a panic.
    // ratatui's own set-up (raw mode, the alternate screen, a panic hook that restores
    // the terminal), then the cockpit's buffered output in place of bare stdout.
    let terminal = ratatui::try_init()
        .and_then(|_| {
            Term::new(CrosstermBackend::new(std::io::BufWriter::with_capacity(
                OUTPUT_BUFFER,
                std::io::stdout(),
            )))
        })
        .map_err(|e| {
            // Raw mode may be on; the alternate screen was not entered, so nothing to leave.
            let _ = crossterm::terminal::disable_raw_mode();
            anyhow::anyhow!("the cockpit needs a terminal: {e}; `cutover status` and `cutover rollback` work without one")
        })?;
    let mut screen = Terminal { terminal, theme };
    let out = runner::run(setup, &mut screen, move |tx, clock| {
        spawn_keys(keymap, tx, clock)
    })
    .await;
    drop(screen);
    if let Ok(Outcome {
        lease_unreleased: Some(e),
        ..
    }) = &out
    {
        let _ = writeln!(
            std::io::stderr(),
            "cutover: the driver lease was not released: {e}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cockpit_refuses_where_it_cannot_draw() {
        let cases = [
            ((Some("xterm-256color"), true, true), None),
            ((None, true, true), Some("TERM is not set")),
            ((Some(""), true, true), Some("TERM is not set")),
            ((Some("dumb"), true, true), Some("TERM=dumb")),
            (
                (Some("screen"), true, false),
                Some("stdout is not a terminal"),
            ),
            (
                (Some("screen"), false, true),
                Some("stdin is not a terminal"),
            ),
        ];
        for ((term, stdin, stdout), want) in cases {
            assert_eq!(
                refusal(term, stdin, stdout),
                want,
                "{term:?} {stdin} {stdout}"
            );
        }
    }

    #[test]
    fn crossterm_keys_become_the_cockpits_own() {
        let k = |code, mods| key_of(&KeyEvent::new(code, mods));
        assert_eq!(
            k(TermKey::Right, KeyModifiers::NONE),
            Key::new(KeyCode::Right, false)
        );
        assert_eq!(
            k(TermKey::Char('C'), KeyModifiers::CONTROL),
            Key::new(KeyCode::Char('c'), true),
            "Ctrl-C whatever the case"
        );
        assert_eq!(
            k(TermKey::Char('+'), KeyModifiers::SHIFT),
            Key::new(KeyCode::Char('+'), false)
        );
        assert_eq!(k(TermKey::F(5), KeyModifiers::NONE).code, KeyCode::Other);
        let keymap = Keymap::default();
        let r = keymap.press(&k(TermKey::Char('r'), KeyModifiers::NONE));
        assert_eq!(r.main, Some(crate::app::keymap::Action::Rollback));
        let q = keymap.press(&k(TermKey::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(q.main, Some(crate::app::keymap::Action::Quit));
    }
}
