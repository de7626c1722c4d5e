//! The config file: serde types (kebab-case, unknown keys refused, humantime durations),
//! converted into runtime types. Every error names the key, the value and what was expected.

use crate::app::keymap::Keymap;
use crate::core::{Env, Guardrails, Plan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A config that cannot be used. `cutover` exits 2 on it.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    pub origin: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(origin: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: origin.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    name: Option<String>,
    #[serde(default, with = "humantime_serde")]
    poll_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    poll_timeout: Option<Duration>,
    plan: Option<Vec<i64>>,
    #[serde(default, with = "humantime_serde")]
    rollback_window: Option<Duration>,
    live: Option<String>,
    journal: Option<PathBuf>,
    theme: Option<String>,
    backend: BackendFile,
    #[serde(default)]
    envs: EnvsFile,
    #[serde(default)]
    guardrails: GuardrailsFile,
    #[serde(default)]
    keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum BackendFile {
    Sim(SimFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SimFile {
    control: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvsFile {
    blue: Option<EnvFile>,
    green: Option<EnvFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EnvFile {
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GuardrailsFile {
    max_error_rate: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    max_p99: Option<Duration>,
    max_health_failures: Option<u32>,
}

/// Which backend, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum BackendConfig {
    /// A `cutover sim serve` control server (`host:port` or URL).
    Sim { control: String },
}

impl BackendConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Sim { .. } => "sim",
        }
    }
}

/// The runtime config.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub name: String,
    pub poll_interval: Duration,
    pub poll_timeout: Duration,
    pub plan: Plan,
    pub rollback_window: Duration,
    pub live: Option<Env>,
    pub journal: Option<PathBuf>,
    pub theme: Option<String>,
    pub backend: BackendConfig,
    pub guardrails: Guardrails,
    pub keymap: Keymap,
    pub versions: (Option<String>, Option<String>),
}

pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                &origin,
                format!("cannot read the config: {e}; expected a cutover.toml (see the README), or try `cutover demo`"),
            )
        })?;
        Config::parse(&text, &origin)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let f: ConfigFile = toml::from_str(text)
            .map_err(|e| ConfigError::new(origin, e.to_string().trim_end().to_string()))?;
        let err = |m: String| ConfigError::new(origin, m);

        let poll_interval = f.poll_interval.unwrap_or(DEFAULT_POLL);
        if poll_interval < Duration::from_millis(100) || poll_interval > Duration::from_secs(300) {
            return Err(err(format!(
                "key `poll-interval`: value {:?}: expected a duration from 100ms to 5m",
                humantime::format_duration(poll_interval).to_string()
            )));
        }
        let poll_timeout = f
            .poll_timeout
            .unwrap_or(poll_interval.max(Duration::from_secs(2)));
        if poll_timeout.is_zero() {
            return Err(err(
                "key `poll-timeout`: value \"0s\": expected a duration above zero".into(),
            ));
        }
        let plan = match &f.plan {
            None => Plan::default(),
            Some(p) => Plan::new(p).map_err(|e| err(format!("key `plan`: value {p:?}: {e}")))?,
        };
        let rollback_window = f.rollback_window.unwrap_or(DEFAULT_WINDOW);
        if rollback_window.is_zero() {
            return Err(err(
                "key `rollback-window`: value \"0s\": expected a duration such as \"15m\" (how long live is kept warm after 100 %)"
                    .into(),
            ));
        }
        let live = match &f.live {
            None => None,
            Some(s) => Some(s.parse::<Env>().map_err(|_| {
                err(format!(
                    "key `live`: value {s:?}: expected \"blue\" or \"green\""
                ))
            })?),
        };
        let backend = match f.backend {
            BackendFile::Sim(s) => {
                if s.control.trim().is_empty() {
                    return Err(err(
                        "key `backend.control`: value \"\": expected the sim control address, e.g. \"127.0.0.1:7070\"".into(),
                    ));
                }
                BackendConfig::Sim { control: s.control }
            }
        };
        let g = f.guardrails;
        if let Some(e) = g.max_error_rate
            && !(0.0..=1.0).contains(&e)
        {
            return Err(err(format!(
                "key `guardrails.max-error-rate`: value {e}: expected a fraction from 0 to 1 (0.01 = 1 %)"
            )));
        }
        let defaults = Guardrails::default();
        let guardrails = Guardrails {
            max_error_rate: g.max_error_rate.or(defaults.max_error_rate),
            max_p99_ms: g
                .max_p99
                .map(|d| d.as_secs_f64() * 1000.0)
                .or(defaults.max_p99_ms),
            max_health_failures: g.max_health_failures.or(defaults.max_health_failures),
        };
        let keymap = Keymap::with_overrides(&f.keys).map_err(err)?;
        let version = |e: &Option<EnvFile>| e.as_ref().and_then(|e| e.version.clone());
        Ok(Config {
            name: f.name.unwrap_or_else(|| "cutover".into()),
            poll_interval,
            poll_timeout,
            plan,
            rollback_window,
            live,
            journal: f.journal,
            theme: f.theme,
            backend,
            guardrails,
            keymap,
            versions: (version(&f.envs.blue), version(&f.envs.green)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:7070\"\n";

    #[test]
    fn minimal_config_gets_the_defaults() {
        let c = Config::parse(MIN, "t").unwrap();
        assert_eq!(c.plan, Plan::default());
        assert_eq!(c.poll_interval, DEFAULT_POLL);
        assert_eq!(c.rollback_window, DEFAULT_WINDOW);
        assert_eq!(c.guardrails, Guardrails::default());
        assert_eq!(c.live, None);
    }

    #[test]
    fn bad_values_name_key_value_and_expectation() {
        let cases = [
            (
                format!("plan = [10, 5, 100]\n{MIN}"),
                &["`plan`", "[10, 5, 100]", "rising"][..],
            ),
            (
                format!("poll-interval = \"fast\"\n{MIN}"),
                &["poll-interval", "fast"][..],
            ),
            (
                format!("poll-interval = \"10ms\"\n{MIN}"),
                &["`poll-interval`", "10ms", "from 100ms"][..],
            ),
            (
                format!("live = \"purple\"\n{MIN}"),
                &["`live`", "purple", "\"blue\" or \"green\""][..],
            ),
            (
                format!("colour = 1\n{MIN}"),
                &["unknown field `colour`"][..],
            ),
            (
                "[backend]\nkind = \"f5\"\n".to_string(),
                &["unknown variant `f5`", "sim"][..],
            ),
            (
                "[backend]\nkind = \"sim\"\n".to_string(),
                &["missing field `control`"][..],
            ),
            (
                format!("{MIN}[guardrails]\nmax-error-rate = 5\n"),
                &["max-error-rate", "5", "fraction"][..],
            ),
            (
                format!("{MIN}[keys]\nlaunch = [\"x\"]\n"),
                &["keys.launch"][..],
            ),
            (
                format!("rollback-window = \"0s\"\n{MIN}"),
                &["rollback-window"][..],
            ),
        ];
        for (text, wants) in cases {
            let e = Config::parse(&text, "cutover.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("cutover.toml: "), "{e}");
            for w in wants {
                assert!(e.contains(w), "error {e:?} should contain {w:?}");
            }
        }
    }

    #[test]
    fn shipped_sample_config_parses() {
        let text = include_str!("../demo/sim/cutover.toml");
        let c = Config::parse(text, "demo/sim/cutover.toml").unwrap();
        assert_eq!(
            c.backend,
            BackendConfig::Sim {
                control: "127.0.0.1:7070".into()
            }
        );
        assert_eq!(c.plan, Plan::default());
    }
}
