//! Signal sources: each polled by its own task with a timeout; results go to the loop as
//! events and never touch state.

pub mod sim;

pub use sim::SimSignals;

use crate::core::{Env, EnvPair, HealthSample, Reading};
use async_trait::async_trait;

/// One poll's readings for one env.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvPoll {
    pub health: Option<HealthSample>,
    pub error_rate: Reading,
    pub p99_ms: Reading,
    pub rps: Reading,
    pub version: Option<String>,
}

/// The outcome of a smoke run against one env.
#[derive(Clone, Debug, PartialEq)]
pub struct SmokeReport {
    pub env: Env,
    pub passed: bool,
    pub summary: String,
}

/// A source of signals for both envs.
#[async_trait]
pub trait SignalSource: Send + Sync {
    fn name(&self) -> String;
    async fn poll(&self) -> Result<EnvPair<EnvPoll>, String>;
    /// Runs smoke requests against `env`.
    async fn smoke(&self, env: Env) -> SmokeReport;
}
