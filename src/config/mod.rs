//! The config file: serde types (kebab-case, unknown keys refused, humantime durations),
//! converted into runtime types. Every error names the key, the value and what was expected.
//!
//! This file holds [`Config`], [`ConfigError`], the entry points ([`Config::load`],
//! [`Config::parse`]), the top-level keys (polling, plan, rollback window, live, lease,
//! journal, theme) and `[keys]`. The serde types are in `file.rs`; each section has its
//! converter beside it: `backend.rs` and `kube.rs` (`[backend]`), `envs.rs` (`[envs.*]`
//! and their health probes), `prometheus.rs`, `guardrails.rs`, `smoke.rs`, `notify.rs`, and
//! `http.rs` for the secrets and headers they share.

mod approval;
mod backend;
mod bounds;
mod cloudwatch;
mod envs;
mod file;
mod guardrails;
mod http;
mod kube;
mod notify;
mod prometheus;
mod schema;
mod smoke;

/// Moved to `core`; re-exported so `crate::config::MetricInfo` keeps working.
pub use crate::core::MetricInfo;
pub use backend::BackendConfig;
pub use envs::EnvConfig;
pub use schema::{Contract, SchemaMax, SchemaSettings, SchemaTool};

use crate::app::keymap::Keymap;
use crate::app::notify::Webhook;
use crate::backends::cloudwatch::CloudWatchSettings;
use crate::core::{Env, EnvPair, Guardrails, Plan};
use crate::signals::prometheus::PrometheusSettings;
use crate::signals::smoke::SmokeCheck;
use file::ConfigFile;
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
    /// The message is cut at `MESSAGE_MAX` characters: whatever a check echoes (a list, a
    /// path, a command), a usage error stays a few lines.
    pub fn new(origin: &str, message: impl Into<String>) -> ConfigError {
        const MESSAGE_MAX: usize = 400;
        let message: String = message.into();
        let n = message.chars().count();
        let message = if n > MESSAGE_MAX {
            let head: String = message.chars().take(MESSAGE_MAX).collect();
            format!("{head}… ({n} characters)")
        } else {
            message
        };
        let origin = if origin.chars().count() > 200 {
            origin.chars().take(200).collect::<String>() + "…"
        } else {
            origin.to_string()
        };
        ConfigError { origin, message }
    }

    /// The same error said with the config file it is in (`FILE: key …`), as the errors
    /// found while loading it are.
    #[must_use]
    pub fn in_file(self, file: &str) -> ConfigError {
        if self.origin.starts_with(file) {
            return self;
        }
        ConfigError {
            origin: format!("{file}: {}", self.origin),
            message: self.message,
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
    /// What `e` adds to a running rollback window.
    pub rollback_window_extend: Duration,
    /// How long before the window ends to warn.
    pub rollback_window_warn: Duration,
    /// How long a driver lease lives unless renewed (renewed every third of it).
    pub lease_ttl: Duration,
    pub live: Option<Env>,
    pub journal: Option<PathBuf>,
    pub theme: Option<String>,
    pub backend: BackendConfig,
    pub guardrails: Guardrails,
    pub keymap: Keymap,
    pub envs: EnvPair<EnvConfig>,
    pub prometheus: Option<PrometheusSettings>,
    /// `[cloudwatch]`: error rate, p99 and rps from CloudWatch (never beside Prometheus).
    pub cloudwatch: Option<CloudWatchSettings>,
    pub metrics: Vec<MetricInfo>,
    pub hooks: Vec<Webhook>,
    /// `[[smoke]]` checks, run against the candidate with `s` and before the first step.
    pub smoke: Vec<SmokeCheck>,
    /// Roll back by itself after a breach has lasted this long (`None`: off).
    pub auto_rollback: Option<Duration>,
    /// Each step holds at least this long before the next forward move (`None`: off).
    pub min_bake: Option<Duration>,
    /// `[schema]`: the database whose migrations say whether a rollback is still safe.
    pub schema: Option<SchemaSettings>,
    /// How often the smoke checks run against the rollback target while the candidate
    /// serves (and at once after a schema change).
    pub standby_check_interval: Duration,
    /// `cold-rollback = "ramp"`: a cold rollback target gets the traffic back in steps
    /// (`None`: every rollback is one instant call).
    pub cold_rollback: Option<crate::core::cutover::ColdRamp>,
    /// `[approval]`: what needs a second person (`None`: nothing does).
    pub approval: Option<crate::core::approval::Rules>,
}

pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = crate::shared::read_small_file(path, crate::shared::SMALL_FILE_MAX).map_err(|e| {
            ConfigError::new(
                &origin,
                format!("cannot read the config: {e}; expected a cutover.toml (see the README), or try `cutover demo`"),
            )
        })?;
        Config::parse(&text, &origin)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // TOML's own errors quote the line: each line of the message is cut short, so a
        // megabyte line is never echoed whole (control characters are escaped on output).
        // One line: where and what (TOML's caret drawing is dropped, no value echoed whole).
        let f: ConfigFile = toml::from_str(text).map_err(|e| {
            ConfigError::new(
                origin,
                bounds::shorten_quotes(&crate::shared::toml_error(text, &e)),
            )
        })?;
        Config::from_file(f).map_err(|m| {
            ConfigError::new(
                origin,
                bounds::shorten_quotes(&crate::shared::short_digits(&m)),
            )
        })
    }

    /// Each section in turn, in the order its errors are reported.
    fn from_file(f: ConfigFile) -> Result<Config, String> {
        use bounds::{DAY, SECOND};
        let name = f.name.unwrap_or_else(|| "cutover".into());
        bounds::text(
            "name",
            &name,
            100,
            "the service's name, shown in the header and journal",
        )?;
        let (poll_interval, poll_timeout) = poll_times(f.poll_interval, f.poll_timeout)?;
        let plan = plan(&f.plan)?;
        let rollback_window = rollback_window(f.rollback_window)?;
        let rollback_window_extend = bounds::duration(
            "rollback-window-extend",
            f.rollback_window_extend,
            Duration::from_secs(15 * 60),
            (SECOND, DAY),
            "what `e` adds to a running rollback window",
        )?;
        let rollback_window_warn = bounds::duration(
            "rollback-window-warn",
            f.rollback_window_warn,
            Duration::from_secs(2 * 60),
            (Duration::ZERO, DAY),
            "how long before the window ends to warn",
        )?;
        let live = live(&f.live)?;
        if let Some(j) = &f.journal {
            bounds::path("journal", j)?;
        }
        let lease_ttl = lease_ttl(f.lease_ttl)?;
        let min_bake = min_bake(f.min_bake)?;
        let standby_check_interval = standby_interval(f.standby_check_interval)?;
        let backend = backend::backend_config(f.backend, poll_timeout)?;
        let timeout = poll_timeout;
        let envs = EnvPair::new(
            envs::env_config(Env::Blue, f.envs.blue, timeout)?,
            envs::env_config(Env::Green, f.envs.green, timeout)?,
        );
        let (prometheus, metric_rules, metrics) = match f.prometheus {
            None => (None, Vec::new(), Vec::new()),
            Some(p) => prometheus::prometheus_settings(p, &envs, timeout)?,
        };
        if f.cloudwatch.is_some() && prometheus.is_some() {
            return Err(
                "keys `prometheus` and `cloudwatch`: both given: expected one source of error rate, p99 and rps".into(),
            );
        }
        let cloudwatch = f
            .cloudwatch
            .map(|c| cloudwatch::cloudwatch_settings(c, &backend, &envs, timeout))
            .transpose()?;
        let auto_rollback = guardrails::auto_rollback(f.guardrails.auto_rollback.as_deref())?;
        let guardrails = guardrails::guardrails(f.guardrails, metric_rules)?;
        let smoke = smoke::smoke_checks(f.smoke, &envs, timeout)?;
        let hooks = notify::webhooks(&f.notify)?;
        let schema = schema::section(f.schema, &envs)?;
        let approval = approval::section(f.approval)?;
        let cold_rollback = cold_rollback(
            f.cold_rollback.as_deref(),
            f.cold_rollback_steps.as_deref(),
            f.cold_rollback_wait,
        )?;
        let keymap = Keymap::with_overrides(&f.keys)?;
        Ok(Config {
            name,
            poll_interval,
            poll_timeout,
            plan,
            rollback_window,
            rollback_window_extend,
            rollback_window_warn,
            lease_ttl,
            live,
            journal: f.journal,
            theme: f.theme,
            backend,
            guardrails,
            keymap,
            envs,
            prometheus,
            cloudwatch,
            metrics,
            hooks,
            smoke,
            auto_rollback,
            min_bake,
            schema,
            standby_check_interval,
            cold_rollback,
            approval,
        })
    }
}

