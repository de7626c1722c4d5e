//! Route53 weighted records: two records of one name and type, told apart by their set
//! identifiers, whose weights share the answers. One `ChangeResourceRecordSets` batch of two
//! UPSERTs per change (atomic), each record sent back exactly as read but for its weight;
//! then `GetChange` until `INSYNC`, then read back. Resolvers may still answer the old way
//! for one TTL after that: the weights this reads are what Route53 answers, not what every
//! client sees.
//!
//! The driver lease and the cutover record live in TXT records beside the weighted ones
//! (`_cutover-lease.NAME`, `_cutover-record.NAME`). A change batch is atomic and Route53
//! refuses a DELETE whose value is not exactly the stored one, so DELETE + CREATE in one
//! batch is a compare-and-swap (moto does not enforce the DELETE's match: a read and a
//! compare come first, which is all the emulator can check).

use super::{Backend, BackendError, Capabilities, Slot, Switch, WriteCheck};
use crate::core::{EnvPair, Weights};
use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Attempts for a step; a rollback retries harder.
const STEP_ATTEMPTS: u32 = 3;
const ROLLBACK_ATTEMPTS: u32 = 8;
/// Pages of `ListResourceRecordSets` read for one name and type (100 records each).
const MAX_PAGES: usize = 5;
/// The TTL of the lease and record TXT records (they are read through the API, never
/// resolved; a DELETE must name it exactly).
const STORE_TTL: i64 = 60;
/// The most a Route53 weight can be.
pub const MAX_WEIGHT: u32 = 255;

#[derive(Clone, Debug, PartialEq)]
pub struct Route53Settings {
    pub zone: String,
    /// The record's name, fully qualified (a trailing dot is added when missing).
    pub name: String,
    /// `A`, `AAAA` or `CNAME` (an alias is an `A` or `AAAA` with an alias target).
    pub rtype: String,
    pub sets: EnvPair<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The weight for 100 % (at most 255).
    pub scale: u32,
    pub timeout: Duration,
    /// How long a change may stay `PENDING` before its outcome is said as unknown.
    pub sync_timeout: Duration,
    /// Static credentials, for tests against an emulator; never from the config file.
    pub static_credentials: Option<(String, String)>,
}

#[derive(Clone)]
pub struct Route53Backend {
    s: Route53Settings,
    client: Client,
    region: String,
    /// The last change sent and when Route53 said it was in sync.
    change: Arc<Mutex<Option<ChangeSeen>>>,
    /// The weighted records' TTL as last read.
    ttl: Arc<Mutex<Option<i64>>>,
}

/// A change batch as Route53 last reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSeen {
    pub id: String,
    pub insync: bool,
    /// How long it has been (or was) pending.
    pub pending: Duration,
}

/// A name as Route53 spells it: lower case, with its trailing dot.
fn fqdn(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') { n } else { n + "." }
}

/// The TXT record's name for `slot`.
fn store_name(slot: Slot, name: &str) -> String {
    match slot {
        Slot::Lease => format!("_cutover-lease.{}", fqdn(name)),
        Slot::Record => format!("_cutover-record.{}", fqdn(name)),
    }
}

