//! Elastic Beanstalk: two environments of one application; users reach the one whose CNAME
//! is `production-cname`. Flip-only: `SwapEnvironmentCNAMEs` exchanges the two CNAMEs, then
//! `DescribeEnvironments` is polled until both environments are `Ready` again and the
//! CNAMEs read swapped (bounded: after `swap-timeout` the outcome is unknown). Resolvers
//! may still answer with the old address for one TTL after that (60 s for EB's CNAMEs).
//!
//! Health, error rate, p99 and rps come from enhanced health (`DescribeEnvironmentHealth`).
//! The driver lease and the cutover record are tags of the *application*: tagging an
//! environment is an environment operation (refused while it is not `Ready`, and it may
//! start an update), and a swap needs both environments `Ready`. Tags have no
//! compare-and-swap: read, compare, write, read again, as for the ALB.

use super::{Backend, BackendError, Capabilities, Slot, Switch, WriteCheck};
use crate::core::signal::{EnvPoll, Lags, Reading, SignalSource};
use crate::core::{Env, EnvPair, Health, HealthSample, Weights};
use async_trait::async_trait;
use aws_sdk_elasticbeanstalk::Client;
use aws_sdk_elasticbeanstalk::config::http::HttpResponse;
use aws_sdk_elasticbeanstalk::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticbeanstalk::types::{EnvironmentDescription, EnvironmentHealthAttribute, Tag};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Attempts for a swap; a rollback retries harder.
const STEP_ATTEMPTS: u32 = 3;
const ROLLBACK_ATTEMPTS: u32 = 8;
/// The TTL of the CNAMEs Elastic Beanstalk gives its environments.
pub const EB_CNAME_TTL: Duration = Duration::from_secs(60);
/// The longest tag value Elastic Beanstalk keeps.
const TAG_MAX: usize = 256;

#[derive(Clone, Debug, PartialEq)]
pub struct EbSettings {
    pub application: String,
    /// The environments' names.
    pub envs: EnvPair<String>,
    /// The CNAME users reach (`checkout-prod.us-east-1.elasticbeanstalk.com`), or its
    /// prefix (`checkout-prod`).
    pub production_cname: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub timeout: Duration,
    /// How long a swap may keep the environments `Updating` before its outcome is said as
    /// unknown.
    pub swap_timeout: Duration,
    /// Static credentials, for tests against a loopback server; never from the config file.
    pub static_credentials: Option<(String, String)>,
}

#[derive(Clone)]
pub struct EbBackend {
    s: EbSettings,
    client: Client,
    region: String,
    /// What a swap in flight waits for and since when, for the screen.
    progress: Arc<Mutex<Option<(String, Instant)>>>,
    /// The application's ARN, from the environments' ARNs once read.
    app_arn: Arc<Mutex<Option<String>>>,
}

/// One environment as `DescribeEnvironments` has it.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvState {
    pub name: String,
    pub cname: String,
    /// `Launching`, `Updating`, `Ready`, `Terminating`, `Terminated`.
    pub status: String,
    /// `Green`, `Yellow`, `Red`, `Grey`.
    pub health: String,
    pub version: Option<String>,
    pub arn: String,
}

/// The environments that are not `Ready`, as words ("blue Updating, green Updating"); empty
/// when both are.
fn not_ready(e: &EnvPair<EnvState>) -> String {
    [(Env::Blue, &e.blue), (Env::Green, &e.green)]
        .iter()
        .filter(|(_, s)| !s.ready())
        .map(|(env, s)| format!("{env} {}", s.status))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `cname` is the production CNAME `prod` (the full name, or its first label).
pub fn holds(cname: &str, prod: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
    let (c, p) = (norm(cname), norm(prod));
    if p.contains('.') {
        c == p
    } else {
        c.split('.').next() == Some(p.as_str())
    }
}

/// The application's ARN from one of its environments' ARNs
/// (`arn:aws:elasticbeanstalk:R:A:environment/APP/ENV` → `…:application/APP`).
pub fn application_arn(env_arn: &str, app: &str) -> Option<String> {
    let (head, _) = env_arn.split_once(":environment/")?;
    Some(format!("{head}:application/{app}"))
}

fn tag_key(slot: Slot) -> &'static str {
    match slot {
        Slot::Lease => "cutover:lease",
        Slot::Record => "cutover:record",
    }
}

