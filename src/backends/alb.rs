//! An AWS Application Load Balancer: a forward action with a weighted `ForwardConfig` over a
//! blue and a green target group, on a listener's default action or on one listener rule.
//! One `ModifyListener` / `ModifyRule` call per change, so a rollback is atomic; read back
//! after every write. Anything unexpected is refused with what was found: never a guess.

use super::{Backend, BackendError, Capabilities, Slot, Switch};
use crate::core::{Env, EnvPair, Health, HealthSample, Weights};
use crate::core::{EnvPoll, SignalSource};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::config::http::HttpResponse;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use std::time::Duration;

/// Attempts for a step; a rollback retries harder.
const STEP_ATTEMPTS: u32 = 3;
const ROLLBACK_ATTEMPTS: u32 = 8;
/// The tag on the listener or rule that holds the driver lease.
pub const LEASE_TAG: &str = "cutover:driver-lease";
/// The tag on the listener or rule that holds the cutover record.
pub const RECORD_TAG: &str = "cutover:record";

fn tag_of(slot: Slot) -> &'static str {
    match slot {
        Slot::Lease => LEASE_TAG,
        Slot::Record => RECORD_TAG,
    }
}

/// What the forward action lives on.
#[derive(Clone, Debug, PartialEq)]
pub enum AlbTarget {
    Listener(String),
    Rule(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlbSettings {
    pub target: AlbTarget,
    pub groups: EnvPair<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The ALB weight for 100 % (ALB weights run 0-999).
    pub scale: u32,
    pub timeout: Duration,
    /// Static credentials, for tests against an emulator; never from the config file.
    pub static_credentials: Option<(String, String)>,
}

#[derive(Clone)]
pub struct AlbBackend {
    s: AlbSettings,
    client: Client,
    region: String,
    /// The actions as last read (or as the last write left them): a write rebuilds from
    /// them instead of describing again, and re-reads only when the call is refused.
    last: std::sync::Arc<std::sync::Mutex<Option<Vec<Action>>>>,
    /// The record and lease tags as last read, with when: a load or a compare within
    /// `TAGS_FRESH` of that read uses them instead of another DescribeTags.
    seen: std::sync::Arc<std::sync::Mutex<Option<Seen>>>,
}

/// The tags of cutover's slots as read at `at` (and as this process's own writes since
/// left them).
#[derive(Clone, Debug)]
struct Seen {
    at: std::time::Instant,
    record: Option<String>,
    lease: Option<String>,
}

impl Seen {
    fn get(&self, slot: Slot) -> Option<String> {
        match slot {
            Slot::Record => self.record.clone(),
            Slot::Lease => self.lease.clone(),
        }
    }
}

/// How long a DescribeTags answer stands in for another. Tags have no compare-and-swap
/// anyway (a read, a compare, a write): this widens the window in which two writers both
/// win from one round trip to at most this, and in return a rollback's record and a
/// forward write's lease cost one call each instead of three. A compare that fails on
/// the remembered tags is made again on a fresh read before it says no.
const TAGS_FRESH: Duration = Duration::from_secs(1);

/// The value of `slot`'s tag, when set and not blank.
fn tag(tags: &[aws_sdk_elasticloadbalancingv2::types::Tag], slot: Slot) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some(tag_of(slot)))
        .and_then(|t| t.value())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
}

/// The last path segments of an ARN, for the header.
fn short_arn(arn: &str) -> String {
    let tail = arn.rsplit(':').next().unwrap_or(arn);
    let parts: Vec<&str> = tail.split('/').collect();
    match parts.as_slice() {
        [kind, "app", name, .., last] => format!("{kind} {name}/…/{last}"),
        _ => tail.to_string(),
    }
}

fn aws_error<E>(what: &str, target: &str, e: SdkError<E, HttpResponse>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    super::aws::error("the Elastic Load Balancing API", what, target, e)
}