/// `text` as TXT values: quoted strings of at most 200 characters, `"` and `\` escaped.
pub fn txt_quote(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(200)
        .map(|c| {
            let s: String = c.iter().collect();
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of TXT values quoted by [`txt_quote`] (or by anyone: unquoted words are taken
/// as they are); `None` when a quote is left open.
pub fn txt_unquote(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = value.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => out.push(chars.next()?),
                    other => out.push(other),
                }
            },
            ' ' | '\t' => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// What in a record of the configured name and type makes it no weighted record cutover can
/// drive: another routing policy.
fn other_policy(r: &ResourceRecordSet) -> Option<&'static str> {
    if r.failover().is_some() {
        Some("a failover")
    } else if r.region().is_some() {
        Some("a latency")
    } else if r.geo_location().is_some() {
        Some("a geolocation")
    } else if r.geo_proximity_location().is_some() {
        Some("a geoproximity")
    } else if r.cidr_routing_config().is_some() {
        Some("an IP-based")
    } else if r.multi_value_answer().is_some() {
        Some("a multivalue answer")
    } else if r.weight().is_none() {
        Some("a simple (unweighted)")
    } else {
        None
    }
}

/// The blue and the green record among the records of the configured name and type: both
/// weighted, nothing else beside them. Anything else is refused with what was found.
pub fn pick(
    found: &[ResourceRecordSet],
    sets: &EnvPair<String>,
    what: &str,
) -> Result<EnvPair<ResourceRecordSet>, String> {
    for r in found {
        if let Some(policy) = other_policy(r) {
            return Err(format!(
                "{what}{} has {policy} routing policy: cutover drives weighted records only",
                r.set_identifier()
                    .map_or_else(String::new, |i| format!(" (set identifier \"{i}\")"))
            ));
        }
    }
    let by_id = |id: &str| found.iter().find(|r| r.set_identifier() == Some(id));
    if let Some(third) = found.iter().find(|r| {
        r.set_identifier()
            .is_some_and(|i| i != sets.blue && i != sets.green)
    }) {
        return Err(format!(
            "{what} has a third weighted record, set identifier \"{}\" (weight {}): its share would be traffic cutover does not see; remove it or name it as blue or green",
            third.set_identifier().unwrap_or_default(),
            third.weight().unwrap_or_default()
        ));
    }
    let get = |id: &str, env: &str| {
        by_id(id).cloned().ok_or_else(|| {
            format!("{what} has no weighted record with set identifier \"{id}\" (the {env} env)")
        })
    };
    Ok(EnvPair::new(
        get(&sets.blue, "blue")?,
        get(&sets.green, "green")?,
    ))
}

impl Route53Backend {
    pub async fn connect(mut s: Route53Settings) -> Route53Backend {
        s.name = fqdn(&s.name);
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
        Route53Backend {
            client: Client::new(&sdk),
            s,
            region,
            change: Arc::default(),
            ttl: Arc::default(),
        }
    }

    fn err<E>(&self, what: &str, e: SdkError<E, HttpResponse>) -> BackendError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        super::aws::error("the Route53 API", what, &self.target(), e)
    }

    /// The last change sent, as Route53 last reported it.
    pub fn last_change(&self) -> Option<ChangeSeen> {
        self.change
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every record of `name` and `rtype`, from the first at that name and type on, at most
    /// [`MAX_PAGES`] pages.
    async fn list(
        &self,
        name: &str,
        rtype: &RrType,
    ) -> Result<Vec<ResourceRecordSet>, BackendError> {
        let mut out = Vec::new();
        let mut start: (String, RrType, Option<String>) = (name.to_string(), rtype.clone(), None);
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(&self.s.zone)
                .start_record_name(&start.0)
                .start_record_type(start.1.clone())
                .set_start_record_identifier(start.2.clone())
                .max_items(100)
                .send()
                .await
                .map_err(|e| self.err("ListResourceRecordSets", e))?;
            let mut past = false;
            for r in page.resource_record_sets() {
                if fqdn(r.name()) == name && r.r#type() == rtype {
                    out.push(r.clone());
                } else if !out.is_empty() || fqdn(r.name()) != name {
                    past = true;
                    break;
                }
            }
            if past || !page.is_truncated() {
                return Ok(out);
            }
            match (page.next_record_name(), page.next_record_type()) {
                (Some(n), Some(t)) => {
                    let next = (
                        n.to_string(),
                        t.clone(),
                        page.next_record_identifier().map(String::from),
                    );
                    // A page that points back at its own start (moto leaves out the next
                    // identifier) would repeat itself: said, never read twice.
                    if next == start {
                        return Err(BackendError::Protocol {
                            target: self.target(),
                            message: format!(
                                "ListResourceRecordSets pages do not advance past {n} {}",
                                t.as_str()
                            ),
                        });
                    }
                    start = next;
                }
                _ => return Ok(out),
            }
        }
        Err(BackendError::Protocol {
            target: self.target(),
            message: format!(
                "more than {} records named {name} {}: not read further",
                MAX_PAGES * 100,
                rtype.as_str()
            ),
        })
    }

    fn rtype(&self) -> RrType {
        RrType::from(self.s.rtype.as_str())
    }

    /// The blue and green weighted records, read now.
    pub async fn records(&self) -> Result<EnvPair<ResourceRecordSet>, BackendError> {
        self.records_of(false).await
    }

    /// The blue and green weighted records; with `only_ours`, other records of the name
    /// (a third weighted one) are left out instead of refused: a rollback still sets green
    /// to 0, the read-back then says what else takes a share.
    async fn records_of(
        &self,
        only_ours: bool,
    ) -> Result<EnvPair<ResourceRecordSet>, BackendError> {
        let mut found = self.list(&self.s.name, &self.rtype()).await?;
        if only_ours {
            found.retain(|r| {
                r.set_identifier()
                    .is_some_and(|i| i == self.s.sets.blue || i == self.s.sets.green)
            });
        }
        let both = pick(
            &found,
            &self.s.sets,
            &format!("{} {}", self.s.name, self.s.rtype),
        )
        .map_err(|message| BackendError::Rejected {
            target: self.target(),
            message,
        })?;
        *self.ttl.lock().unwrap_or_else(PoisonError::into_inner) =
            both.blue.ttl().max(both.green.ttl());
        Ok(both)
    }

    /// The TTL of the weighted records (the larger, when they differ).
    pub async fn ttl(&self) -> Result<Option<i64>, BackendError> {
        let r = self.records().await?;
        Ok(r.blue.ttl().max(r.green.ttl()))
    }

    /// Sends `changes` in one batch; `Ok(None)` when Route53 refused the batch as invalid
    /// (a DELETE that does not match, a CREATE of what exists: the compare of a swap).
    async fn change(
        &self,
        what: &str,
        changes: Vec<Change>,
    ) -> Result<Option<String>, BackendError> {
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("cutover")
            .build()
            .map_err(|e| BackendError::Protocol {
                target: self.target(),
                message: format!("{what}: {e}"),
            })?;
        match self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(&self.s.zone)
            .change_batch(batch)
            .send()
            .await
        {
            Ok(out) => Ok(out.change_info().map(|c| c.id().to_string())),
            Err(e) if e.code() == Some("InvalidChangeBatch") => Ok(None),
            Err(e) => Err(self.err(what, e)),
        }
    }

    /// Polls `GetChange` until `INSYNC`, at most `sync_timeout`: after that the outcome is
    /// unknown (the change may still apply).
    async fn wait_insync(&self, id: &str) -> Result<(), BackendError> {
        let began = Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            let out = self
                .client
                .get_change()
                .id(id)
                .send()
                .await
                .map_err(|e| self.err("GetChange", e))?;
            let insync = out
                .change_info()
                .is_some_and(|c| *c.status() == ChangeStatus::Insync);
            *self.change.lock().unwrap_or_else(PoisonError::into_inner) = Some(ChangeSeen {
                id: id.to_string(),
                insync,
                pending: began.elapsed(),
            });
            if insync {
                return Ok(());
            }
            if began.elapsed() + wait > self.s.sync_timeout {
                return Err(BackendError::Unknown {
                    target: self.target(),
                    message: format!(
                        "Route53 change {id} still PENDING after {} s: it may still apply",
                        began.elapsed().as_secs()
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// The stored TXT record of `slot`, exactly as Route53 holds it.
    async fn store(&self, slot: Slot) -> Result<Option<ResourceRecordSet>, BackendError> {
        let name = store_name(slot, &self.s.name);
        Ok(self.list(&name, &RrType::Txt).await?.into_iter().next())
    }

    fn txt(slot: Slot, name: &str, value: &str) -> Result<ResourceRecordSet, BackendError> {
        ResourceRecordSet::builder()
            .name(store_name(slot, name))
            .r#type(RrType::Txt)
            .ttl(STORE_TTL)
            .resource_records(
                ResourceRecord::builder()
                    .value(txt_quote(value))
                    .build()
                    .map_err(|e| BackendError::Protocol {
                        target: name.to_string(),
                        message: e.to_string(),
                    })?,
            )
            .build()
            .map_err(|e| BackendError::Protocol {
                target: name.to_string(),
                message: e.to_string(),
            })
    }
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> Result<Change, BackendError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| BackendError::Protocol {
            target: "Route53".into(),
            message: e.to_string(),
        })
}

#[async_trait]
impl Backend for Route53Backend {
    fn kind(&self) -> &'static str {
        "route53"
    }

    fn target(&self) -> String {
        format!(
            "{} {} in zone {} ({})",
            self.s.name, self.s.rtype, self.s.zone, self.region
        )
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: true,
            scale: self.s.scale,
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        let r = self.records().await?;
        let w = |r: &ResourceRecordSet| u32::try_from(r.weight().unwrap_or(0)).unwrap_or(0);
        Ok(Weights::new(w(&r.blue), w(&r.green)))
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        let Some(set) = self.store(slot).await? else {
            return Ok(None);
        };
        let values: Vec<&str> = set
            .resource_records()
            .iter()
            .map(ResourceRecord::value)
            .collect();
        match values.as_slice() {
            [one] => txt_unquote(one)
                .map(Some)
                .ok_or_else(|| BackendError::Protocol {
                    target: self.place(slot),
                    message: format!("the TXT value {one:?} has an open quote"),
                }),
            _ => Err(BackendError::Protocol {
                target: self.place(slot),
                message: format!("{} TXT values where cutover keeps one", values.len()),
            }),
        }
    }

    fn place(&self, slot: Slot) -> String {
        format!(
            "TXT {} in zone {}",
            store_name(slot, &self.s.name),
            self.s.zone
        )
    }

    fn propagation(&self) -> Option<Duration> {
        // An alias record has no TTL of its own (its target's applies): 60 s is said then.
        let ttl = *self.ttl.lock().unwrap_or_else(PoisonError::into_inner);
        Some(Duration::from_secs(ttl.map_or(60, |t| t.max(0) as u64)))
    }

    fn progress(&self) -> Option<String> {
        self.last_change()
            .filter(|c| !c.insync)
            .map(|c| format!("Route53 change PENDING {} s", c.pending.as_secs()))
    }

    async fn advice(&self) -> Result<Vec<String>, BackendError> {
        Ok(ttl_advice(&self.s.name, self.ttl().await?)
            .into_iter()
            .collect())
    }
}

/// The seeds' advice on a TTL above 60 s: resolvers keep the old answer that long after
/// every change, a rollback included.
pub fn ttl_advice(name: &str, ttl: Option<i64>) -> Option<String> {
    let ttl = ttl.filter(|t| *t > 60)?;
    Some(format!(
        "TTL {ttl} s on {name}: resolvers may keep answering with the old weights for up to {ttl} s after every change, a rollback included; lower it to 60 s a day ahead of the cutover (and wait out the old TTL)"
    ))
}

#[async_trait]
impl Switch for Route53Backend {
    async fn write(&self, weights: Weights) -> Result<(), BackendError> {
        self.put(weights, false).await
    }

    /// A rollback: the two records are written even beside a third weighted record (whose
    /// share the read-back then names): green at 0 is safer than green where it was.
    async fn write_urgent(&self, weights: Weights) -> Result<(), BackendError> {
        self.put(weights, true).await
    }

    async fn check_write(&self) -> WriteCheck {
        WriteCheck::Unprovable(
            "IAM for route53:ChangeResourceRecordSets and route53:GetChange cannot be proven without writing (Route53 has no dry run); the first write says if it is denied".into(),
        )
    }

    /// A DELETE of the expected value and a CREATE of the new one in one batch: Route53
    /// refuses the whole batch when the DELETE does not match, which is the compare. The
    /// value is read and compared first as well (moto does not enforce the DELETE's match).
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        self.swap_txt(slot, expect, new).await
    }
}

impl Route53Backend {
    async fn put(&self, weights: Weights, rollback: bool) -> Result<(), BackendError> {
        if weights.blue == 0 && weights.green == 0 {
            return Err(BackendError::Rejected {
                target: self.target(),
                message: "both weights 0: Route53 would then answer with both records equally"
                    .into(),
            });
        }
        *self.change.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let r = self.records_of(rollback).await?;
        // Exactly as read, but for the weight.
        let with = |set: &ResourceRecordSet, w: u32| {
            let mut set = set.clone();
            set.weight = Some(i64::from(w));
            set
        };
        let changes = vec![
            change(ChangeAction::Upsert, with(&r.blue, weights.blue))?,
            change(ChangeAction::Upsert, with(&r.green, weights.green))?,
        ];
        let id = self
            .change("ChangeResourceRecordSets", changes)
            .await?
            .ok_or_else(|| BackendError::Rejected {
                target: self.target(),
                message: "ChangeResourceRecordSets: AWS InvalidChangeBatch".into(),
            })?;
        // Accepted: from here on a failure to see it in sync is an unknown outcome.
        self.wait_insync(&id).await.map_err(|e| match e {
            e @ BackendError::Unknown { .. } => e,
            e => BackendError::Unknown {
                target: self.target(),
                message: format!(
                    "the change {id} was accepted; whether it applied is unknown: {e}"
                ),
            },
        })
    }

    async fn swap_txt(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        if self.load(slot).await?.as_deref() != expect {
            return Ok(false);
        }
        let mut changes = Vec::new();
        if let Some(old) = expect {
            changes.push(change(
                ChangeAction::Delete,
                Self::txt(slot, &self.s.name, old)?,
            )?);
        }
        if let Some(v) = new {
            changes.push(change(
                ChangeAction::Create,
                Self::txt(slot, &self.s.name, v)?,
            )?);
        }
        if changes.is_empty() {
            return Ok(true);
        }
        Ok(self
            .change("ChangeResourceRecordSets (cutover's TXT)", changes)
            .await?
            .is_some())
    }
}

/// `init --discover`: every pair of weighted records (two set identifiers of one name and
/// type, not cutover's own TXT records) in the hosted zone. Read-only:
/// `ListResourceRecordSets`, at most 50 pages.
pub async fn discover(
    zone: &str,
    w: &super::aws::Where,
    timeout: Duration,
) -> Result<Vec<super::discover::Found>, String> {
    use super::discover::{Found, blue_green, quoted, shares};
    // Route53 is global: the SDK signs for us-east-1 unless told.
    let (sdk, region) = w.sdk_config(Some("us-east-1"), timeout).await;
    let client = Client::new(&sdk);
    let mut sets: Vec<ResourceRecordSet> = Vec::new();
    let mut next: Option<(String, Option<RrType>, Option<String>)> = None;
    for _ in 0..50 {
        let mut call = client.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, ty, id)) = next.take() {
            call = call
                .start_record_name(name)
                .set_start_record_type(ty)
                .set_start_record_identifier(id);
        }
        let page = call.send().await.map_err(|e| {
            format!(
                "ListResourceRecordSets {zone} ({region}): {}",
                super::aws::sdk_words(&e)
            )
        })?;
        sets.extend(page.resource_record_sets().iter().cloned());
        if !page.is_truncated() {
            break;
        }
        next = page.next_record_name().map(|n| {
            (
                n.to_string(),
                page.next_record_type().cloned(),
                page.next_record_identifier().map(str::to_string),
            )
        });
        if next.is_none() {
            break;
        }
    }
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: std::collections::HashMap<(String, String), Vec<(String, u64)>> =
        Default::default();
    for r in &sets {
        let (Some(id), Some(weight)) = (r.set_identifier(), r.weight()) else {
            continue;
        };
        if r.name().starts_with("_cutover-") {
            continue;
        }
        let key = (r.name().to_string(), r.r#type().as_str().to_string());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups
            .entry(key)
            .or_default()
            .push((id.to_string(), weight.max(0) as u64));
    }
    Ok(order
        .into_iter()
        .filter_map(|(name, ty)| {
            let g = groups.get(&(name.clone(), ty.clone()))?;
            let [a, b] = g.as_slice() else {
                return None;
            };
            let ((blue, bw), (green, gw)) = blue_green((&a.0, a.1), (&b.0, b.1));
            let (bs, gs) = shares(bw, gw);
            let mut keys = vec![
                ("hosted-zone-id", quoted(zone)),
                ("record-name", quoted(name.trim_end_matches('.'))),
                ("record-type", quoted(&ty)),
                ("blue-set-identifier", quoted(&blue)),
                ("green-set-identifier", quoted(&green)),
            ];
            if let Some(p) = &w.profile {
                keys.push(("profile", quoted(p)));
            }
            if let Some(u) = &w.endpoint_url {
                keys.push(("endpoint-url", quoted(u)));
            }
            Some(Found {
                what: format!(
                    "{} {ty}: {blue} ({bs}) / {green} ({gs})",
                    name.trim_end_matches('.')
                ),
                name: name.trim_end_matches('.').to_string(),
                keys,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weighted(id: &str, w: i64) -> ResourceRecordSet {
        ResourceRecordSet::builder()
            .name("www.example.com.")
            .r#type(RrType::A)
            .set_identifier(id)
            .weight(w)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value("192.0.2.1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn txt_values_round_trip_whatever_they_hold() {
        for text in [
            "v1 live=blue by=alice@h at=1 pos=10",
            "quote \" and backslash \\ inside",
            &"x".repeat(450),
            "",
        ] {
            let q = txt_quote(text);
            assert!(q.split("\" \"").all(|c| c.len() <= 210), "{q}");
            assert_eq!(txt_unquote(&q).as_deref(), Some(text), "{q}");
        }
        assert_eq!(txt_unquote("\"open"), None);
    }

    #[test]
    fn only_the_two_named_weighted_records_are_driven() {
        let sets = EnvPair::new("blue".to_string(), "green".to_string());
        let ok = pick(
            &[weighted("blue", 100), weighted("green", 0)],
            &sets,
            "www A",
        )
        .unwrap();
        assert_eq!((ok.blue.weight(), ok.green.weight()), (Some(100), Some(0)));
        let third = pick(
            &[
                weighted("blue", 100),
                weighted("green", 0),
                weighted("canary", 5),
            ],
            &sets,
            "www A",
        )
        .unwrap_err();
        assert!(
            third.contains("third weighted record, set identifier \"canary\" (weight 5)"),
            "{third}"
        );
        let missing = pick(&[weighted("blue", 100)], &sets, "www A").unwrap_err();
        assert!(
            missing.contains("no weighted record with set identifier \"green\" (the green env)"),
            "{missing}"
        );
        let mut failover = weighted("green", 0);
        failover.weight = None;
        failover.failover = Some(aws_sdk_route53::types::ResourceRecordSetFailover::Primary);
        let e = pick(&[weighted("blue", 100), failover], &sets, "www A").unwrap_err();
        assert!(
            e.contains("(set identifier \"green\") has a failover routing policy"),
            "{e}"
        );
    }
}
