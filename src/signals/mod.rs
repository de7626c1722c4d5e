//! Signal sources: each polled by its own task with a timeout; results go to the loop as
//! events and never touch state. A source provides some signals of both envs; the loop
//! merges what each provides. The types they share ([`EnvPoll`], [`SignalSource`],
//! [`SmokeReport`]) live in `core::signal`, so backends implement sources without importing
//! this module; they are re-exported here.

pub mod health;
pub mod prometheus;
pub mod schema;
pub mod sim;
pub mod smoke;

pub use crate::core::signal::{EnvPoll, SignalSource, SmokeReport, health_pair};
pub use health::HealthPoller;
pub use prometheus::PrometheusSource;
pub use sim::SimSignals;
