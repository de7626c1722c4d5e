//! The config file: serde types (kebab-case, unknown keys refused, humantime durations),
//! converted into runtime types. Every error names the key, the value and what was expected.

use crate::app::keymap::Keymap;
use crate::app::notify::Webhook;
use crate::backends::alb::{AlbSettings, AlbTarget};
use crate::backends::haproxy::{HaproxySettings, Socket};
use crate::backends::kube::{IstioDest, KubeKind, KubeSettings};
use crate::backends::nginx::NginxSettings;
/// Moved to `core`; re-exported so `crate::config::MetricInfo` keeps working.
pub use crate::core::MetricInfo;
use crate::core::{Bad, Env, EnvPair, Guardrails, MetricRule, NoDataPolicy, Plan};
use crate::signals::health::Probe;
use crate::signals::prometheus::{ExtraQuery, PrometheusSettings, Templates};
use crate::signals::smoke::SmokeCheck;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
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
    #[serde(default, with = "humantime_serde")]
    rollback_window_extend: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    rollback_window_warn: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    lease_ttl: Option<Duration>,
    live: Option<String>,
    journal: Option<PathBuf>,
    theme: Option<String>,
    backend: BackendFile,
    #[serde(default)]
    envs: EnvsFile,
    #[serde(default)]
    guardrails: GuardrailsFile,
    prometheus: Option<PrometheusFile>,
    #[serde(default)]
    notify: Vec<NotifyFile>,
    #[serde(default)]
    smoke: Vec<toml::Value>,
    #[serde(default)]
    keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum BackendFile {
    Sim(SimFile),
    Haproxy(HaproxyFile),
    Nginx(NginxFile),
    Alb(AlbFile),
    KubeService(KubeFile),
    KubeGateway(KubeFile),
    KubeIngressNginx(KubeFile),
    KubeIstio(KubeFile),
}

