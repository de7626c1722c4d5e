//! The pure domain: envs, weights, the plan, the cutover state machine, guardrails and
//! signal samples. No I/O, no clock reads: time comes in as [`Millis`].

pub mod approval;
pub mod cutover;
pub mod guardrail;
pub mod judged;
pub mod lease;
pub mod plan;
pub mod record;
pub mod schema;
pub mod signal;
pub mod stats;
pub mod value;
pub mod verdict;
pub mod wait;

pub use cutover::{Command, ConfirmReason, Cutover, Decision, Doubts, Hold, Refusal};
pub use guardrail::{
    Bad, BreachClock, Guardrails, Judging, MetricRule, NoDataPolicy, RuleCheck, RuleKind,
    RuleResult,
};
pub use lease::Lease;
pub use plan::{Plan, PlanError};
pub use record::{Flight, LastWrite, LiveFrom, Record, Slot, resolve_live};
pub use signal::{
    EnvPoll, EnvSignals, Health, HealthSample, Lags, MetricInfo, Reading, Sample, Series,
    SignalSource, SmokeReport,
};
pub use value::{Provided, Range};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds on the app's monotonic clock (0 = start of the process).
pub type Millis = u64;

/// One of the two environments. Colours are names, not roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Blue,
    Green,
}

impl Env {
    pub const ALL: [Env; 2] = [Env::Blue, Env::Green];

    /// The other env.
    pub fn other(self) -> Env {
        match self {
            Env::Blue => Env::Green,
            Env::Green => Env::Blue,
        }
    }

    /// Lower-case name, as in config and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Env::Blue => "blue",
            Env::Green => "green",
        }
    }

    /// Upper-case label, as on screen.
    pub fn label(self) -> &'static str {
        match self {
            Env::Blue => "BLUE",
            Env::Green => "GREEN",
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Env {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "blue" => Ok(Env::Blue),
            "green" => Ok(Env::Green),
            other => Err(format!(
                "`{other}` is not an env; expected `blue` or `green`"
            )),
        }
    }
}

/// A value for each env.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvPair<T> {
    pub blue: T,
    pub green: T,
}

impl<T> EnvPair<T> {
    pub fn new(blue: T, green: T) -> Self {
        EnvPair { blue, green }
    }
    pub fn get(&self, env: Env) -> &T {
        match env {
            Env::Blue => &self.blue,
            Env::Green => &self.green,
        }
    }
    pub fn get_mut(&mut self, env: Env) -> &mut T {
        match env {
            Env::Blue => &mut self.blue,
            Env::Green => &mut self.green,
        }
    }
    pub fn map<U>(&self, mut f: impl FnMut(Env, &T) -> U) -> EnvPair<U> {
        EnvPair {
            blue: f(Env::Blue, &self.blue),
            green: f(Env::Green, &self.green),
        }
    }
}

/// The traffic weights a backend holds for the two envs, on the backend's own scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub blue: u32,
    pub green: u32,
}

impl Weights {
    pub fn new(blue: u32, green: u32) -> Self {
        Weights { blue, green }
    }

    pub fn get(&self, env: Env) -> u32 {
        match env {
            Env::Blue => self.blue,
            Env::Green => self.green,
        }
    }

    /// Weights that give `env` the share `share` percent on a scale of `scale`.
    pub fn for_share(env: Env, share: u8, scale: u32) -> Weights {
        // In u64: share × scale never wraps, whatever the scale (a wrapped product once
        // wrote 14 % for a promotion to 100 %).
        let share = u64::from(share.min(100));
        let cand = ((share * u64::from(scale) + 50) / 100) as u32;
        let live = scale.saturating_sub(cand);
        match env {
            Env::Blue => Weights::new(cand, live),
            Env::Green => Weights::new(live, cand),
        }
    }

    /// The percent of traffic `env` receives, rounded; `None` when both weights are zero
    /// (no traffic anywhere is not "0 %").
    pub fn share_of(&self, env: Env) -> Option<u8> {
        let total = u64::from(self.blue) + u64::from(self.green);
        if total == 0 {
            return None;
        }
        let w = u64::from(self.get(env));
        Some(((w * 100 + total / 2) / total) as u8)
    }

    /// The exact fraction of traffic `env` receives, 0.0..=1.0.
    pub fn fraction(&self, env: Env) -> Option<f64> {
        let total = f64::from(self.blue) + f64::from(self.green);
        (total > 0.0).then(|| f64::from(self.get(env)) / total)
    }

    /// What the weights say when no env holds all the traffic: "split", or, with both at
    /// zero, that nothing is served at all (0 / 0 is an outage, not a split).
    pub fn split_words(&self) -> &'static str {
        if self.blue == 0 && self.green == 0 {
            "both weights are 0: no traffic is served"
        } else {
            "split"
        }
    }

    /// The env holding all the traffic (the other at 0), if one does. A split names none:
    /// nothing may take the majority for live.
    pub fn all_on(&self) -> Option<Env> {
        match (self.blue, self.green) {
            (b, 0) if b > 0 => Some(Env::Blue),
            (0, g) if g > 0 => Some(Env::Green),
            _ => None,
        }
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blue {} / green {}", self.blue, self.green)
    }
}

/// The share the candidate actually receives, from both envs' request rates.
pub fn observed_share(candidate_rps: f64, live_rps: f64) -> Option<f64> {
    let total = candidate_rps + live_rps;
    (total > 0.0 && total.is_finite()).then(|| candidate_rps / total * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_for_share_table() {
        let cases = [
            (Env::Green, 0, 100, Weights::new(100, 0)),
            (Env::Green, 10, 100, Weights::new(90, 10)),
            (Env::Green, 100, 100, Weights::new(0, 100)),
            (Env::Blue, 10, 100, Weights::new(10, 90)),
            (Env::Green, 33, 256, Weights::new(172, 84)),
            (Env::Green, 50, 999, Weights::new(499, 500)),
            // 100 × 4e9 overflows u32: it must not wrap.
            (
                Env::Green,
                100,
                4_000_000_000,
                Weights::new(0, 4_000_000_000),
            ),
        ];
        for (env, share, scale, want) in cases {
            assert_eq!(
                Weights::for_share(env, share, scale),
                want,
                "{env} {share} {scale}"
            );
            assert_eq!(
                want.share_of(env),
                Some(share),
                "round trip {env} {share} {scale}"
            );
        }
    }

    #[test]
    fn share_of_no_traffic_is_unknown() {
        assert_eq!(Weights::new(0, 0).share_of(Env::Green), None);
        assert_eq!(Weights::new(0, 0).all_on(), None);
        assert_eq!(Weights::new(3, 1).all_on(), None);
        assert_eq!(Weights::new(3, 0).all_on(), Some(Env::Blue));
        assert_eq!(Weights::new(0, 1).all_on(), Some(Env::Green));
    }

    #[test]
    fn observed_share_needs_traffic() {
        assert_eq!(observed_share(0.0, 0.0), None);
        assert_eq!(observed_share(10.0, 90.0), Some(10.0));
        assert_eq!(observed_share(f64::NAN, 1.0), None);
    }
}