impl AlbBackend {
    pub async fn connect(s: AlbSettings) -> AlbBackend {
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
        AlbBackend {
            client: Client::new(&sdk),
            s,
            region,
            last: std::sync::Arc::default(),
            seen: std::sync::Arc::default(),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Option<Seen>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `slot`'s tag: as remembered when read within `TAGS_FRESH`, else read now.
    async fn slot_value(
        &self,
        slot: Slot,
        fresh_only: bool,
    ) -> Result<Option<String>, BackendError> {
        if !fresh_only
            && let Some(seen) = self.seen().as_ref()
            && seen.at.elapsed() < TAGS_FRESH
        {
            return Ok(seen.get(slot));
        }
        Ok(tag(&self.tags().await?, slot))
    }

    /// The listener's (or rule's) tags, in one call.
    async fn tags(&self) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::Tag>, BackendError> {
        let target = self.where_();
        let at = std::time::Instant::now();
        let out = self
            .client
            .describe_tags()
            .resource_arns(&target)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTags", &target, e))?;
        let tags: Vec<_> = out
            .tag_descriptions()
            .iter()
            .flat_map(aws_sdk_elasticloadbalancingv2::types::TagDescription::tags)
            .cloned()
            .collect();
        *self.seen() = Some(Seen {
            at,
            record: tag(&tags, Slot::Record),
            lease: tag(&tags, Slot::Lease),
        });
        Ok(tags)
    }

    fn where_(&self) -> String {
        match &self.s.target {
            AlbTarget::Listener(a) | AlbTarget::Rule(a) => a.clone(),
        }
    }

    /// The actions holding the forward action, read now (and kept for the next write).
    async fn actions(&self) -> Result<Vec<Action>, BackendError> {
        let actions = self.describe().await?;
        self.remember(Some(actions.clone()));
        Ok(actions)
    }

    fn remember(&self, actions: Option<Vec<Action>>) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = actions;
    }

    fn remembered(&self) -> Option<Vec<Action>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The actions holding the forward action: the listener's default actions or the rule's.
    async fn describe(&self) -> Result<Vec<Action>, BackendError> {
        let target = self.where_();
        match &self.s.target {
            AlbTarget::Listener(arn) => {
                let out = self
                    .client
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("DescribeListeners", &target, e))?;
                let l = out
                    .listeners()
                    .first()
                    .ok_or_else(|| BackendError::Rejected {
                        target: target.clone(),
                        message: "DescribeListeners found no such listener".into(),
                    })?;
                Ok(l.default_actions().to_vec())
            }
            AlbTarget::Rule(arn) => {
                let out = self
                    .client
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("DescribeRules", &target, e))?;
                let r = out.rules().first().ok_or_else(|| BackendError::Rejected {
                    target: target.clone(),
                    message: "DescribeRules found no such rule".into(),
                })?;
                Ok(r.actions().to_vec())
            }
        }
    }

    /// The index of the one forward action over exactly our two groups, and their weights.
    fn inspect(&self, actions: &[Action]) -> Result<(usize, Weights), BackendError> {
        let refuse = |message: String| BackendError::Rejected {
            target: self.where_(),
            message: format!("{message}; refusing to touch it"),
        };
        let forwards: Vec<usize> = actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.r#type() == Some(&ActionTypeEnum::Forward))
            .map(|(i, _)| i)
            .collect();
        let types: Vec<String> = actions
            .iter()
            .map(|a| {
                a.r#type()
                    .map_or("?".to_string(), |t| t.as_str().to_string())
            })
            .collect();
        let i = match forwards.as_slice() {
            [i] => *i,
            [] => {
                return Err(refuse(format!(
                    "found a `{}` action, not a forward to blue and green",
                    types.join("`, `")
                )));
            }
            _ => {
                return Err(refuse(format!(
                    "found {} forward actions; expected one",
                    forwards.len()
                )));
            }
        };
        let a = &actions[i];
        let Some(fc) = a.forward_config() else {
            return Err(refuse(format!(
                "found a plain forward to {} without ForwardConfig weights",
                a.target_group_arn().unwrap_or("?")
            )));
        };
        let mut w = EnvPair::new(None, None);
        for tg in fc.target_groups() {
            let arn = tg.target_group_arn().unwrap_or("");
            let weight = tg.weight().unwrap_or(1).max(0) as u32;
            match Env::ALL.into_iter().find(|e| self.s.groups.get(*e) == arn) {
                Some(env) => *w.get_mut(env) = Some(weight),
                None => {
                    return Err(refuse(format!(
                        "found a third target group {arn} in the forward action"
                    )));
                }
            }
        }
        match (w.blue, w.green) {
            (Some(b), Some(g)) => Ok((i, Weights::new(b, g))),
            _ => {
                let missing: Vec<&str> = Env::ALL
                    .into_iter()
                    .filter(|e| w.get(*e).is_none())
                    .map(|e| self.s.groups.get(e).as_str())
                    .collect();
                Err(refuse(format!(
                    "the forward action lacks target group {}",
                    missing.join(" and ")
                )))
            }
        }
    }

    /// Writes `w` into the actions as last read (a warm cockpit and a CLI rollback have
    /// them: no describe before the write); read afresh first when none are kept, and once
    /// more when AWS refuses the call (the listener changed meanwhile).
    async fn put(&self, w: Weights, attempts: u32) -> Result<(), BackendError> {
        if let Some(actions) = self.remembered() {
            match self.modify(actions, w, attempts).await {
                Err(BackendError::Rejected { .. }) => {}
                done => return done,
            }
        }
        let actions = self.actions().await?;
        self.modify(actions, w, attempts).await
    }

    async fn modify(
        &self,
        mut actions: Vec<Action>,
        w: Weights,
        attempts: u32,
    ) -> Result<(), BackendError> {
        let (i, _) = self.inspect(&actions)?;
        let old = actions[i].forward_config().cloned();
        let mut fc = ForwardActionConfig::builder();
        for env in Env::ALL {
            fc = fc.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(self.s.groups.get(env))
                    .weight(w.get(env) as i32)
                    .build(),
            );
        }
        // Keep the stickiness the forward action had.
        fc = fc.set_target_group_stickiness_config(
            old.and_then(|o| o.target_group_stickiness_config().cloned()),
        );
        let action = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(fc.build())
            .set_order(actions[i].order())
            .build();
        actions[i] = action;
        let retry = aws_sdk_elasticloadbalancingv2::config::Builder::default()
            .retry_config(super::aws::retry(attempts));
        let target = self.where_();
        match &self.s.target {
            AlbTarget::Listener(arn) => {
                let out = self
                    .client
                    .modify_listener()
                    .listener_arn(arn)
                    .set_default_actions(Some(actions))
                    .customize()
                    .config_override(retry)
                    .send()
                    .await
                    .map_err(|e| aws_error("ModifyListener", &target, e))?;
                self.remember(
                    out.listeners()
                        .first()
                        .map(|l| l.default_actions().to_vec()),
                );
            }
            AlbTarget::Rule(arn) => {
                let out = self
                    .client
                    .modify_rule()
                    .rule_arn(arn)
                    .set_actions(Some(actions))
                    .customize()
                    .config_override(retry)
                    .send()
                    .await
                    .map_err(|e| aws_error("ModifyRule", &target, e))?;
                self.remember(out.rules().first().map(|r| r.actions().to_vec()));
            }
        }
        Ok(())
    }

    /// Healthy and total targets of a group, with the reasons of the unhealthy ones.
    pub async fn target_health(&self, env: Env) -> Result<HealthSample, String> {
        let arn = self.s.groups.get(env);
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTargetHealth", arn, e).to_string())?;
        let descs = out.target_health_descriptions();
        let total = descs.len() as u32;
        let mut up = 0;
        let mut reasons = Vec::new();
        for d in descs {
            let th = d.target_health();
            let state = th.and_then(|t| t.state()).map_or("unknown", |s| s.as_str());
            if state == "healthy" {
                up += 1;
            } else {
                let id = d.target().and_then(|t| t.id()).unwrap_or("?");
                let why = th
                    .and_then(|t| t.reason())
                    .map_or(state.to_string(), |r| r.as_str().to_string());
                reasons.push(format!("{id}: {why}"));
            }
        }
        let health = match (up, total) {
            (_, 0) => Health::Down,
            (u, t) if u == t => Health::Up,
            (0, _) => Health::Down,
            _ => Health::Degraded,
        };
        Ok(HealthSample {
            health,
            up,
            total,
            latency_ms: None,
            failures: 0,
            detail: if reasons.is_empty() {
                format!("{up}/{total} healthy")
            } else {
                reasons.join(", ")
            },
        })
    }
}