/// One table for the four Kubernetes kinds; each kind checks which keys it needs and
/// refuses the ones it does not use.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KubeFile {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespace: Option<String>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    blue_deployment: Option<String>,
    green_deployment: Option<String>,
    // kube-service
    service: Option<String>,
    selector_key: Option<String>,
    blue_value: Option<String>,
    green_value: Option<String>,
    // kube-gateway
    http_route: Option<String>,
    rule: Option<i64>,
    blue_service: Option<String>,
    green_service: Option<String>,
    weight_scale: Option<u32>,
    // kube-ingress-nginx
    blue_ingress: Option<String>,
    green_ingress: Option<String>,
    // kube-istio
    virtual_service: Option<String>,
    route: Option<i64>,
    blue_host: Option<String>,
    green_host: Option<String>,
    blue_subset: Option<String>,
    green_subset: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AlbFile {
    listener_arn: Option<String>,
    rule_arn: Option<String>,
    blue_target_group: String,
    green_target_group: String,
    region: Option<String>,
    profile: Option<String>,
    endpoint_url: Option<String>,
    weight_scale: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct HaproxyFile {
    socket: String,
    backend: String,
    blue_server: String,
    green_server: String,
    weight_scale: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NginxFile {
    config: PathBuf,
    upstream: String,
    blue_server: String,
    green_server: String,
    test_command: Option<Vec<String>>,
    reload_command: Option<Vec<String>>,
    weight_scale: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SimFile {
    control: String,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
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
    label: Option<String>,
    /// The env's own base URL, for smoke checks given by `path`.
    address: Option<String>,
    /// URLs, or tables with expectations (see [`ProbeFile`]).
    #[serde(default)]
    health: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProbeFile {
    url: String,
    expect_status: Option<u16>,
    expect_body: Option<String>,
    json_pointer: Option<String>,
    json_value: Option<toml::Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    bearer_token_env: Option<String>,
    bearer_token_file: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PrometheusFile {
    url: String,
    error_rate: Option<String>,
    p99: Option<String>,
    rps: Option<String>,
    requests: Option<String>,
    errors: Option<String>,
    env_label: Option<String>,
    window: Option<String>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    bearer_token_env: Option<String>,
    bearer_token_file: Option<PathBuf>,
    basic_auth_user: Option<String>,
    basic_auth_password_env: Option<String>,
    basic_auth_password_file: Option<PathBuf>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    queries: Vec<QueryFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NotifyFile {
    /// The environment variable holding the webhook URL (URLs carry secrets).
    url_env: String,
    format: Option<String>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct QueryFile {
    name: String,
    query: String,
    #[serde(default)]
    unit: String,
    bad: Option<String>,
    max_change: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GuardrailsFile {
    max_error_rate: Option<f64>,
    max_error_rate_delta: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    max_p99: Option<Duration>,
    max_p99_ratio: Option<f64>,
    max_health_failures: Option<u32>,
    #[serde(default, rename = "for", with = "humantime_serde")]
    for_: Option<Duration>,
    no_data: Option<String>,
    auto_rollback: Option<String>,
}

/// One env's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvConfig {
    pub version: Option<String>,
    pub address: Option<String>,
    /// The env's value of the env label in queries (`{env}`).
    pub label: String,
    pub health: Vec<Probe>,
}

/// Which backend, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum BackendConfig {
    /// A `cutover sim serve` control server (`host:port` or URL).
    Sim {
        control: String,
        /// A write not answered within this is "outcome unknown".
        timeout: Duration,
    },
    Haproxy(HaproxySettings),
    Nginx(NginxSettings),
    Alb(AlbSettings),
    Kube(KubeSettings),
}

impl BackendConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::Sim { .. } => "sim",
            BackendConfig::Haproxy(_) => "haproxy",
            BackendConfig::Nginx(_) => "nginx",
            BackendConfig::Alb(_) => "alb",
            BackendConfig::Kube(k) => k.kind.name(),
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
    pub metrics: Vec<MetricInfo>,
    pub hooks: Vec<Webhook>,
    /// `[[smoke]]` checks, run against the candidate with `s` and before the first step.
    pub smoke: Vec<SmokeCheck>,
    /// Roll back by itself after a breach has lasted this long (`None`: off).
    pub auto_rollback: Option<Duration>,
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
        let lease_ttl = f.lease_ttl.unwrap_or(Duration::from_secs(15));
        if lease_ttl < Duration::from_secs(3) || lease_ttl > Duration::from_secs(3600) {
            return Err(err(format!(
                "key `lease-ttl`: value {:?}: expected from \"3s\" (the lease is renewed every third of it) to \"1h\" (a dead driver's lease lapses after it)",
                humantime::format_duration(lease_ttl).to_string()
            )));
        }
        let backend = match f.backend {
            BackendFile::Sim(s) => {
                if s.control.trim().is_empty() {
                    return Err(err(
                        "key `backend.control`: value \"\": expected the sim control address, e.g. \"127.0.0.1:7070\"".into(),
                    ));
                }
                let timeout = s.timeout.unwrap_or(Duration::from_secs(10));
                if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(600) {
                    return Err(err(format!(
                        "key `backend.timeout`: value {:?}: expected from \"100ms\" to \"10m\"",
                        humantime::format_duration(timeout).to_string()
                    )));
                }
                BackendConfig::Sim {
                    control: s.control,
                    timeout,
                }
            }
            BackendFile::Haproxy(h) => {
                let scale = h.weight_scale.unwrap_or(100);
                if !(1..=256).contains(&scale) {
                    return Err(err(format!(
                        "key `backend.weight-scale`: value {scale}: expected 1 to 256 (HAProxy's weight range)"
                    )));
                }
                for (key, v) in [
                    ("socket", &h.socket),
                    ("backend", &h.backend),
                    ("blue-server", &h.blue_server),
                    ("green-server", &h.green_server),
                ] {
                    if v.trim().is_empty() {
                        return Err(err(format!(
                            "key `backend.{key}`: value \"\": expected a name"
                        )));
                    }
                }
                if h.blue_server == h.green_server {
                    return Err(err(format!(
                        "keys `backend.blue-server` and `backend.green-server`: both {:?}: expected two different servers",
                        h.blue_server
                    )));
                }
                BackendConfig::Haproxy(HaproxySettings {
                    socket: Socket::parse(&h.socket),
                    backend: h.backend,
                    servers: EnvPair::new(h.blue_server, h.green_server),
                    scale,
                    timeout: h.timeout.unwrap_or(poll_timeout),
                })
            }
            BackendFile::Alb(a) => {
                let target = match (a.listener_arn, a.rule_arn) {
                    (Some(l), None) => AlbTarget::Listener(l),
                    (None, Some(r)) => AlbTarget::Rule(r),
                    _ => {
                        return Err(err(
                            "keys `backend.listener-arn` and `backend.rule-arn`: expected exactly one of them".into(),
                        ));
                    }
                };
                let arn = match &target {
                    AlbTarget::Listener(x) | AlbTarget::Rule(x) => x.clone(),
                };
                for (key, v) in [
                    (
                        if matches!(target, AlbTarget::Listener(_)) {
                            "listener-arn"
                        } else {
                            "rule-arn"
                        },
                        &arn,
                    ),
                    ("blue-target-group", &a.blue_target_group),
                    ("green-target-group", &a.green_target_group),
                ] {
                    if !v.starts_with("arn:") {
                        return Err(err(format!(
                            "key `backend.{key}`: value {v:?}: expected an ARN (arn:aws:elasticloadbalancing:…)"
                        )));
                    }
                }
                if a.blue_target_group == a.green_target_group {
                    return Err(err("keys `backend.blue-target-group` and `backend.green-target-group`: the same ARN; expected two target groups".into()));
                }
                let scale = a.weight_scale.unwrap_or(999);
                if !(1..=999).contains(&scale) {
                    return Err(err(format!(
                        "key `backend.weight-scale`: value {scale}: expected 1 to 999 (ALB's weight range)"
                    )));
                }
                BackendConfig::Alb(AlbSettings {
                    target,
                    groups: EnvPair::new(a.blue_target_group, a.green_target_group),
                    region: a.region,
                    profile: a.profile,
                    endpoint_url: a.endpoint_url,
                    scale,
                    timeout: a.timeout.unwrap_or(Duration::from_secs(5)),
                    static_credentials: None,
                })
            }
            BackendFile::KubeService(k) => kube_settings(origin, "kube-service", k)?,
            BackendFile::KubeGateway(k) => kube_settings(origin, "kube-gateway", k)?,
            BackendFile::KubeIngressNginx(k) => kube_settings(origin, "kube-ingress-nginx", k)?,
            BackendFile::KubeIstio(k) => kube_settings(origin, "kube-istio", k)?,
            BackendFile::Nginx(n) => {
                let scale = n.weight_scale.unwrap_or(100);
                if scale == 0 {
                    return Err(err(
                        "key `backend.weight-scale`: value 0: expected at least 1".into(),
                    ));
                }
                if n.blue_server == n.green_server {
                    return Err(err(format!(
                        "keys `backend.blue-server` and `backend.green-server`: both {:?}: expected two different servers",
                        n.blue_server
                    )));
                }
                let cmd = |key: &str,
                           v: Option<Vec<String>>,
                           default: &[&str]|
                 -> Result<Vec<String>, ConfigError> {
                    let v = v.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
                    if v.is_empty() || v[0].trim().is_empty() {
                        return Err(err(format!(
                            "key `backend.{key}`: value []: expected a command such as {default:?}"
                        )));
                    }
                    Ok(v)
                };
                BackendConfig::Nginx(NginxSettings {
                    config: n.config,
                    upstream: n.upstream,
                    servers: EnvPair::new(n.blue_server, n.green_server),
                    test_command: cmd("test-command", n.test_command, &["nginx", "-t"])?,
                    reload_command: cmd(
                        "reload-command",
                        n.reload_command,
                        &["nginx", "-s", "reload"],
                    )?,
                    scale,
                    timeout: n.timeout.unwrap_or(Duration::from_secs(30)),
                })
            }
        };
        let timeout = poll_timeout;
        let envs = EnvPair::new(
            env_config(Env::Blue, f.envs.blue, timeout).map_err(err)?,
            env_config(Env::Green, f.envs.green, timeout).map_err(err)?,
        );
        let (prometheus, metric_rules, metrics) = match f.prometheus {
            None => (None, Vec::new(), Vec::new()),
            Some(p) => prometheus_settings(p, &envs, timeout).map_err(err)?,
        };
        let auto_rollback = match f.guardrails.auto_rollback.as_deref() {
            None | Some("off") => None,
            Some(s) => match humantime::parse_duration(s) {
                Ok(d) if !d.is_zero() => Some(d),
                _ => {
                    return Err(err(format!(
                        "key `guardrails.auto-rollback`: value {s:?}: expected \"off\" or a duration of sustained breach such as \"30s\""
                    )));
                }
            },
        };
        let guardrails = guardrails(f.guardrails, metric_rules).map_err(err)?;
        let smoke = f
            .smoke
            .into_iter()
            .enumerate()
            .map(|(i, t)| smoke_check(i, t, &envs, timeout))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let mut hooks = Vec::new();
        for (i, n) in f.notify.iter().enumerate() {
            let key = format!("notify[{i}]");
            let url = std::env::var(&n.url_env).ok().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
                err(format!(
                    "key `{key}.url-env`: value {:?}: the environment variable is not set; expected it to hold the webhook URL",
                    n.url_env
                ))
            })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(err(format!(
                    "key `{key}.url-env`: ${} does not hold an http(s) URL",
                    n.url_env
                )));
            }
            let slack = match n.format.as_deref() {
                None | Some("slack") => true,
                Some("json") => false,
                Some(other) => {
                    return Err(err(format!(
                        "key `{key}.format`: value {other:?}: expected \"slack\" or \"json\""
                    )));
                }
            };
            hooks.push(Webhook {
                name: n.url_env.clone(),
                url,
                slack,
                timeout: n.timeout.unwrap_or(Duration::from_secs(3)),
            });
        }
        let keymap = Keymap::with_overrides(&f.keys).map_err(err)?;
        Ok(Config {
            name: f.name.unwrap_or_else(|| "cutover".into()),
            poll_interval,
            poll_timeout,
            plan,
            rollback_window,
            rollback_window_extend: f
                .rollback_window_extend
                .unwrap_or(Duration::from_secs(15 * 60)),
            rollback_window_warn: f
                .rollback_window_warn
                .unwrap_or(Duration::from_secs(2 * 60)),
            lease_ttl,
            live,
            journal: f.journal,
            theme: f.theme,
            backend,
            guardrails,
            keymap,
            envs,
            prometheus,
            metrics,
            hooks,
            smoke,
            auto_rollback,
        })
    }
}

fn guardrails(g: GuardrailsFile, metrics: Vec<MetricRule>) -> Result<Guardrails, String> {
    for (key, v) in [
        ("max-error-rate", g.max_error_rate),
        ("max-error-rate-delta", g.max_error_rate_delta),
    ] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err(format!(
                "key `guardrails.{key}`: value {v}: expected a fraction from 0 to 1 (0.01 = 1 %)"
            ));
        }
    }
    if let Some(r) = g.max_p99_ratio
        && !(r > 1.0 && r.is_finite())
    {
        return Err(format!(
            "key `guardrails.max-p99-ratio`: value {r}: expected a ratio above 1 (1.5 = 50 % slower than live)"
        ));
    }
    let no_data = match g.no_data.as_deref() {
        None | Some("warn") => NoDataPolicy::Warn,
        Some("breach") => NoDataPolicy::Breach,
        Some(other) => {
            return Err(format!(
                "key `guardrails.no-data`: value {other:?}: expected \"warn\" or \"breach\""
            ));
        }
    };
    let d = Guardrails::default();
    Ok(Guardrails {
        max_error_rate: g.max_error_rate.or(d.max_error_rate),
        max_error_rate_delta: g.max_error_rate_delta,
        max_p99_ms: g.max_p99.map(|d| d.as_secs_f64() * 1000.0).or(d.max_p99_ms),
        max_p99_ratio: g.max_p99_ratio,
        max_health_failures: g.max_health_failures.or(d.max_health_failures),
        metrics,
        for_ms: g.for_.map_or(0, |d| d.as_millis() as u64),
        no_data,
    })
}