/// `poll-interval` (100ms to 5m) and `poll-timeout` (above zero; by default the interval,
/// at least 2s).
fn poll_times(
    interval: Option<Duration>,
    timeout: Option<Duration>,
) -> Result<(Duration, Duration), String> {
    let poll_interval = interval.unwrap_or(DEFAULT_POLL);
    if poll_interval < Duration::from_millis(100) || poll_interval > Duration::from_secs(300) {
        return Err(format!(
            "key `poll-interval`: value {:?}: expected a duration from 100ms to 5m",
            humantime::format_duration(poll_interval).to_string()
        ));
    }
    let poll_timeout = bounds::duration(
        "poll-timeout",
        timeout,
        poll_interval.max(Duration::from_secs(2)),
        (Duration::from_millis(100), Duration::from_secs(600)),
        "a poll slower than this is a failure; `status` waits at most twice this",
    )?;
    Ok((poll_interval, poll_timeout))
}

fn plan(plan: &Option<Vec<i64>>) -> Result<Plan, String> {
    match plan {
        None => Ok(Plan::default()),
        Some(p) => Plan::new(p).map_err(|e| format!("key `plan`: value {p:?}: {e}")),
    }
}

fn rollback_window(window: Option<Duration>) -> Result<Duration, String> {
    bounds::duration(
        "rollback-window",
        window,
        DEFAULT_WINDOW,
        (bounds::SECOND, bounds::DAY),
        "how long live is kept warm after 100 %, such as \"15m\"",
    )
}

