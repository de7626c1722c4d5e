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
pub mod state;
pub mod timeline;
pub mod update;
pub mod words;
pub mod writer;

pub use state::State;
pub use update::{Effect, Event, update};

use crate::core::Millis;
use std::time::Instant;

/// The app's monotonic clock: milliseconds since start.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }
}