/// A secret from an environment variable or a file; never from the config itself.
fn secret(
    key: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    match (env, file) {
        (Some(_), Some(_)) => Err(format!("keys `{key}-env` and `{key}-file`: expected one of them, not both")),
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!(
                "key `{key}-env`: value {var:?}: the environment variable is not set; expected it to hold the secret"
            )),
        },
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|v| Some(v.trim().to_string()))
            .map_err(|e| format!("key `{key}-file`: value {:?}: {e}; expected a readable file holding the secret", path.display().to_string())),
        (None, None) => Ok(None),
    }
}

fn header(
    key: &str,
    name: &str,
    value: &str,
    sensitive: bool,
) -> Result<(HeaderName, HeaderValue), String> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("key `{key}`: {name:?} is not a header name"))?;
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| format!("key `{key}`: the value of {name:?} is not a valid header value"))?;
    v.set_sensitive(sensitive);
    Ok((n, v))
}

/// One `[[smoke]]` table: `name`, `path` (under each env's `address`) or `url` (with
/// `{env}`), `method`, `max-latency`, and the probe keys (status, body, JSON, headers).
fn smoke_check(
    i: usize,
    t: toml::Value,
    envs: &EnvPair<EnvConfig>,
    timeout: Duration,
) -> Result<SmokeCheck, String> {
    let key = format!("smoke[{i}]");
    let toml::Value::Table(mut t) = t else {
        return Err(format!("key `{key}`: expected a table"));
    };
    let mut take = |k: &str| t.remove(k);
    let text = |k: &str, v: Option<toml::Value>| -> Result<Option<String>, String> {
        match v {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("key `{key}.{k}`: value {other}: expected a string")),
        }
    };
    let name = text("name", take("name"))?.unwrap_or_else(|| format!("check {}", i + 1));
    let path = text("path", take("path"))?;
    let url = text("url", take("url"))?;
    let method = text("method", take("method"))?.unwrap_or_else(|| "GET".into());
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).map_err(|_| {
        format!("key `{key}.method`: value {method:?}: expected an HTTP method such as \"GET\"")
    })?;
    let max_latency = match text("max-latency", take("max-latency"))? {
        None => None,
        Some(d) => Some(humantime::parse_duration(&d).map_err(|_| {
            format!("key `{key}.max-latency`: value {d:?}: expected a duration such as \"500ms\"")
        })?),
    };
    let urls = match (path, url) {
        (Some(p), None) => {
            if !p.starts_with('/') {
                return Err(format!(
                    "key `{key}.path`: value {p:?}: expected a path such as \"/api/cart\""
                ));
            }
            let at = |env: Env| -> Result<String, String> {
                envs.get(env)
                    .address
                    .as_ref()
                    .map(|a| format!("{a}{p}"))
                    .ok_or_else(|| {
                        format!(
                            "key `{key}.path` needs `envs.{env}.address`, the env's own base URL"
                        )
                    })
            };
            EnvPair::new(at(Env::Blue)?, at(Env::Green)?)
        }
        (None, Some(u)) => EnvPair::new(
            u.replace("{env}", &envs.blue.label),
            u.replace("{env}", &envs.green.label),
        ),
        _ => {
            return Err(format!(
                "keys `{key}.path` and `{key}.url`: expected exactly one of them"
            ));
        }
    };
    t.insert("url".into(), toml::Value::String(urls.blue.clone()));
    let file: ProbeFile = toml::Value::Table(t)
        .try_into()
        .map_err(|e: toml::de::Error| format!("key `{key}`: {}", e.message()))?;
    let mut blue = probe_of(&key, file, timeout)?;
    blue.method = method;
    let mut green = blue.clone();
    green.url = urls.green;
    if !(green.url.starts_with("http://") || green.url.starts_with("https://")) {
        return Err(format!(
            "key `{key}.url`: value {:?}: expected an http:// or https:// URL",
            green.url
        ));
    }
    Ok(SmokeCheck {
        name,
        probes: EnvPair::new(blue, green),
        max_latency,
    })
}