/// `min-bake`: 1s to 24h, off when absent.
/// `standby-check-interval`: 5s to 1h, by default a minute.
fn standby_interval(v: Option<Duration>) -> Result<Duration, String> {
    bounds::duration(
        "standby-check-interval",
        v,
        Duration::from_secs(60),
        (Duration::from_secs(5), Duration::from_secs(3600)),
        "how often the smoke checks run against the rollback target while it waits",
    )
}

/// `cold-rollback` ("instant", the default, or "ramp"), `cold-rollback-steps` (the
/// candidate's shares on the way back, falling, ending at 0; `[50, 0]` by default) and
/// `cold-rollback-wait` (between steps, 1s to 5m, 10s by default).
fn cold_rollback(
    kind: Option<&str>,
    steps: Option<&[i64]>,
    wait: Option<Duration>,
) -> Result<Option<crate::core::cutover::ColdRamp>, String> {
    match kind {
        None | Some("instant") => {
            let stray = if steps.is_some() {
                Some("cold-rollback-steps")
            } else if wait.is_some() {
                Some("cold-rollback-wait")
            } else {
                None
            };
            if let Some(key) = stray {
                return Err(format!(
                    "key `{key}`: given, but `cold-rollback` is not \"ramp\": expected `cold-rollback = \"ramp\"` beside it, or leave it out"
                ));
            }
            return Ok(None);
        }
        Some("ramp") => {}
        Some(other) => {
            return Err(format!(
                "key `cold-rollback`: value {}: expected \"instant\" (one call, the default) or \"ramp\" (a cold rollback target gets the traffic back in steps)",
                bounds::echo(other)
            ));
        }
    }
    let steps: Vec<i64> = steps.map_or_else(|| vec![50, 0], <[i64]>::to_vec);
    let expected = "expected 1 to 5 shares of the candidate, falling, each 0 to 99, the last 0 (such as [50, 0])";
    let ok = (1..=5).contains(&steps.len())
        && steps.iter().all(|s| (0..=99).contains(s))
        && steps.windows(2).all(|w| w[0] > w[1])
        && steps.last() == Some(&0);
    if !ok {
        return Err(format!(
            "key `cold-rollback-steps`: value {steps:?}: {expected}"
        ));
    }
    let wait = bounds::duration(
        "cold-rollback-wait",
        wait,
        Duration::from_secs(10),
        (Duration::from_secs(1), Duration::from_secs(300)),
        "how long each step of a cold rollback holds before the next",
    )?;
    Ok(Some(crate::core::cutover::ColdRamp {
        steps: steps.iter().map(|s| *s as u8).collect(),
        wait_ms: wait.as_millis() as u64,
    }))
}

fn min_bake(bake: Option<Duration>) -> Result<Option<Duration>, String> {
    match bake {
        Some(b) if b < Duration::from_secs(1) || b > Duration::from_secs(24 * 3600) => {
            Err(format!(
                "key `min-bake`: value {:?}: expected a duration from 1s to 24h (how long each step holds before the next), or leave it out",
                humantime::format_duration(b).to_string()
            ))
        }
        b => Ok(b),
    }
}

fn live(live: &Option<String>) -> Result<Option<Env>, String> {
    match live {
        None => Ok(None),
        Some(s) => s
            .parse::<Env>()
            .map(Some)
            .map_err(|_| format!("key `live`: value {s:?}: expected \"blue\" or \"green\"")),
    }
}