#[async_trait]
impl Backend for AlbBackend {
    fn kind(&self) -> &'static str {
        "alb"
    }

    fn target(&self) -> String {
        format!("{} {}", self.region, short_arn(&self.where_()))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: true,
            scale: self.s.scale,
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        let actions = self.actions().await?;
        self.inspect(&actions).map(|(_, w)| w)
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.slot_value(slot, false).await
    }

    /// One DescribeTags for both.
    async fn record_and_lease(
        &self,
    ) -> (
        Result<Option<crate::core::Record>, BackendError>,
        Result<Option<crate::core::Lease>, BackendError>,
    ) {
        match self.tags().await {
            Ok(tags) => (
                super::record_of(self.place(Slot::Record), tag(&tags, Slot::Record)),
                super::lease_of(self.place(Slot::Lease), tag(&tags, Slot::Lease)),
            ),
            Err(e) => (Err(e.clone()), Err(e)),
        }
    }

    fn place(&self, slot: Slot) -> String {
        format!("tag {} on {}", tag_of(slot), short_arn(&self.where_()))
    }
}

#[async_trait]
impl Switch for AlbBackend {
    async fn check_write(&self) -> super::WriteCheck {
        super::WriteCheck::Unprovable(
            "IAM for elasticloadbalancing:ModifyListener / ModifyRule, AddTags and RemoveTags cannot be proven without writing (the ALB API has no dry run); the first write says if it is denied".into(),
        )
    }