/// A probe (health or smoke) from its table, checked.
fn probe_of(key: &str, p: ProbeFile, timeout: Duration) -> Result<Probe, String> {
    if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
        return Err(format!(
            "key `{key}.url`: value {:?}: expected an http:// or https:// URL",
            p.url
        ));
    }
    let mut headers = Vec::new();
    for (k, v) in &p.headers {
        header(&format!("{key}.headers"), k, v, false)?;
        headers.push((k.clone(), v.clone()));
    }
    if let Some(token) = secret(
        &format!("{key}.bearer-token"),
        &p.bearer_token_env,
        &p.bearer_token_file,
    )? {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    let expect_json = match (p.json_pointer, p.json_value) {
        (None, None) => None,
        (Some(ptr), Some(v)) => {
            if !ptr.starts_with('/') {
                return Err(format!(
                    "key `{key}.json-pointer`: value {ptr:?}: expected a JSON pointer such as \"/status\""
                ));
            }
            Some((
                ptr,
                serde_json::to_value(v).map_err(|e| format!("key `{key}.json-value`: {e}"))?,
            ))
        }
        _ => {
            return Err(format!(
                "key `{key}`: expected json-pointer and json-value together"
            ));
        }
    };
    Ok(Probe {
        url: p.url,
        expect_status: p.expect_status,
        expect_body: p.expect_body,
        expect_json,
        headers,
        timeout: p.timeout.unwrap_or(timeout),
        method: reqwest::Method::GET,
    })
}