impl EnvState {
    fn of(d: &EnvironmentDescription) -> EnvState {
        EnvState {
            name: d.environment_name().unwrap_or_default().to_string(),
            cname: d.cname().unwrap_or_default().to_string(),
            status: d
                .status()
                .map_or_else(|| "?".to_string(), |s| s.as_str().to_string()),
            health: d
                .health()
                .map_or_else(|| "?".to_string(), |h| h.as_str().to_string()),
            version: d.version_label().map(String::from),
            arn: d.environment_arn().unwrap_or_default().to_string(),
        }
    }

    fn ready(&self) -> bool {
        self.status == "Ready"
    }
}

impl EbBackend {
    pub async fn connect(s: EbSettings) -> EbBackend {
        let (sdk, region) = super::aws::sdk_config(&super::aws::Access::of(
            (
                s.region.as_deref(),
                s.profile.as_deref(),
                s.endpoint_url.as_deref(),
            ),
            s.static_credentials.as_ref(),
            s.timeout,
            (STEP_ATTEMPTS, ROLLBACK_ATTEMPTS),
        ))
        .await;
        EbBackend {
            client: Client::new(&sdk),
            s,
            region,
            progress: Arc::default(),
            app_arn: Arc::default(),
        }
    }

    fn err<E>(&self, what: &str, e: SdkError<E, HttpResponse>) -> BackendError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        super::aws::error("the Elastic Beanstalk API", what, &self.target(), e)
    }

    fn refused(&self, message: String) -> BackendError {
        BackendError::Rejected {
            target: self.target(),
            message,
        }
    }

    /// Both environments, read now. One missing or terminated is refused, said with what
    /// the application has.
    pub async fn envs(&self) -> Result<EnvPair<EnvState>, BackendError> {
        let out = self
            .client
            .describe_environments()
            .application_name(&self.s.application)
            .environment_names(&self.s.envs.blue)
            .environment_names(&self.s.envs.green)
            .include_deleted(false)
            .send()
            .await
            .map_err(|e| self.err("DescribeEnvironments", e))?;
        let found: Vec<EnvState> = out.environments().iter().map(EnvState::of).collect();
        let get = |env: Env| {
            let name = self.s.envs.get(env);
            match found.iter().find(|e| &e.name == name) {
                Some(e) if e.status == "Terminated" || e.status == "Terminating" => Err(self
                    .refused(format!(
                        "the {env} environment {name} is {}: nothing can be swapped to it",
                        e.status
                    ))),
                Some(e) => Ok(e.clone()),
                None => Err(self.refused(format!(
                    "application {} has no environment named {name} (the {env} env){}",
                    self.s.application,
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; found: {}",
                            found
                                .iter()
                                .map(|e| e.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ))),
            }
        };
        let both = EnvPair::new(get(Env::Blue)?, get(Env::Green)?);
        if let Some(arn) = application_arn(&both.blue.arn, &self.s.application) {
            *self.app_arn.lock().unwrap_or_else(PoisonError::into_inner) = Some(arn);
        }
        Ok(both)
    }

    /// Which env holds the production CNAME, or why none (or both) can be said to.
    fn live_of(&self, e: &EnvPair<EnvState>) -> Result<Env, BackendError> {
        let (b, g) = (
            holds(&e.blue.cname, &self.s.production_cname),
            holds(&e.green.cname, &self.s.production_cname),
        );
        match (b, g) {
            (true, false) => Ok(Env::Blue),
            (false, true) => Ok(Env::Green),
            _ => Err(BackendError::Protocol {
                target: self.target(),
                message: format!(
                    "{} env holds production-cname {}: blue ({}) has {}, green ({}) has {}",
                    if b { "more than one" } else { "no" },
                    self.s.production_cname,
                    e.blue.name,
                    e.blue.cname,
                    e.green.name,
                    e.green.cname
                ),
            }),
        }
    }

    /// What the swap begun at `began` waits for now (`None`: no swap in flight).
    fn set_progress(&self, p: Option<(String, Instant)>) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = p;
    }

    /// Both environments once they are `Ready` (a swap someone else started has ended), at
    /// most `swap_timeout` after `began`: past that nothing is sent, said with who is not
    /// Ready.
    async fn wait_ready(&self, began: Instant) -> Result<EnvPair<EnvState>, BackendError> {
        let mut wait = Duration::from_millis(250);
        loop {
            let e = self.envs().await?;
            let busy = not_ready(&e);
            if busy.is_empty() {
                return Ok(e);
            }
            self.set_progress(Some((
                format!("a swap under way ends first: {busy}"),
                began,
            )));
            if began.elapsed() + wait > self.s.swap_timeout {
                return Err(self.refused(format!(
                    "{busy} for over {} s: Elastic Beanstalk refuses a swap until both are Ready; nothing sent",
                    began.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }

    /// Polls until both environments are `Ready` and `to` holds the production CNAME, at
    /// most `swap_timeout`: after that the outcome is unknown (the swap may still finish).
    async fn wait_swapped(&self, to: Env, began: Instant) -> Result<(), BackendError> {
        let mut wait = Duration::from_millis(250);
        loop {
            let e = self.envs().await?;
            let done = e.blue.ready() && e.green.ready() && self.live_of(&e).is_ok_and(|l| l == to);
            if done {
                return Ok(());
            }
            let busy = not_ready(&e);
            let what = if busy.is_empty() {
                "CNAMEs not swapped yet".to_string()
            } else {
                busy
            };
            let secs = began.elapsed().as_secs();
            self.set_progress(Some((what.clone(), began)));
            if began.elapsed() + wait > self.s.swap_timeout {
                return Err(BackendError::Unknown {
                    target: self.target(),
                    message: format!(
                        "swap still in progress after {secs} s ({what}): it may still complete"
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }

    async fn flip(&self, w: Weights, attempts: u32, urgent: bool) -> Result<(), BackendError> {
        let to = match (w.blue > 0, w.green > 0) {
            (true, false) => Env::Blue,
            (false, true) => Env::Green,
            _ => {
                return Err(self.refused(format!(
                    "{w}: Elastic Beanstalk swaps all traffic to one environment, never splits it"
                )));
            }
        };
        let began = Instant::now();
        // While a swap is under way (someone's, from the console) where the production
        // CNAME ends up is not known: "already there" would be a guess. A rollback waits
        // for it to end, then decides; a step sends its swap and Elastic Beanstalk refuses
        // it in its own words.
        let e = if urgent {
            let e = self.wait_ready(began).await;
            if e.is_err() {
                self.set_progress(None);
            }
            e?
        } else {
            self.envs().await?
        };
        let ready = not_ready(&e).is_empty();
        if ready && self.live_of(&e).is_ok_and(|l| l == to) {
            self.set_progress(None);
            return Ok(());
        }
        self.set_progress(Some(("sent, no answer yet".into(), began)));
        let sent = self
            .client
            .swap_environment_cnames()
            .source_environment_name(&self.s.envs.blue)
            .destination_environment_name(&self.s.envs.green)
            .customize()
            .config_override(
                aws_sdk_elasticbeanstalk::config::Config::builder()
                    .retry_config(super::aws::retry(attempts)),
            )
            .send()
            .await
            .map_err(|e| self.err("SwapEnvironmentCNAMEs", e));
        let result = match sent {
            // Accepted: from here on a failure to see it finish is an unknown outcome.
            Ok(_) => self.wait_swapped(to, began).await.map_err(|e| match e {
                e @ BackendError::Unknown { .. } => e,
                e => BackendError::Unknown {
                    target: self.target(),
                    message: format!("the swap was accepted; whether it completed is unknown: {e}"),
                },
            }),
            Err(e) => Err(e),
        };
        self.set_progress(None);
        result
    }

    async fn app_arn(&self) -> Result<String, BackendError> {
        let known = self
            .app_arn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(a) = known {
            return Ok(a);
        }
        let e = self.envs().await?;
        application_arn(&e.blue.arn, &self.s.application).ok_or_else(|| BackendError::Protocol {
            target: self.target(),
            message: format!(
                "environment {} has no ARN to find its application's by ({:?})",
                e.blue.name, e.blue.arn
            ),
        })
    }

    /// Enhanced health of `env`: its colour and causes as health; its requests, 5xx share
    /// and p99 over EB's last window (10 s).
    pub async fn env_health(&self, env: Env) -> Result<EnvPoll, String> {
        let name = self.s.envs.get(env);
        let out = self
            .client
            .describe_environment_health()
            .environment_name(name)
            .attribute_names(EnvironmentHealthAttribute::All)
            .send()
            .await
            .map_err(|e| self.err("DescribeEnvironmentHealth", e).to_string())?;
        let color = out.color().unwrap_or("Grey");
        // The SDK types this as a colour; AWS sends the environment's status (`Ready`).
        let status = out.status().map(|s| s.as_str().to_string());
        let busy = status.as_deref().filter(|s| *s != "Ready");
        let health = match color {
            "Red" => Health::Down,
            // An environment that is not Ready cannot be swapped to or from.
            _ if busy.is_some() => Health::Degraded,
            "Green" => Health::Up,
            "Yellow" => Health::Degraded,
            _ => Health::Unknown,
        };
        let (up, total) = out.instances_health().map_or((0, 0), |i| {
            let ok = i.ok().unwrap_or(0) + i.info().unwrap_or(0);
            let all = ok
                + i.no_data().unwrap_or(0)
                + i.unknown().unwrap_or(0)
                + i.pending().unwrap_or(0)
                + i.warning().unwrap_or(0)
                + i.degraded().unwrap_or(0)
                + i.severe().unwrap_or(0);
            (ok.max(0) as u32, all.max(0) as u32)
        });
        let mut detail = format!(
            "{}{color} {}",
            busy.map_or_else(String::new, |b| format!(
                "{b}, not Ready (no swap until it is) · "
            )),
            out.health_status().unwrap_or("(no health status)")
        );
        if !out.causes().is_empty() {
            detail.push_str(": ");
            detail.push_str(&out.causes().join("; "));
        }
        let lag = out.refreshed_at().map_or(0, |t| {
            let at = t.to_millis().unwrap_or(0);
            u64::try_from(chrono::Utc::now().timestamp_millis().saturating_sub(at)).unwrap_or(0)
        });
        let mut poll = app_metrics(out.application_metrics(), lag);
        poll.health = Some(HealthSample {
            health,
            up,
            total,
            latency_ms: None,
            failures: 0,
            detail: crate::shared::one_line(&detail, 200),
        });
        poll.version = None;
        Ok(poll)
    }
}

/// EB's application metrics as readings. The API reference calls the status codes both
/// counts and percentages: the 5xx share of all codes is right whichever they are.
/// `RequestCount` is the requests within `Duration` seconds.
pub fn app_metrics(
    m: Option<&aws_sdk_elasticbeanstalk::types::ApplicationMetrics>,
    lag: u64,
) -> EnvPoll {
    let none = |why: &str| {
        (
            Reading::NoData(why.to_string()),
            Reading::NoData(why.to_string()),
        )
    };
    let Some(m) = m else {
        let (a, b) = none("no application metrics (is enhanced health on?)");
        return EnvPoll {
            error_rate: Some(a.clone()),
            p99_ms: Some(b.clone()),
            rps: Some(a.clone()),
            requests: Some(a),
            errors: Some(b),
            ..EnvPoll::default()
        };
    };
    let codes = m.status_codes();
    let c = |f: fn(&aws_sdk_elasticbeanstalk::types::StatusCodes) -> Option<i32>| {
        codes.and_then(f).unwrap_or(0).max(0)
    };
    let s5 = c(aws_sdk_elasticbeanstalk::types::StatusCodes::status5xx);
    let all = c(aws_sdk_elasticbeanstalk::types::StatusCodes::status2xx)
        + c(aws_sdk_elasticbeanstalk::types::StatusCodes::status3xx)
        + c(aws_sdk_elasticbeanstalk::types::StatusCodes::status4xx)
        + s5;
    let requests = m.request_count();
    let window = m.duration().unwrap_or(10).max(1);
    let idle = "no requests in EB's last window";
    let (error_rate, errors) = if requests <= 0 || all == 0 {
        none(idle)
    } else {
        let share = f64::from(s5) / f64::from(all);
        (
            Reading::Value(share),
            Reading::Value((share * f64::from(requests)).round()),
        )
    };
    let p99 = m
        .latency()
        .and_then(aws_sdk_elasticbeanstalk::types::Latency::p99);
    let p99_ms = match p99 {
        _ if requests <= 0 => Reading::NoData(idle.into()),
        Some(s) => Reading::Value(s * 1000.0),
        None => Reading::NoData("no P99 latency in EB's application metrics".into()),
    };
    EnvPoll {
        error_rate: Some(error_rate),
        p99_ms: Some(p99_ms),
        rps: Some(Reading::Value(
            f64::from(requests.max(0)) / f64::from(window),
        )),
        requests: Some(Reading::Value(f64::from(requests.max(0)))),
        errors: Some(errors),
        lags: Lags {
            error_rate: lag,
            p99_ms: lag,
            rps: lag,
            requests: lag,
            errors: lag,
            metrics: Vec::new(),
        },
        ..EnvPoll::default()
    }
}

#[async_trait]
impl Backend for EbBackend {
    fn kind(&self) -> &'static str {
        "elastic-beanstalk"
    }

    fn target(&self) -> String {
        format!(
            "{} ({} / {}) in {}",
            self.s.application, self.s.envs.blue, self.s.envs.green, self.region
        )
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: false,
            scale: 1,
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        let e = self.envs().await?;
        Ok(match self.live_of(&e)? {
            Env::Blue => Weights::new(1, 0),
            Env::Green => Weights::new(0, 1),
        })
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        let arn = self.app_arn().await?;
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| self.err("ListTagsForResource", e))?;
        Ok(out
            .resource_tags()
            .iter()
            .find(|t| t.key() == Some(tag_key(slot)))
            .and_then(|t| t.value())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from))
    }

    fn place(&self, slot: Slot) -> String {
        format!(
            "tag {} on application {}",
            tag_key(slot),
            self.s.application
        )
    }

    fn propagation(&self) -> Option<Duration> {
        Some(EB_CNAME_TTL)
    }

    fn progress(&self) -> Option<String> {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(what, began)| {
                format!("swap in progress: {what} {} s", began.elapsed().as_secs())
            })
    }
}

#[async_trait]
impl Switch for EbBackend {
    async fn write(&self, w: Weights) -> Result<(), BackendError> {
        self.flip(w, STEP_ATTEMPTS, false).await
    }

    async fn write_urgent(&self, w: Weights) -> Result<(), BackendError> {
        self.flip(w, ROLLBACK_ATTEMPTS, true).await
    }

    async fn check_write(&self) -> WriteCheck {
        match self.envs().await {
            Err(e) => WriteCheck::Denied(e.to_string()),
            Ok(e) => {
                let busy: Vec<String> = [(Env::Blue, &e.blue), (Env::Green, &e.green)]
                    .iter()
                    .filter(|(_, s)| !s.ready())
                    .map(|(env, s)| format!("{env} ({}) is {}", s.name, s.status))
                    .collect();
                if busy.is_empty() {
                    WriteCheck::Unprovable(
                        "both environments are Ready; IAM for elasticbeanstalk:SwapEnvironmentCNAMEs cannot be proven without swapping (no dry run): the first swap says if it is denied".into(),
                    )
                } else {
                    WriteCheck::Denied(format!(
                        "{}, not Ready: Elastic Beanstalk refuses a swap until both are Ready",
                        busy.join(" and ")
                    ))
                }
            }
        }
    }

    /// Tags have no compare-and-swap: the stored value is read and compared, written, and
    /// read again; `Ok(false)` when it was not what was expected, or another writer's
    /// value won the race.
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        if self.load(slot).await?.as_deref() != expect {
            return Ok(false);
        }
        let arn = self.app_arn().await?;
        let key = tag_key(slot);
        let call = self.client.update_tags_for_resource().resource_arn(&arn);
        let call = match new {
            Some(v) => {
                if v.chars().count() > TAG_MAX {
                    return Err(BackendError::Protocol {
                        target: self.place(slot),
                        message: format!(
                            "{} characters where a tag value holds {TAG_MAX}",
                            v.chars().count()
                        ),
                    });
                }
                call.tags_to_add(Tag::builder().key(key).value(v).build())
            }
            None => call.tags_to_remove(key),
        };
        call.send()
            .await
            .map_err(|e| self.err("UpdateTagsForResource", e))?;
        Ok(self.load(slot).await?.as_deref() == new.map(str::trim).filter(|v| !v.is_empty()))
    }
}

/// Enhanced health and application metrics of both environments.
pub struct EbHealth {
    pub backend: EbBackend,
    /// Error rate, p99, rps and counts too (else only health: Prometheus gives those).
    pub metrics: bool,
}

#[async_trait]
impl SignalSource for EbHealth {
    fn name(&self) -> String {
        "elastic beanstalk enhanced health".into()
    }

    fn provides(&self) -> crate::core::Provided {
        if self.metrics {
            crate::core::Provided {
                p99: true,
                ..crate::core::Provided::ALL
            }
        } else {
            crate::core::Provided::HEALTH
        }
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let (b, g) = futures::join!(
            self.backend.env_health(Env::Blue),
            self.backend.env_health(Env::Green)
        );
        if let (Err(e), Err(_)) = (&b, &g) {
            return Err(crate::shared::SignalError::Failed(e.clone()));
        }
        let metrics = self.metrics;
        let keep = |r: Result<EnvPoll, String>| match r {
            Ok(p) if metrics => p,
            Ok(p) => EnvPoll {
                health: p.health,
                ..EnvPoll::default()
            },
            Err(e) => EnvPoll {
                health: Some(HealthSample {
                    health: Health::Unknown,
                    up: 0,
                    total: 0,
                    latency_ms: None,
                    failures: 1,
                    detail: e.clone(),
                }),
                error_rate: metrics.then(|| Reading::Error(e.clone())),
                p99_ms: metrics.then(|| Reading::Error(e.clone())),
                rps: metrics.then(|| Reading::Error(e.clone())),
                ..EnvPoll::default()
            },
        };
        Ok(EnvPair::new(keep(b), keep(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_cname_is_matched_whole_or_by_its_prefix() {
        let c = "checkout-prod.us-east-1.elasticbeanstalk.com";
        assert!(holds(c, "checkout-prod.us-east-1.elasticbeanstalk.com."));
        assert!(holds(c, "Checkout-Prod"));
        assert!(!holds(c, "checkout"));
        assert!(!holds(
            "checkout-prod-2.us-east-1.elasticbeanstalk.com",
            "checkout-prod"
        ));
        assert!(!holds(c, "checkout-prod.eu-west-1.elasticbeanstalk.com"));
    }

    #[test]
    fn the_application_arn_comes_from_an_environment_arn() {
        assert_eq!(
            application_arn(
                "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/checkout/checkout-blue",
                "checkout"
            )
            .as_deref(),
            Some("arn:aws:elasticbeanstalk:us-east-1:123456789012:application/checkout")
        );
        assert_eq!(application_arn("nonsense", "checkout"), None);
    }

    #[test]
    fn metrics_are_a_share_of_all_codes_whether_counts_or_percentages() {
        use aws_sdk_elasticbeanstalk::types::{ApplicationMetrics, Latency, StatusCodes};
        let m = |s2: i32, s5: i32, req: i32| {
            ApplicationMetrics::builder()
                .duration(10)
                .request_count(req)
                .status_codes(StatusCodes::builder().status2xx(s2).status5xx(s5).build())
                .latency(Latency::builder().p99(0.25).build())
                .build()
        };
        // Counts: 45 requests, 5 of them 5xx.
        let p = app_metrics(Some(&m(40, 5, 45)), 0);
        let v = |r: &Option<Reading>| r.as_ref().and_then(Reading::value).unwrap();
        assert!((v(&p.error_rate) - 5.0 / 45.0).abs() < 1e-9);
        assert!((v(&p.p99_ms) - 250.0).abs() < 1e-9);
        assert!((v(&p.rps) - 4.5).abs() < 1e-9);
        assert_eq!(v(&p.errors), 5.0);
        // Percentages: the same share.
        let p = app_metrics(Some(&m(89, 11, 45)), 0);
        assert!((v(&p.error_rate) - 0.11).abs() < 1e-9);
        // No requests: no data, never 0 %.
        let p = app_metrics(Some(&m(0, 0, 0)), 0);
        assert!(matches!(p.error_rate, Some(Reading::NoData(_))), "{p:?}");
        assert!(matches!(p.p99_ms, Some(Reading::NoData(_))), "{p:?}");
        let p = app_metrics(None, 0);
        assert!(
            matches!(p.error_rate, Some(Reading::NoData(ref w)) if w.contains("enhanced health"))
        );
    }
}