    /// Tags have no compare-and-swap: read, compare, write. Two drivers starting in the
    /// same instant could both win; the renewal a few seconds later finds out.
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        if self.slot_value(slot, false).await?.as_deref() != expect
            && self.slot_value(slot, true).await?.as_deref() != expect
        {
            return Ok(false);
        }
        let target = self.where_();
        let key = tag_of(slot);
        let sent = match new {
            Some(v) => {
                let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(key)
                    .value(v)
                    .build();
                self.client
                    .add_tags()
                    .resource_arns(&target)
                    .tags(tag)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_error("AddTags", &target, e))
            }
            None => self
                .client
                .remove_tags()
                .resource_arns(&target)
                .tag_keys(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("RemoveTags", &target, e)),
        };
        if let Err(e) = sent {
            // Written or not is unknown: the next look reads.
            *self.seen() = None;
            return Err(e);
        }
        if let Some(seen) = self.seen().as_mut() {
            let v = new
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from);
            match slot {
                Slot::Record => seen.record = v,
                Slot::Lease => seen.lease = v,
            }
        }
        Ok(true)
    }

    async fn write(&self, w: Weights) -> Result<(), BackendError> {
        self.put(w, STEP_ATTEMPTS).await
    }

    async fn write_urgent(&self, w: Weights) -> Result<(), BackendError> {
        self.put(w, ROLLBACK_ATTEMPTS).await
    }
}

/// Target health of both groups as each env's health.
pub struct AlbHealth(pub AlbBackend);

#[async_trait]
impl SignalSource for AlbHealth {
    fn name(&self) -> String {
        "alb target health".into()
    }

    fn provides(&self) -> crate::core::Provided {
        crate::core::Provided::HEALTH
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let (b, g) = futures::join!(
            self.0.target_health(Env::Blue),
            self.0.target_health(Env::Green)
        );
        crate::core::signal::health_pair(b, g)
    }
}

pub use super::aws::Where;