fn env_config(env: Env, f: Option<EnvFile>, timeout: Duration) -> Result<EnvConfig, String> {
    let f = f.unwrap_or_default();
    let mut health = Vec::new();
    for (i, entry) in f.health.into_iter().enumerate() {
        let key = format!("envs.{env}.health[{i}]");
        let p: ProbeFile = match entry {
            toml::Value::String(url) => ProbeFile {
                url,
                expect_status: None,
                expect_body: None,
                json_pointer: None,
                json_value: None,
                headers: BTreeMap::new(),
                bearer_token_env: None,
                bearer_token_file: None,
                timeout: None,
            },
            toml::Value::Table(t) => toml::Value::Table(t)
                .try_into()
                .map_err(|e: toml::de::Error| format!("key `{key}`: {}", e.message()))?,
            other => {
                return Err(format!(
                    "key `{key}`: value {other}: expected a URL or a table with `url`"
                ));
            }
        };
        health.push(probe_of(&key, p, timeout)?);
    }
    if let Some(a) = &f.address
        && !(a.starts_with("http://") || a.starts_with("https://"))
    {
        return Err(format!(
            "key `envs.{env}.address`: value {a:?}: expected the env's own base URL, e.g. \"http://10.0.2.16:8080\""
        ));
    }
    Ok(EnvConfig {
        version: f.version,
        address: f.address.map(|a| a.trim_end_matches('/').to_string()),
        label: f.label.unwrap_or_else(|| env.name().to_string()),
        health,
    })
}

