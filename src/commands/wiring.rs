//! The one place a command turns the config into working parts: the config file itself, the
//! theme, the journal, the backend connection with its signal sources, and the `Cutover`
//! state machine. Every command builds these here, so a new backend or signal source is
//! wired once (see "Where to add things" in ARCHITECTURE.md).

use crate::app::journal::{self, Journal};
use crate::backends::alb::{AlbBackend, AlbHealth};
use crate::backends::cloudwatch::CloudWatchSource;
use crate::backends::eb::{EbBackend, EbHealth};
use crate::backends::haproxy::{HaproxyBackend, HaproxyStats};
use crate::backends::kube::{KubeBackend, KubeHealth};
use crate::backends::nginx::NginxBackend;
use crate::backends::route53::Route53Backend;
use crate::backends::{Capabilities, SimBackend, SimClient, Switch};
use crate::cli::Cli;
use crate::config::{BackendConfig, Config, ConfigError};
use crate::core::{Cutover, Env};
use crate::signals::sim::Provides;
use crate::signals::{HealthPoller, PrometheusSource, SignalSource, SimSignals};
use crate::ui::theme::Theme;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The config named by `--config`, else `./cutover.toml`.
pub(super) fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("cutover.toml"));
    if cli.config.is_none() && !path.exists() {
        return Err(ConfigError::new(
            "cutover.toml",
            "no cutover.toml in this directory; pass --config FILE, or try `cutover demo` for the simulator",
        ));
    }
    Config::load(&path)
}

/// The theme named by `--theme`, else by the config, else the default; `NO_COLOR` drops
/// its colours.
pub(super) fn theme(cli: &Cli, config_theme: Option<&str>) -> Result<Theme, ConfigError> {
    let name = cli.theme.as_deref().or(config_theme).unwrap_or("default");
    // Said as what named it: the flag, or the config's key.
    let origin = if cli.theme.is_some() {
        "--theme".to_string()
    } else {
        format!("{}: key `theme`", config_file(cli))
    };
    let theme = Theme::load(name).map_err(|e| ConfigError::new(&origin, e))?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(if no_color {
        theme.without_colors()
    } else {
        theme
    })
}

/// Where the journal is: `--journal`, else the config's `journal`, else the default path
/// for `name`.
pub(super) fn journal_path(cli: &Cli, config: Option<&Config>, name: &str) -> PathBuf {
    cli.journal
        .clone()
        .or_else(|| config.and_then(|c| c.journal.clone()))
        .unwrap_or_else(|| journal::default_path(name))
}

/// The journal at [`journal_path`], opened for appending.
pub(super) fn journal_for(
    cli: &Cli,
    config: Option<&Config>,
    name: &str,
) -> anyhow::Result<Arc<Journal>> {
    let path = journal_path(cli, config, name);
    Ok(Arc::new(Journal::open(&path).with_context(|| {
        format!("cannot open the journal {}", path.display())
    })?))
}

/// The cutover from `live` to its candidate as the config plans it; a backend that can
/// only flip gets the one-step plan.
pub(super) fn cutover_for(config: &Config, live: Env, capabilities: Capabilities) -> Cutover {
    let cutover = Cutover::new(
        live,
        config.plan.clone(),
        config.rollback_window.as_millis() as u64,
    );
    if capabilities.weighted {
        cutover
    } else {
        cutover.flip_only()
    }
}

/// The longest window any configured windowed signal covers: Prometheus's rate window,
/// the simulator's stats window, HAProxy's rate baseline. After a move, values settle this
/// long. Zero when no source windows anything (health probes only).
pub(super) fn signal_window(config: &Config) -> Duration {
    if let Some(c) = &config.cloudwatch {
        // A datapoint covers a whole period and the next lands a period later.
        return c.period * 2;
    }
    if let Some(p) = &config.prometheus {
        // A PromQL duration ("1m", "90s", "1h30m"); one humantime cannot read is taken as
        // the longest plausible, never as none.
        return humantime::parse_duration(&p.window).unwrap_or(Duration::from_secs(300));
    }
    match &config.backend {
        BackendConfig::Sim { .. } => Duration::from_secs(crate::sim::STATS_WINDOW_S),
        BackendConfig::Haproxy(_) => HAPROXY_RATE_WINDOW,
        _ => Duration::ZERO,
    }
}