fn lease_ttl(ttl: Option<Duration>) -> Result<Duration, String> {
    let lease_ttl = ttl.unwrap_or(Duration::from_secs(15));
    if lease_ttl < Duration::from_secs(3) || lease_ttl > Duration::from_secs(3600) {
        return Err(format!(
            "key `lease-ttl`: value {:?}: expected from \"3s\" (the lease is renewed every third of it) to \"1h\" (a dead driver's lease lapses after it)",
            humantime::format_duration(lease_ttl).to_string()
        ));
    }
    Ok(lease_ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const MIN: &str = "[backend]\nkind = \"sim\"\ncontrol = \"127.0.0.1:7070\"\n";

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
    #[allow(clippy::too_many_lines)] // one table of cases
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
            (
                format!("{MIN}[envs.green]\nversion = \"v1\\u001b[31m\"\n"),
                &[
                    "key `envs.green.version`",
                    "no control or bidirectional characters",
                ][..],
            ),
            (
                format!(
                    "{MIN}[envs.green]\nhealth = [{{ url = \"http://h/{}\" }}]\n",
                    "a".repeat(900_000)
                ),
                &[
                    "key `envs.green.health[0].url`",
                    "characters)",
                    "at most 2048",
                ][..],
            ),
            (
                format!(
                    "poll-timeout = \"2s\"\n{MIN}[prometheus]\nurl = \"http://p:9090\"\ntimeout = \"5s\"\n"
                ),
                &[
                    "key `prometheus.timeout`",
                    "\"5s\"",
                    "at most `poll-timeout` (\"2s\")",
                ][..],
            ),
            (
                format!("journal = \"/{}\"\n{MIN}", "j".repeat(200_000)),
                &["key `journal`", "at most 4096 bytes", "characters)"][..],
            ),
            (
                format!("plan = [{}100]\n{MIN}", "1, ".repeat(300_000)),
                &["`plan`", "characters)"][..],
            ),
            (
                format!(
                    "{MIN}[prometheus]\nurl = \"http://p:9090\"\n[[prometheus.queries]]\nname = \"q\"\nquery = \"\"\n"
                ),
                &["key `prometheus.queries[0].query`", "a PromQL query"][..],
            ),
            (
                format!("{MIN}[prometheus]\nurl = \"http://\"\n"),
                &[
                    "key `prometheus.url`",
                    "expected an http:// or https:// URL",
                ][..],
            ),
            (
                format!("{MIN}[envs.green]\nlabel = 'g\"}} or vector(1) #'\n"),
                &["key `envs.green.label`", "without quotes or backslashes"][..],
            ),
            (
                format!("{MIN}[prometheus]\nurl = \"http://127.0.0.1:1\"\nenv-label = \"a b\"\n"),
                &["key `prometheus.env-label`", "\"a b\"", "label name"][..],
            ),
            (
                format!("name = \"evil\\u202ename\"\n{MIN}"),
                &["key `name`", "\\u{202e}", "bidirectional"][..],
            ),
            (
                format!(
                    "{MIN}[prometheus]\nurl = \"http://127.0.0.1:1\"\n[[prometheus.queries]]\nname = \"ord\\u001b]0;x\\u0007\"\nquery = \"q\"\n"
                ),
                &["key `prometheus.queries[0].name`", "\\u{1b}"][..],
            ),
            (
                format!(
                    "{MIN}[prometheus]\nurl = \"http://127.0.0.1:1\"\n[[prometheus.queries]]\nname = \"orders\"\nunit = \"/m\\u001b[2J\"\nquery = \"q\"\n"
                ),
                &["key `prometheus.queries[0].unit`"][..],
            ),
            (
                format!("{MIN}[envs.blue]\nlabel = \"a\\nb\"\n"),
                &["key `envs.blue.label`"][..],
            ),
            (
                format!("{MIN}[[smoke]]\nname = \"x\\u0007\"\nurl = \"http://h/{{env}}\"\n"),
                &["key `smoke[0].name`"][..],
            ),
        ];
        for (text, wants) in cases {
            let e = Config::parse(&text, "cutover.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("cutover.toml: "), "{e}");
            assert!(
                e.len() < 600 && !e.chars().any(|c| c.is_control() && c != '\n'),
                "an error is short and prints no control character: {e:.200}"
            );
            for w in wants {
                assert!(e.contains(w), "error {e:?} should contain {w:?}");
            }
        }
    }

    #[test]
    fn every_number_and_duration_is_bounded_and_every_echo_is_short() {
        let cases = [
            // Each case a fault catalogue found accepted: now refused, naming key and range.
            (
                format!("{MIN}[guardrails]\nmax-health-failures = 0\n"),
                &["`guardrails.max-health-failures`", "value 0", "1 to 1000"][..],
            ),
            (
                format!("rollback-window-extend = \"500000000years\"\n{MIN}"),
                &["`rollback-window-extend`", "500000000years", "\"1s\" to \"1day\""][..],
            ),
            // Too big to be read as a number at all: said so, the quotes still paired.
            (
                format!("poll-interval = \"99999999999999999999999s\"\n{MIN}"),
                &["line 1", "far too long: durations here are seconds to days"][..],
            ),
            (
                format!("poll-interval = \"{}s\"\n{MIN}", "9".repeat(2000)),
                &["… (63 characters)): invalid value", "\"999999999999… (2000 digits)s\", expected a duration"][..],
            ),
            (
                format!("plan = [10, 50, 99999999999999999999]\n{MIN}"),
                &["too large: expected a whole number"][..],
            ),
            (
                format!("poll-timeout = \"500000000years\"\n{MIN}"),
                &["`poll-timeout`", "\"100ms\" to \"10m\""][..],
            ),
            (
                format!("{MIN}[envs.green]\nhealth = [{{url = \"http://h/\", timeout = \"0s\"}}]\n"),
                &["`envs.green.health[0].timeout`", "\"0s\""][..],
            ),
            (
                format!("{MIN}[envs.green]\nhealth = [{{url = \"http://h/\", expect-status = 999}}]\n"),
                &["`envs.green.health[0].expect-status`", "999", "100 to 599"][..],
            ),
            (
                "[backend]\nkind = \"nginx\"\nconfig = \"n.conf\"\nupstream = \"u\"\nblue-server = \"a\"\ngreen-server = \"b\"\nweight-scale = 4000000000\n".to_string(),
                &["`backend.weight-scale`", "4000000000", "1 to 10000"][..],
            ),
            (
                format!("{MIN}[prometheus]\nurl = \"http://p\"\nwindow = \"0s\"\n"),
                &["`prometheus.window`", "\"0s\""][..],
            ),
            (
                format!("{MIN}[prometheus]\nurl = \"http://p\"\nerror-rate = \"\"\n"),
                &["`prometheus.error-rate`", "PromQL"][..],
            ),
            (
                "[backend]\nkind = \"sim\"\ncontrol = \"not an address/x y\"\n".to_string(),
                &["`backend.control`", "not an address/x y"][..],
            ),
            (
                format!("name = \"\"\n{MIN}"),
                &["`name`", "1 to 100 characters"][..],
            ),
            (
                format!("name = \"{}\"\n{MIN}", "n".repeat(1_000_000)),
                &["`name`", "(1000000 characters)"][..],
            ),
            (
                format!("name = \"\\u001b[2J\\u001b]0;pwned\\u0007\"\n{MIN}"),
                &["`name`", "\\u{1b}[2J"][..],
            ),
            (
                format!("{MIN}[guardrails]\nauto-rollback = \"500000000years\"\n"),
                &["`guardrails.auto-rollback`", "\"1h\""][..],
            ),
        ];
        for (text, wants) in cases {
            let e = Config::parse(&text, "cutover.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("cutover.toml: "), "{e:.200}");
            assert!(
                e.len() < 600 && !e.chars().any(|c| c.is_control() && c != '\n'),
                "an error is short and prints no control character: {e:.200}"
            );
            for w in wants {
                assert!(e.contains(w), "error {e:.300} should contain {w:?}");
            }
        }
    }

    #[test]
    fn approval_and_the_cold_ramp_are_read_with_their_defaults_and_refused_by_key() {
        use crate::core::approval::Need;
        let c = Config::parse(
            &format!("cold-rollback = \"ramp\"\n{MIN}[approval]\nrequired-for = [\"promote\"]\n"),
            "t",
        )
        .unwrap();
        let a = c.approval.unwrap();
        assert_eq!((a.required_for, a.ttl_ms), (vec![Need::Promote], 300_000));
        let r = c.cold_rollback.unwrap();
        assert_eq!((r.steps, r.wait_ms), (vec![50, 0], 10_000));
        assert!(Config::parse(MIN, "t").unwrap().cold_rollback.is_none());
        let cases: Vec<(String, &[&str])> = vec![
            (
                format!("{MIN}[approval]\nrequired-for = [\"deploy\"]\n"),
                &[
                    "`approval.required-for`",
                    "deploy",
                    "\"promote\", \"override\"",
                ],
            ),
            (
                format!("{MIN}[approval]\nrequired-for = []\n"),
                &["`approval.required-for`", "[]"],
            ),
            (
                format!("{MIN}[approval]\napproval-ttl = \"5m\"\n"),
                &["`approval.required-for`", "missing"],
            ),
            (
                format!("{MIN}[approval]\nrequired-for = [\"promote\"]\napproval-ttl = \"1s\"\n"),
                &["`approval.approval-ttl`", "1s", "30s"],
            ),
            (
                format!("cold-rollback = \"slow\"\n{MIN}"),
                &["`cold-rollback`", "slow", "\"ramp\""],
            ),
            (
                format!("cold-rollback = \"ramp\"\ncold-rollback-steps = [0, 50]\n{MIN}"),
                &["`cold-rollback-steps`", "[0, 50]", "falling"],
            ),
            (
                format!("cold-rollback = \"ramp\"\ncold-rollback-steps = [50, 10]\n{MIN}"),
                &["`cold-rollback-steps`", "the last 0"],
            ),
            (
                format!("cold-rollback = \"ramp\"\ncold-rollback-steps = [100, 0]\n{MIN}"),
                &["`cold-rollback-steps`", "0 to 99"],
            ),
            (
                format!("cold-rollback-steps = [50, 0]\n{MIN}"),
                &["`cold-rollback-steps`", "not \"ramp\""],
            ),
            (
                format!("cold-rollback = \"ramp\"\ncold-rollback-wait = \"1h\"\n{MIN}"),
                &["`cold-rollback-wait`", "5m"],
            ),
        ];
        for (text, want) in cases {
            let e = Config::parse(&text, "t").unwrap_err().to_string();
            for w in want {
                assert!(e.contains(w), "{e} lacks {w}");
            }
        }
    }

    #[test]
    fn a_bad_schema_section_is_said_with_its_key_and_never_echoes_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("url");
        let good = "postgres://ro:S3cret-pw-42@127.0.0.1:5432/app";
        std::fs::write(&url, good).unwrap();
        let section = |extra: &str| {
            format!(
                "{MIN}[schema]\nurl-file = {:?}\n{extra}\n",
                url.display().to_string()
            )
        };
        let ok = Config::parse(&section("tool = \"flyway\""), "t").unwrap();
        assert_eq!(ok.schema.unwrap().table, "flyway_schema_history");
        let cases: Vec<(String, &[&str])> = vec![
            (
                section("tool = \"sqitch\""),
                &["`schema.tool`", "sqitch", "flyway"],
            ),
            (section(""), &["`schema.tool`", "missing"]),
            (
                section("tool = \"flyway\"\ntable = \"x; DROP TABLE y\""),
                &["`schema.table`", "expected a table name"],
            ),
            (
                section("tool = \"flyway\"\ncontract = \"(\""),
                &["`schema.contract`", "regular expression"],
            ),
            (
                section("tool = \"flyway\"\nca-file = \"/nonexistent/ca.pem\""),
                &["`schema.ca-file`", "/nonexistent/ca.pem", "PEM"],
            ),
            (
                section("tool = \"flyway\"\ninterval = \"0s\""),
                &["`schema.interval`", "\"0s\""],
            ),
            (
                format!("{MIN}[schema]\ntool = \"flyway\"\n"),
                &[
                    "`schema.url-env` or `schema.url-file`",
                    "never the URL itself",
                ],
            ),
            (
                format!("{MIN}[envs.blue]\nschema-max = \"42\"\n"),
                &["`envs.blue.schema-max`", "`[schema]`"],
            ),
            (
                format!(
                    "{}[envs.blue]\nschema-max-pointer = \"/v\"\n",
                    section("tool = \"flyway\"")
                ),
                &["`envs.blue.schema-max-pointer`", "health"],
            ),
        ];
        for (text, wants) in cases {
            let e = Config::parse(&text, "cutover.toml")
                .unwrap_err()
                .to_string();
            for w in wants {
                assert!(e.contains(w), "error {e:.300} should contain {w:?}");
            }
            assert!(!e.contains("S3cret"), "{e}");
        }
        // A password with a bare `@`: refused, and nothing of it shown.
        std::fs::write(&url, "postgres://ro:pa@ssS3cret@127.0.0.1:5432/app").unwrap();
        let e = Config::parse(&section("tool = \"flyway\""), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("%40") && !e.contains("ssS3cret"), "{e}");
        // Not a PostgreSQL URL: said without echoing it.
        std::fs::write(&url, "mysql://ro:S3cret-pw-42@h/app").unwrap();
        let e = Config::parse(&section("tool = \"flyway\""), "t")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not hold a PostgreSQL URL") && !e.contains("S3cret"),
            "{e}"
        );
    }

    #[test]
    fn shipped_prometheus_config_parses() {
        let text = include_str!("../../demo/prometheus/cutover.toml");
        let c = Config::parse(text, "demo/prometheus/cutover.toml").unwrap();
        assert_eq!(c.prometheus.unwrap().url, "http://127.0.0.1:9090");
        assert_eq!(
            c.envs.green.health[0].expect_json,
            Some(("/status".into(), serde_json::json!("up")))
        );
        assert_eq!(c.guardrails.for_ms, 10_000);
    }

    #[test]
    fn shipped_sample_config_parses() {
        let text = include_str!("../../demo/sim/cutover.toml");
        let c = Config::parse(text, "demo/sim/cutover.toml").unwrap();
        assert_eq!(
            c.backend,
            BackendConfig::Sim {
                control: "127.0.0.1:7070".into(),
                timeout: Duration::from_secs(10),
            }
        );
        assert_eq!(c.plan, Plan::default());
    }

    mod route53 {
        use super::super::{BackendConfig, Config};

        const ROUTE53: &str = "[backend]\nkind = \"route53\"\nhosted-zone-id = \"Z0123456789ABCDEFGHIJ\"\nrecord-name = \"www.example.com\"\nrecord-type = \"a\"\nblue-set-identifier = \"blue\"\ngreen-set-identifier = \"green\"\n";

        #[test]
        fn route53_is_read_with_its_defaults() {
            let c = Config::parse(ROUTE53, "t").unwrap();
            let BackendConfig::Route53(r) = c.backend else {
                panic!("{:?}", c.backend)
            };
            assert_eq!(
                (r.name.as_str(), r.rtype.as_str(), r.scale),
                ("www.example.com.", "A", 100)
            );
            assert_eq!(r.region.as_deref(), Some("us-east-1"));
            assert_eq!(r.sync_timeout, std::time::Duration::from_secs(180));
        }

        #[test]
        fn route53_values_are_refused_with_their_key() {
            for (from, to, want) in [
                (
                    "Z0123456789ABCDEFGHIJ",
                    "Z01 23",
                    "key `backend.hosted-zone-id`: value \"Z01 23\"",
                ),
                (
                    "www.example.com",
                    "localhost",
                    "key `backend.record-name`: value \"localhost\"",
                ),
                (
                    "\"a\"",
                    "\"TXT\"",
                    "key `backend.record-type`: value \"TXT\": expected \"A\", \"AAAA\" or \"CNAME\"",
                ),
                (
                    "green-set-identifier = \"green\"",
                    "green-set-identifier = \"blue\"",
                    "both \"blue\": expected two different weighted records",
                ),
                (
                    "[backend]\n",
                    "[backend]\nweight-scale = 300\n",
                    "key `backend.weight-scale`: value 300: expected 1 to 255",
                ),
                (
                    "[backend]\n",
                    "[backend]\nsync-timeout = \"2h\"\n",
                    "key `backend.sync-timeout`",
                ),
                (
                    "[backend]\n",
                    "[backend]\nregion = \"us east 1\"\n",
                    "key `backend.region`: value \"us east 1\": expected an AWS region",
                ),
                (
                    "[backend]\n",
                    "[backend]\nendpoint-url = \"http://127.0.0.1:5500 x\"\n",
                    "key `backend.endpoint-url`",
                ),
            ] {
                let text = ROUTE53.replace(from, to);
                let e = Config::parse(&text, "t").unwrap_err().to_string();
                assert!(e.contains(want), "{to}: {e}");
            }
        }
    }

    mod cloudwatch_source {
        use crate::config::Config;
        use crate::config::tests::MIN;

        const ALB: &str = "[backend]\nkind = \"alb\"\nlistener-arn = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2\"\nblue-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067\"\ngreen-target-group = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-green/83e2d6bc24d8a067\"\nregion = \"eu-west-1\"\n";

        #[test]
        fn an_alb_gets_its_own_metrics_from_its_arns() {
            let c = Config::parse(&format!("{ALB}[cloudwatch]\n"), "t").unwrap();
            let cw = c.cloudwatch.unwrap();
            assert_eq!(cw.region.as_deref(), Some("eu-west-1"), "the backend's");
            assert_eq!(
                (cw.labels.blue.as_str(), cw.labels.green.as_str()),
                (
                    "targetgroup/checkout-blue/73e2d6bc24d8a067",
                    "targetgroup/checkout-green/83e2d6bc24d8a067"
                )
            );
            assert_eq!(cw.requests.metric, "RequestCount");
            assert!(cw.requests.dimensions.contains(&(
                "LoadBalancer".into(),
                "app/checkout/50dc6c495c0c9188".into()
            )));
            assert_eq!(cw.p99.unwrap().stat, "p99");
            assert!(cw.absent_errors_are_zero);
            assert_eq!(cw.period, std::time::Duration::from_secs(60));
        }

        #[test]
        fn any_metric_may_be_given_with_env_and_nonsense_is_refused() {
            let custom = "[cloudwatch]\n[cloudwatch.requests]\nnamespace = \"Shop\"\nmetric = \"Requests\"\nstat = \"Sum\"\ndimensions = { Service = \"checkout-{env}\" }\n[cloudwatch.errors]\nnamespace = \"Shop\"\nmetric = \"Errors\"\nstat = \"Sum\"\ndimensions = { Service = \"checkout-{env}\" }\n";
            let c = Config::parse(&format!("{MIN}{custom}"), "t").unwrap();
            let cw = c.cloudwatch.unwrap();
            assert_eq!(cw.labels.green, "green");
            assert!(cw.p99.is_none() && !cw.absent_errors_are_zero);
            for (text, want) in [
                (
                    format!("{MIN}[cloudwatch]\n"),
                    "key `cloudwatch.requests`: not given, and the `sim` backend has no default CloudWatch metrics",
                ),
                (
                    format!("{ALB}[cloudwatch]\nperiod = \"90s\"\n"),
                    "key `cloudwatch.period`: value \"1m 30s\": expected whole minutes",
                ),
                (
                    format!(
                        "{}{}",
                        MIN,
                        custom.replace("stat = \"Sum\"", "stat = \"p100\"")
                    ),
                    "key `cloudwatch.requests.stat`: value \"p100\"",
                ),
                (
                    format!(
                        "{}{}",
                        MIN,
                        custom.split("[cloudwatch.errors]").next().unwrap()
                    ),
                    "key `cloudwatch.errors`: missing",
                ),
                (
                    format!("{ALB}[cloudwatch]\n[prometheus]\nurl = \"http://p:9090\"\n"),
                    "keys `prometheus` and `cloudwatch`: both given",
                ),
                (
                    format!("{ALB}[cloudwatch]\np99-unit = \"hours\"\n"),
                    "key `cloudwatch.p99-unit`: value \"hours\"",
                ),
                (
                    format!("{ALB}[cloudwatch]\nendpoint-url = \"ftp://x\"\n"),
                    "key `cloudwatch.endpoint-url`: value \"ftp://x/\": expected an http:// or https:// URL",
                ),
                (
                    format!("{ALB}[cloudwatch]\nregion = \"eu-west-1\\u001b[2J\"\n"),
                    "key `cloudwatch.region`",
                ),
                (
                    format!("{ALB}[cloudwatch]\nload-balancer = \"app/x y/1\"\n"),
                    "key `cloudwatch.load-balancer`: value \"app/x y/1\"",
                ),
            ] {
                let e = Config::parse(&text, "t").unwrap_err().to_string();
                assert!(e.contains(want), "{text}: {e}");
            }
        }
    }

    mod elastic_beanstalk {
        use super::super::{BackendConfig, Config};

        const EB: &str = "[backend]\nkind = \"elastic-beanstalk\"\napplication = \"checkout\"\nblue-environment = \"checkout-blue\"\ngreen-environment = \"checkout-green\"\nproduction-cname = \"checkout-prod.us-east-1.elasticbeanstalk.com.\"\n";

        #[test]
        fn elastic_beanstalk_is_read_with_its_defaults() {
            let c = Config::parse(EB, "t").unwrap();
            let BackendConfig::ElasticBeanstalk(e) = c.backend else {
                panic!("{:?}", c.backend)
            };
            assert_eq!(
                e.production_cname,
                "checkout-prod.us-east-1.elasticbeanstalk.com"
            );
            assert_eq!(e.swap_timeout, std::time::Duration::from_secs(600));
            assert_eq!(e.envs.green, "checkout-green");
        }

        #[test]
        fn elastic_beanstalk_values_are_refused_with_their_key() {
            for (from, to, want) in [
                (
                    "green-environment = \"checkout-green\"",
                    "green-environment = \"checkout-blue\"",
                    "both \"checkout-blue\": expected two different environments",
                ),
                (
                    "\"checkout-green\"",
                    "\"gr\"",
                    "key `backend.green-environment`: value \"gr\": expected an environment name",
                ),
                (
                    "\"checkout-prod.us-east-1.elasticbeanstalk.com.\"",
                    "\"https://checkout-prod\"",
                    "key `backend.production-cname`: value \"https://checkout-prod\"",
                ),
                (
                    "[backend]\n",
                    "[backend]\nswap-timeout = \"0s\"\n",
                    "key `backend.swap-timeout`",
                ),
                ("application = \"checkout\"\n", "", "application"),
            ] {
                let text = EB.replace(from, to);
                let e = Config::parse(&text, "t").unwrap_err().to_string();
                assert!(e.contains(want), "{to}: {e}");
            }
        }
    }
}