/// Standard base64 with padding (RFC 4648), for HTTP basic auth.
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

type PromParts = (Option<PrometheusSettings>, Vec<MetricRule>, Vec<MetricInfo>);

fn prometheus_settings(
    p: PrometheusFile,
    envs: &EnvPair<EnvConfig>,
    timeout: Duration,
) -> Result<PromParts, String> {
    if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
        return Err(format!(
            "key `prometheus.url`: value {:?}: expected an http:// or https:// URL",
            p.url
        ));
    }
    let mut headers = HeaderMap::new();
    for (k, v) in &p.headers {
        let (n, v) = header("prometheus.headers", k, v, false)?;
        headers.insert(n, v);
    }
    if let Some(token) = secret(
        "prometheus.bearer-token",
        &p.bearer_token_env,
        &p.bearer_token_file,
    )? {
        let (_, v) = header(
            "prometheus.bearer-token",
            "authorization",
            &format!("Bearer {token}"),
            true,
        )?;
        headers.insert(AUTHORIZATION, v);
    }
    if let Some(user) = &p.basic_auth_user {
        let pass = secret(
            "prometheus.basic-auth-password",
            &p.basic_auth_password_env,
            &p.basic_auth_password_file,
        )?
        .unwrap_or_default();
        let basic = format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()));
        let (_, v) = header("prometheus.basic-auth-user", "authorization", &basic, true)?;
        headers.insert(AUTHORIZATION, v);
    }
    let d = Templates::default();
    let templates = Templates {
        error_rate: p.error_rate.unwrap_or(d.error_rate),
        p99: p.p99.unwrap_or(d.p99),
        rps: p.rps.unwrap_or(d.rps),
        requests: p.requests.unwrap_or(d.requests),
        errors: p.errors.unwrap_or(d.errors),
    };
    let mut rules = Vec::new();
    let mut infos = Vec::new();
    let mut extra = Vec::new();
    for (i, q) in p.queries.into_iter().enumerate() {
        let key = format!("prometheus.queries[{i}]");
        if q.name.trim().is_empty() || infos.iter().any(|m: &MetricInfo| m.name == q.name) {
            return Err(format!(
                "key `{key}.name`: value {:?}: expected a unique, non-empty name",
                q.name
            ));
        }
        let bad = match q.bad.as_deref() {
            None | Some("down") => Bad::Down,
            Some("up") => Bad::Up,
            Some(other) => {
                return Err(format!(
                    "key `{key}.bad`: value {other:?}: expected \"down\" or \"up\""
                ));
            }
        };
        if let Some(c) = q.max_change {
            if !(c > 0.0 && c.is_finite()) {
                return Err(format!(
                    "key `{key}.max-change`: value {c}: expected a fraction above 0 (0.2 = 20 %)"
                ));
            }
            rules.push(MetricRule {
                name: q.name.clone(),
                bad,
                max_change: c,
            });
        }
        infos.push(MetricInfo {
            name: q.name.clone(),
            unit: q.unit,
            bad,
        });
        extra.push(ExtraQuery {
            name: q.name,
            query: q.query,
        });
    }
    let settings = PrometheusSettings {
        url: p.url.trim_end_matches('/').to_string(),
        templates,
        extra,
        labels: envs.map(|_, e| e.label.clone()),
        env_label: p.env_label.unwrap_or_else(|| "env".into()),
        window: p.window.unwrap_or_else(|| "1m".into()),
        timeout: p.timeout.unwrap_or(timeout),
        headers,
    };
    Ok((Some(settings), rules, infos))
}