/// The schema guard's feed (`[schema]`): the history reader and each env's `schema-max`.
pub(super) fn schema_feed(config: &Config) -> Option<crate::signals::schema::SchemaFeed> {
    use crate::signals::schema::{MaxSource, SchemaFeed, SchemaReader};
    let settings = config.schema.clone()?;
    let max = config.envs.map(|_, e| {
        e.schema_max.as_ref().and_then(|m| match m {
            crate::config::SchemaMax::Fixed(v) => Some(MaxSource::Fixed(v.clone())),
            crate::config::SchemaMax::Pointer(p) => e
                .health
                .first()
                .map(|probe| MaxSource::Pointer(probe.clone(), p.clone())),
        })
    });
    Some(SchemaFeed {
        reader: SchemaReader::new(settings),
        max,
    })
}

/// How far back HAProxy's counters are compared to make rates.
const HAPROXY_RATE_WINDOW: Duration = Duration::from_secs(30);

/// Backend and signal sources for a config: error rate, p99 and rps from Prometheus when it
/// is configured, else from the backend; health from HTTP probes when configured, else from
/// the backend.
pub(super) type Connected = (Arc<dyn Switch>, Vec<Arc<dyn SignalSource>>);

/// Connects to the configured backend and builds the signal sources beside it.
pub(super) async fn connect(cli: &Cli, config: &Config) -> Result<Connected, ConfigError> {
    connect_config(config)
        .await
        .map_err(|e| e.in_file(&config_file(cli)))
}

/// The config file as the user named it (`cutover.toml` when they did not).
fn config_file(cli: &Cli) -> String {
    cli.config
        .as_ref()
        .map_or_else(|| "cutover.toml".to_string(), |p| p.display().to_string())
}

async fn connect_config(config: &Config) -> Result<Connected, ConfigError> {
    let mut sources: Vec<Arc<dyn SignalSource>> = Vec::new();
    let probes = config.envs.map(|_, e| e.health.clone());
    let has_probes = !probes.blue.is_empty() || !probes.green.is_empty();
    let backend = backend_for(config, &mut sources).await?;
    // An env with HTTP probes takes its health from them alone; an env without keeps the
    // backend's own reading (green probed, blue still read from the backend: before, blue
    // showed `unknown`).
    if has_probes {
        let probed = probes.map(|_, p| !p.is_empty());
        sources = sources
            .into_iter()
            .map(|s| {
                Arc::new(HealthWhereUnprobed {
                    inner: s,
                    probed: probed.clone(),
                }) as Arc<dyn SignalSource>
            })
            .collect();
    }
    if has_probes {
        sources.push(Arc::new(HealthPoller::new(probes)));
    }
    if let Some(p) = &config.prometheus {
        let source =
            PrometheusSource::new(p.clone()).map_err(|e| ConfigError::new("prometheus", e))?;
        sources.push(Arc::new(source));
    }
    if let Some(c) = &config.cloudwatch {
        aws_profile(c.profile.as_deref(), "cloudwatch.profile")?;
        sources.push(Arc::new(CloudWatchSource::connect(c.clone()).await));
    }
    Ok((backend, sources))
}

/// The backend of the config, pushing the signal sources it provides itself (those not
/// given by HTTP probes or Prometheus) onto `sources`.
async fn backend_for(
    config: &Config,
    sources: &mut Vec<Arc<dyn SignalSource>>,
) -> Result<Arc<dyn Switch>, ConfigError> {
    Ok(match &config.backend {
        BackendConfig::Sim { control, timeout } => {
            let write_timeout = *timeout;
            let provides = Provides {
                metrics: own_metrics(config),
                health: true,
            };
            sources.push(Arc::new(SimSignals::remote(
                SimClient::new(control, config.poll_timeout),
                provides,
            )));
            Arc::new(SimBackend::Remote(SimClient::new(control, write_timeout)))
        }
        BackendConfig::Haproxy(h) => {
            let backend = HaproxyBackend::new(h.clone());
            if own_metrics(config) {
                let mut stats = HaproxyStats::new(backend.clone(), HAPROXY_RATE_WINDOW);
                stats.provides_health = true;
                sources.push(Arc::new(stats));
            }
            Arc::new(backend)
        }
        BackendConfig::Nginx(n) => Arc::new(NginxBackend::new(n.clone())),
        BackendConfig::Alb(a) => {
            aws_profile(a.profile.as_deref(), "backend.profile")?;
            let backend = AlbBackend::connect(a.clone()).await;
            sources.push(Arc::new(AlbHealth(backend.clone())));
            Arc::new(backend)
        }
        BackendConfig::Route53(r) => {
            aws_profile(r.profile.as_deref(), "backend.profile")?;
            Arc::new(Route53Backend::connect(r.clone()).await)
        }
        BackendConfig::ElasticBeanstalk(e) => {
            aws_profile(e.profile.as_deref(), "backend.profile")?;
            let backend = EbBackend::connect(e.clone()).await;
            sources.push(Arc::new(EbHealth {
                backend: backend.clone(),
                metrics: own_metrics(config),
            }));
            Arc::new(backend)
        }
        BackendConfig::Kube(k) => {
            let backend = KubeBackend::connect(k.clone()).await.map_err(|e| {
                // Which key to look at: the context named, else the kubeconfig.
                let key = if e.starts_with("kubeconfig context") {
                    "key `backend.context`"
                } else {
                    "key `backend.kubeconfig`"
                };
                ConfigError::new(key, e)
            })?;
            sources.push(Arc::new(KubeHealth(backend.clone())));
            Arc::new(backend)
        }
    })
}

