//! Scenarios: TOML files that say how each env behaves and which faults it has.

use crate::core::Env;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The scenarios shipped in `demo/scenarios/`, embedded so `cutover demo` needs no files.
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "bad-release",
        include_str!("../../demo/scenarios/bad-release.toml"),
    ),
    ("happy", include_str!("../../demo/scenarios/happy.toml")),
    (
        "slow-start",
        include_str!("../../demo/scenarios/slow-start.toml"),
    ),
];

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The service name shown in the header.
    #[serde(default = "default_service")]
    pub service: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Requests per second from the load generator.
    #[serde(default = "default_rps")]
    pub rps: f64,
    /// The env holding all traffic at the start.
    #[serde(default = "default_live")]
    pub live: Env,
    /// The demo's `min-bake`: each step holds this long before the next.
    #[serde(default, with = "humantime_serde")]
    pub min_bake: Option<Duration>,
    /// The demo's `min-requests`: each step serves this many requests (in the stats
    /// window) before the next, and error rates are WAITING until then.
    #[serde(default)]
    pub min_requests: Option<u64>,
    pub blue: EnvModelSpec,
    pub green: EnvModelSpec,
}

/// How one env answers requests when nothing is wrong, and its faults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvModelSpec {
    pub version: String,
    #[serde(with = "humantime_serde")]
    pub p50: Duration,
    #[serde(with = "humantime_serde")]
    pub p99: Duration,
    /// Probability that a request fails with a 5xx.
    pub error_rate: f64,
    #[serde(default)]
    pub faults: Vec<Fault>,
}

/// A fault: while its condition holds, the env's error rate and p99 move towards the
/// fault's values with the time constant `ramp`; when it stops holding, they move back.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fault {
    #[serde(default)]
    pub description: String,
    /// Load-dependent: active while the env carries at least this share of traffic.
    pub when_share_at_least: Option<u8>,
    /// Warm-up: active for this long after the simulator starts.
    #[serde(default, with = "humantime_serde")]
    pub for_first: Option<Duration>,
    pub error_rate: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    pub p99: Option<Duration>,
    #[serde(default = "default_ramp", with = "humantime_serde")]
    pub ramp: Duration,
}

fn default_service() -> String {
    "checkout-api".into()
}
fn default_seed() -> u64 {
    42
}
fn default_rps() -> f64 {
    200.0
}
fn default_live() -> Env {
    Env::Blue
}
fn default_ramp() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "no scenario named `{0}`; expected one of bad-release, happy, slow-start, or a path to a .toml file"
    )]
    Unknown(String),
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Scenario {
    /// A built-in scenario by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let text = crate::shared::read_small_file(path, crate::shared::SMALL_FILE_MAX)
                .map_err(|source| ScenarioError::Read {
                    path: name_or_path.into(),
                    source,
                })?;
            return Scenario::parse(&text, name_or_path);
        }
        Err(ScenarioError::Unknown(name_or_path.into()))
    }

    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Invalid {
            path: origin.into(),
            message: crate::shared::toml_error(text, &e),
        })?;
        s.validate().map_err(|message| ScenarioError::Invalid {
            path: origin.into(),
            message,
        })?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        if !(self.rps > 0.0 && self.rps <= 100_000.0) {
            return Err(format!(
                "rps = {}: expected a rate from 0 to 100000",
                self.rps
            ));
        }
        for env in Env::ALL {
            let m = self.env(env);
            let key = env.name();
            if !(0.0..=1.0).contains(&m.error_rate) {
                return Err(format!(
                    "{key}.error-rate = {}: expected a fraction from 0 to 1",
                    m.error_rate
                ));
            }
            if m.p50.is_zero() || m.p99 < m.p50 {
                return Err(format!(
                    "{key}.p99 = {:?}: expected p50 > 0 and p99 ≥ p50 ({:?})",
                    m.p99, m.p50
                ));
            }
            for (i, f) in m.faults.iter().enumerate() {
                if f.when_share_at_least.is_none() == f.for_first.is_none() {
                    return Err(format!(
                        "{key}.faults[{i}]: expected exactly one of when-share-at-least or for-first"
                    ));
                }
                if f.error_rate.is_some_and(|e| !(0.0..=1.0).contains(&e)) {
                    return Err(format!(
                        "{key}.faults[{i}].error-rate: expected a fraction from 0 to 1"
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn env(&self, env: Env) -> &EnvModelSpec {
        match env {
            Env::Blue => &self.blue,
            Env::Green => &self.green,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_parse() {
        for (name, _) in BUILTIN {
            let s = Scenario::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.name, name);
        }
    }

    #[test]
    fn bad_scenarios_say_what_is_wrong() {
        let base = include_str!("../../demo/scenarios/happy.toml");
        let cases = [
            (
                base.replace("error-rate = 0.002", "error-rate = 2.0"),
                "blue.error-rate = 2",
            ),
            (base.replace("rps = 200", "rps = -1"), "rps = -1"),
            (format!("{base}\nbogus = 1\n"), "unknown field `bogus`"),
        ];
        for (text, want) in cases {
            let err = Scenario::parse(&text, "t.toml").unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
        assert!(matches!(
            Scenario::load("nope"),
            Err(ScenarioError::Unknown(_))
        ));
    }
}