/// The settings of a `kube-*` backend: the keys its kind needs, and no others.
fn kube_settings(origin: &str, kind: &str, k: KubeFile) -> Result<BackendConfig, ConfigError> {
    let err = |m: String| ConfigError::new(origin, m);
    let name = |key: &str, v: &Option<String>| -> Result<String, ConfigError> {
        match v {
            Some(v) if is_dns_name(v) => Ok(v.clone()),
            Some(v) => Err(err(format!(
                "key `backend.{key}`: value {v:?}: expected a Kubernetes object name (lower-case letters, digits, '-' and '.')"
            ))),
            None => Err(err(format!(
                "key `backend.{key}`: missing: {kind} needs it"
            ))),
        }
    };
    let index = |key: &str, v: Option<i64>| -> Result<Option<usize>, ConfigError> {
        match v {
            None => Ok(None),
            Some(i) if (0..1000).contains(&i) => Ok(Some(i as usize)),
            Some(i) => Err(err(format!(
                "key `backend.{key}`: value {i}: expected a rule index from 0"
            ))),
        }
    };
    let two = |a: &str, b: &str, x: &str, y: &str| -> Result<(), ConfigError> {
        if x == y {
            Err(err(format!(
                "keys `backend.{a}` and `backend.{b}`: both {x:?}: expected two different names"
            )))
        } else {
            Ok(())
        }
    };
    let used: &[&str] = match kind {
        "kube-service" => &["service", "selector-key", "blue-value", "green-value"],
        "kube-gateway" => &[
            "http-route",
            "rule",
            "blue-service",
            "green-service",
            "weight-scale",
        ],
        "kube-ingress-nginx" => &["blue-ingress", "green-ingress"],
        _ => &[
            "virtual-service",
            "route",
            "blue-host",
            "green-host",
            "blue-subset",
            "green-subset",
        ],
    };
    let given: [(&str, bool); 17] = [
        ("service", k.service.is_some()),
        ("selector-key", k.selector_key.is_some()),
        ("blue-value", k.blue_value.is_some()),
        ("green-value", k.green_value.is_some()),
        ("http-route", k.http_route.is_some()),
        ("rule", k.rule.is_some()),
        ("blue-service", k.blue_service.is_some()),
        ("green-service", k.green_service.is_some()),
        ("weight-scale", k.weight_scale.is_some()),
        ("blue-ingress", k.blue_ingress.is_some()),
        ("green-ingress", k.green_ingress.is_some()),
        ("virtual-service", k.virtual_service.is_some()),
        ("route", k.route.is_some()),
        ("blue-host", k.blue_host.is_some()),
        ("green-host", k.green_host.is_some()),
        ("blue-subset", k.blue_subset.is_some()),
        ("green-subset", k.green_subset.is_some()),
    ];
    if let Some((key, _)) = given.iter().find(|(key, set)| *set && !used.contains(key)) {
        return Err(err(format!(
            "key `backend.{key}`: not used by kind {kind:?}; expected one of: {}",
            used.join(", ")
        )));
    }
    let kind = match kind {
        "kube-service" => {
            let key = k.selector_key.unwrap_or_else(|| "version".into());
            if key.trim().is_empty() {
                return Err(err(
                    "key `backend.selector-key`: value \"\": expected a label key such as \"version\"".into(),
                ));
            }
            let values = EnvPair::new(
                k.blue_value.unwrap_or_else(|| "blue".into()),
                k.green_value.unwrap_or_else(|| "green".into()),
            );
            two("blue-value", "green-value", &values.blue, &values.green)?;
            KubeKind::Service {
                service: name("service", &k.service)?,
                key,
                values,
            }
        }
        "kube-gateway" => {
            let services = EnvPair::new(
                name("blue-service", &k.blue_service)?,
                name("green-service", &k.green_service)?,
            );
            two(
                "blue-service",
                "green-service",
                &services.blue,
                &services.green,
            )?;
            KubeKind::Gateway {
                route: name("http-route", &k.http_route)?,
                rule: index("rule", k.rule)?,
                services,
            }
        }
        "kube-ingress-nginx" => {
            let ingresses = EnvPair::new(
                name("blue-ingress", &k.blue_ingress)?,
                name("green-ingress", &k.green_ingress)?,
            );
            two(
                "blue-ingress",
                "green-ingress",
                &ingresses.blue,
                &ingresses.green,
            )?;
            KubeKind::IngressNginx { ingresses }
        }
        _ => {
            let dest = |env: &str, host: Option<String>, subset: Option<String>| {
                if host.is_none() && subset.is_none() {
                    return Err(err(format!(
                        "keys `backend.{env}-host` and `backend.{env}-subset`: both missing: expected the {env} destination's host, subset or both"
                    )));
                }
                Ok(IstioDest { host, subset })
            };
            let dests = EnvPair::new(
                dest("blue", k.blue_host, k.blue_subset)?,
                dest("green", k.green_host, k.green_subset)?,
            );
            if dests.blue == dests.green {
                return Err(err(
                    "keys `backend.blue-host`/`blue-subset` and `green-host`/`green-subset`: the same destination; expected two".into(),
                ));
            }
            KubeKind::Istio {
                virtual_service: name("virtual-service", &k.virtual_service)?,
                route: index("route", k.route)?,
                dests,
            }
        }
    };
    let scale = k.weight_scale.unwrap_or(100);
    if scale == 0 {
        return Err(err(
            "key `backend.weight-scale`: value 0: expected at least 1 (HTTPRoute weights are proportional)".into(),
        ));
    }
    if let Some(ns) = &k.namespace
        && !is_dns_name(ns)
    {
        return Err(err(format!(
            "key `backend.namespace`: value {ns:?}: expected a namespace name"
        )));
    }
    for (key, v) in [
        ("blue-deployment", &k.blue_deployment),
        ("green-deployment", &k.green_deployment),
    ] {
        if v.is_some() {
            name(key, v)?;
        }
    }
    Ok(BackendConfig::Kube(KubeSettings {
        kind,
        kubeconfig: k.kubeconfig,
        context: k.context,
        namespace: k.namespace,
        deployments: EnvPair::new(k.blue_deployment, k.green_deployment),
        scale,
        timeout: k.timeout.unwrap_or(Duration::from_secs(5)),
    }))
}