/// The one forward action of `actions` whose `ForwardConfig` holds exactly two target
/// groups: `((arn, weight), (arn, weight))`.
fn forward_pair(
    actions: &[aws_sdk_elasticloadbalancingv2::types::Action],
) -> Option<((String, u64), (String, u64))> {
    let forwards: Vec<_> = actions
        .iter()
        .filter(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .collect();
    let [a] = forwards.as_slice() else {
        return None;
    };
    let groups = a.forward_config()?.target_groups();
    let [x, y] = groups else {
        return None;
    };
    let one = |t: &aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple| {
        Some((
            t.target_group_arn()?.to_string(),
            t.weight().unwrap_or(1).max(0) as u64,
        ))
    };
    Some((one(x)?, one(y)?))
}

/// `targetgroup/NAME/ID` → NAME.
fn group_name(arn: &str) -> &str {
    arn.split("targetgroup/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(arn)
}

/// An SDK error of a discovery call, in one line.
fn said<E: std::error::Error + 'static>(
    api: &str,
    region: &str,
    e: &SdkError<E, HttpResponse>,
) -> String {
    format!("{api} ({region}): {}", super::aws::sdk_words(e))
}

/// Every load balancer the credentials can describe (at most 50 pages).
async fn load_balancers(
    client: &Client,
    region: &str,
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::LoadBalancer>, String> {
    let mut lbs = Vec::new();
    let mut marker = None;
    for _ in 0..50 {
        let page = client
            .describe_load_balancers()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| said("DescribeLoadBalancers", region, &e))?;
        lbs.extend(page.load_balancers().iter().cloned());
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(lbs)
}

/// A found pair: what it is, a name for it, the key and ARN that name it, the two groups.
type Candidate = (
    String,
    String,
    (&'static str, String),
    ((String, u64), (String, u64)),
);

/// The rules of a listener (not its default) whose forward action holds two groups.
async fn rule_candidates(
    client: &Client,
    region: &str,
    listener: &str,
    (at, name): (&str, &str),
) -> Result<Vec<Candidate>, String> {
    let rules = client
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .map_err(|e| said("DescribeRules", region, &e))?;
    let mut out = Vec::new();
    for r in rules.rules() {
        if r.is_default() == Some(true) {
            continue;
        }
        let (Some(arn), Some(p)) = (r.rule_arn(), forward_pair(r.actions())) else {
            continue;
        };
        let when: Vec<String> = r
            .conditions()
            .iter()
            .map(|c| format!("{} {}", c.field().unwrap_or("?"), c.values().join(",")))
            .collect();
        let prio = r.priority().unwrap_or("?");
        out.push((
            format!("{at} rule {prio} ({})", when.join("; ")),
            format!("{name}-rule-{prio}"),
            ("rule-arn", arn.to_string()),
            p,
        ));
    }
    Ok(out)
}

/// `init --discover`: every listener and listener rule, on every load balancer the
/// credentials can describe, whose forward action holds exactly two target groups.
/// Read-only: `DescribeLoadBalancers`, `DescribeListeners`, `DescribeRules`.
pub async fn discover(w: &Where, timeout: Duration) -> Result<Vec<super::discover::Found>, String> {
    use super::discover::{Found, blue_green, quoted, shares};
    let (sdk, region) = w.sdk_config(None, timeout).await;
    let client = Client::new(&sdk);
    let lbs = load_balancers(&client, &region).await?;
    let mut found = Vec::new();
    let extra = |keys: &mut Vec<(&'static str, String)>| {
        keys.push(("region", quoted(&region)));
        if let Some(p) = &w.profile {
            keys.push(("profile", quoted(p)));
        }
        if let Some(u) = &w.endpoint_url {
            keys.push(("endpoint-url", quoted(u)));
        }
    };
    let pair = |(a, b): ((String, u64), (String, u64))| {
        let ((_, (barn, bw)), (_, (garn, gw))) = blue_green(
            (group_name(&a.0), (a.0.clone(), a.1)),
            (group_name(&b.0), (b.0.clone(), b.1)),
        );
        (barn, bw, garn, gw)
    };
    for lb in &lbs {
        let Some(lb_arn) = lb.load_balancer_arn() else {
            continue;
        };
        let lb_name = lb.load_balancer_name().unwrap_or("?");
        let listeners = client
            .describe_listeners()
            .load_balancer_arn(lb_arn)
            .send()
            .await
            .map_err(|e| said("DescribeListeners", &region, &e))?;
        for l in listeners.listeners() {
            let Some(l_arn) = l.listener_arn() else {
                continue;
            };
            let port = l.port().map_or_else(|| "?".into(), |p| p.to_string());
            let mut candidates: Vec<Candidate> = Vec::new();
            if let Some(p) = forward_pair(l.default_actions()) {
                candidates.push((
                    format!("{lb_name} :{port} default action"),
                    format!("{lb_name}-{port}"),
                    ("listener-arn", l_arn.to_string()),
                    p,
                ));
            }
            candidates.extend(
                rule_candidates(
                    &client,
                    &region,
                    l_arn,
                    (&format!("{lb_name} :{port}"), &format!("{lb_name}-{port}")),
                )
                .await?,
            );
            for (what, name, (key, arn), p) in candidates {
                let (barn, bw, garn, gw) = pair(p);
                let (bs, gs) = shares(bw, gw);
                let mut keys = vec![
                    (key, quoted(&arn)),
                    ("blue-target-group", quoted(&barn)),
                    ("green-target-group", quoted(&garn)),
                ];
                extra(&mut keys);
                found.push(Found {
                    what: format!(
                        "{what}: {} ({bs}) / {} ({gs})",
                        group_name(&barn),
                        group_name(&garn)
                    ),
                    name,
                    keys,
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arns() {
        assert_eq!(
            short_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/checkout/431f920fad6ad17d/14f3599fa63c6929"
            ),
            "listener checkout/…/14f3599fa63c6929"
        );
        assert_eq!(
            short_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/checkout/4/1/ec7b"
            ),
            "listener-rule checkout/…/ec7b"
        );
    }
}