/// Whether the backend gives error rate, p99 and rps itself: neither Prometheus nor
/// CloudWatch is configured to.
fn own_metrics(config: &Config) -> bool {
    config.prometheus.is_none() && config.cloudwatch.is_none()
}

/// The AWS profile named (`backend.profile`, else `AWS_PROFILE`) when no AWS file has it:
/// said with its key, before any call would only say "no credentials".
fn aws_profile(profile: Option<&str>, key: &str) -> Result<(), ConfigError> {
    match crate::backends::aws::missing_profile(profile, key) {
        Some((key, name, looked)) => Err(ConfigError::new(
            &key,
            format!(
                "value {name:?}: no such profile in {looked}; expected a profile those files name (or leave it out for the default credentials)"
            ),
        )),
        None => Ok(()),
    }
}

/// A backend's signal source with its health reading dropped for the envs HTTP probes
/// watch: one source of health per env, never two that overwrite each other.
struct HealthWhereUnprobed {
    inner: Arc<dyn SignalSource>,
    probed: crate::core::EnvPair<bool>,
}

#[async_trait::async_trait]
impl SignalSource for HealthWhereUnprobed {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn provides(&self) -> crate::core::Provided {
        self.inner.provides()
    }
    async fn poll(
        &self,
    ) -> Result<crate::core::EnvPair<crate::signals::EnvPoll>, crate::shared::SignalError> {
        let mut p = self.inner.poll().await?;
        for env in crate::core::Env::ALL {
            if *self.probed.get(env) {
                p.get_mut(env).health = None;
            }
        }
        Ok(p)
    }
    fn needs_warm_up(&self) -> bool {
        self.inner.needs_warm_up()
    }
    fn can_smoke(&self) -> bool {
        self.inner.can_smoke()
    }
    async fn smoke(&self, env: crate::core::Env) -> crate::core::SmokeReport {
        self.inner.smoke(env).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Plan;
    use clap::Parser;

    fn config(extra: &str) -> Config {
        let text = format!("{extra}\n[backend]\nkind = \"sim\"\ncontrol = \"in-process\"\n");
        Config::parse(&text, "test").expect("a valid config")
    }

    const WEIGHTED: Capabilities = Capabilities {
        weighted: true,
        scale: 100,
    };

    #[test]
    fn the_cutover_follows_the_configs_plan_and_window() {
        let config = config("plan = [5, 25, 100]\nrollback-window = \"90s\"");
        let c = cutover_for(&config, Env::Green, WEIGHTED);
        assert_eq!(c.live, Env::Green);
        assert_eq!(c.candidate(), Env::Blue);
        assert_eq!(c.plan, Plan::new(&[5, 25, 100]).unwrap());
        assert_eq!(c.window, 90_000);
        assert!(!c.flip_only);
        assert_eq!(c.share, None, "the share is only ever read back");
    }

    #[test]
    fn a_flip_only_backend_gets_the_one_step_plan() {
        let config = config("plan = [5, 25, 100]");
        let caps = Capabilities {
            weighted: false,
            ..WEIGHTED
        };
        let c = cutover_for(&config, Env::Blue, caps);
        assert!(c.flip_only);
        assert_eq!(c.plan, Plan::new(&[100]).unwrap());
    }

    #[test]
    fn the_journal_is_the_flag_else_the_config_else_the_default() {
        let with_journal = config("journal = \"/from/config.jsonl\"");
        let flag = Cli::parse_from(["cutover", "--journal", "/from/flag.jsonl", "status"]);
        let none = Cli::parse_from(["cutover", "status"]);
        assert_eq!(
            journal_path(&flag, Some(&with_journal), "svc"),
            PathBuf::from("/from/flag.jsonl")
        );
        assert_eq!(
            journal_path(&none, Some(&with_journal), "svc"),
            PathBuf::from("/from/config.jsonl")
        );
        assert_eq!(
            journal_path(&none, Some(&config("")), "svc"),
            journal::default_path("svc")
        );
        assert_eq!(
            journal_path(&none, None, "demo-x"),
            journal::default_path("demo-x")
        );
    }
}