/// A Kubernetes object name (RFC 1123 subdomain).
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
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
    fn base64_table() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("user:pass", "dXNlcjpwYXNz"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn signals_config_health_prometheus_and_guardrails() {
        let text = format!(
            r#"
[envs.blue]
label = "prod-blue"
health = ["http://127.0.0.1:1/health", {{ url = "http://127.0.0.1:1/ready", expect-status = 204, json-pointer = "/status", json-value = "up", headers = {{ Host = "app" }} }}]
[prometheus]
url = "http://127.0.0.1:9090/"
window = "30s"
headers = {{ X-Scope-OrgID = "team" }}
[[prometheus.queries]]
name = "orders/min"
query = 'sum(rate(orders_total{{env="{{env}}"}}[1m])) * 60'
unit = "/min"
max-change = 0.2
[guardrails]
max-error-rate-delta = 0.005
max-p99-ratio = 1.5
for = "30s"
no-data = "breach"
{MIN}"#
        );
        let c = Config::parse(&text, "t").unwrap();
        assert_eq!(c.envs.blue.label, "prod-blue");
        assert_eq!(c.envs.green.label, "green");
        assert_eq!(c.envs.blue.health.len(), 2);
        assert_eq!(c.envs.blue.health[1].expect_status, Some(204));
        assert_eq!(
            c.envs.blue.health[1].expect_json,
            Some(("/status".into(), serde_json::json!("up")))
        );
        let p = c.prometheus.unwrap();
        assert_eq!(p.url, "http://127.0.0.1:9090");
        assert_eq!(p.labels.blue, "prod-blue");
        assert_eq!(p.window, "30s");
        assert_eq!(p.extra[0].name, "orders/min");
        assert_eq!(c.guardrails.for_ms, 30_000);
        assert_eq!(c.guardrails.no_data, NoDataPolicy::Breach);
        assert_eq!(c.guardrails.metrics[0].max_change, 0.2);
        assert_eq!(c.metrics[0].unit, "/min");
    }

    #[test]
    fn signal_config_errors_name_the_key() {
        let cases = [
            ("[envs.green]\nhealth = [42]\n", "envs.green.health[0]"),
            (
                "[envs.green]\nhealth = [\"ftp://x\"]\n",
                "envs.green.health[0].url",
            ),
            (
                "[envs.green]\nhealth = [{ url = \"http://x\", expect = 1 }]\n",
                "unknown field `expect`",
            ),
            (
                "[envs.green]\nhealth = [{ url = \"http://x\", bearer-token-env = \"CUTOVER_TEST_UNSET_VAR\" }]\n",
                "CUTOVER_TEST_UNSET_VAR",
            ),
            ("[prometheus]\nurl = \"localhost:9090\"\n", "prometheus.url"),
            (
                "[prometheus]\nurl = \"http://x\"\n[[prometheus.queries]]\nname = \"a\"\nquery = \"q\"\nbad = \"sideways\"\n",
                "prometheus.queries[0].bad",
            ),
            ("[guardrails]\nno-data = \"panic\"\n", "guardrails.no-data"),
            (
                "[guardrails]\nmax-p99-ratio = 0.5\n",
                "guardrails.max-p99-ratio",
            ),
        ];
        for (text, want) in cases {
            let e = Config::parse(&format!("{text}{MIN}"), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} should name {want:?}");
        }
    }

    #[test]
    fn shipped_prometheus_config_parses() {
        let text = include_str!("../demo/prometheus/cutover.toml");
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
        let text = include_str!("../demo/sim/cutover.toml");
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
}
