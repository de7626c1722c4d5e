//! The loop: one bounded channel of events, a pure reducer, a runner for effects, and the
//! journal.

pub mod effects;
pub mod engine;
pub mod fixtures;
pub mod journal;
pub mod keymap;
pub mod lease;
pub mod notify;
pub mod producers;
pub mod record;
pub mod runner;
pub mod safety;
pub mod state;
pub mod timeline;
pub mod update;
pub mod words;
pub mod writer;

pub use state::State;
pub use update::{Effect, Event, update};

use crate::core::Millis;
use std::time::Instant;

/// The app's monotonic clock, in milliseconds. It starts at [`Clock::ORIGIN`], not 0, so
/// a move recorded at the backend before this process started (another terminal's or the
/// CLI's, up to a day before) has a time on it: settling and the bake count from then.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    /// The wall-clock time of the clock's 0.
    zero: chrono::DateTime<chrono::FixedOffset>,
}

impl Clock {
    /// Where the clock starts: one day.
    pub const ORIGIN: Millis = 24 * 3600 * 1000;

    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
            zero: chrono::Local::now().fixed_offset()
                - chrono::Duration::milliseconds(Clock::ORIGIN as i64),
        }
    }

    pub fn now(&self) -> Millis {
        Clock::ORIGIN + self.start.elapsed().as_millis() as Millis
    }

    /// The wall-clock time of this clock's 0: what `State::wall` adds to.
    pub fn wall_zero(&self) -> chrono::DateTime<chrono::FixedOffset> {
        self.zero
    }
}
