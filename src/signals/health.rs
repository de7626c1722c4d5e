//! HTTP health probes: any number of URLs per env, each with a timeout, optional
//! expectations (status, body substring, JSON field) and headers.

use super::{EnvPoll, SignalSource};
use crate::core::{Env, EnvPair, Health, HealthSample};
use crate::shared::root_cause;
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bodies are read up to this many bytes.
const MAX_BODY: usize = 64 * 1024;

/// One health URL and what it must answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub url: String,
    /// The status expected; `None`: any 2xx.
    pub expect_status: Option<u16>,
    /// A substring the body must contain.
    pub expect_body: Option<String>,
    /// A JSON pointer (`/status`) and the value it must hold.
    pub expect_json: Option<(String, serde_json::Value)>,
    /// Extra headers, e.g. `Host` or `Authorization` (values never logged).
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// GET for health; smoke checks may use any method.
    pub method: reqwest::Method,
}

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub detail: String,
}

/// Polls every probe of both envs.
pub struct HealthPoller {
    probes: EnvPair<Vec<Probe>>,
    http: reqwest::Client,
    /// Consecutive failures per probe.
    failures: Mutex<EnvPair<Vec<u32>>>,
}

impl HealthPoller {
    pub fn new(probes: EnvPair<Vec<Probe>>) -> HealthPoller {
        let failures = Mutex::new(probes.map(|_, p| vec![0; p.len()]));
        let urls: Vec<&str> = Env::ALL
            .into_iter()
            .flat_map(|e| probes.get(e).iter().map(|p| p.url.as_str()))
            .collect();
        let http = crate::shared::http_client_for(urls)
            .build()
            .expect("a plain HTTP client builds");
        HealthPoller {
            probes,
            http,
            failures,
        }
    }

    /// Runs one probe: its status (and body, when an expectation looks there).
    pub async fn probe(&self, p: &Probe) -> ProbeResult {
        self.probe_with(p, false).await
    }

    /// Runs one probe; with `whole`, the answer must also end within the timeout and
    /// `WHOLE_MAX` (a smoke check passes on an answer, not on its first line).
    pub async fn probe_with(&self, p: &Probe, whole: bool) -> ProbeResult {
        let t = Instant::now();
        let mut req = self
            .http
            .request(p.method.clone(), &p.url)
            .timeout(p.timeout);
        for (k, v) in &p.headers {
            req = req.header(k, v);
        }
        let fail = |status, detail: String| ProbeResult {
            ok: false,
            status,
            latency_ms: t.elapsed().as_secs_f64() * 1000.0,
            detail: format!("{} → {detail}", crate::shared::redact_url(&p.url)),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return fail(
                    None,
                    format!(
                        "no answer within {}",
                        crate::shared::seconds_text(p.timeout.as_secs_f64())
                    ),
                );
            }
            Err(e) => return fail(None, root_cause(&e.without_url())),
        };
        let status = resp.status().as_u16();
        let status_ok = match p.expect_status {
            Some(want) => status == want,
            None => resp.status().is_success(),
        };
        if !status_ok {
            let want = p
                .expect_status
                .map_or_else(|| "2xx".to_string(), |s| s.to_string());
            // With its Retry-After and the first line of what it said (`HTTP 503: no
            // healthy upstream`), as every client says a refusal.
            let said = if resp.status().is_success() {
                format!("HTTP {status}")
            } else {
                crate::shared::refusal_words(resp).await
            };
            return fail(Some(status), format!("{said} (expected {want})"));
        }
        if let Err(why) = body_check(p, resp, whole).await {
            return fail(Some(status), why);
        }
        ProbeResult {
            ok: true,
            status: Some(status),
            latency_ms: t.elapsed().as_secs_f64() * 1000.0,
            detail: format!("{} → HTTP {status}", crate::shared::redact_url(&p.url)),
        }
    }
}

/// What the probe asks of the body (all of it, with `whole`; a text or a JSON field), as
/// the failure's words when it is not met.
async fn body_check(p: &Probe, resp: reqwest::Response, whole: bool) -> Result<(), String> {
    let within = || crate::shared::seconds_text(p.timeout.as_secs_f64());
    if p.expect_body.is_none() && p.expect_json.is_none() {
        if !whole {
            return Ok(());
        }
        return crate::shared::drain_capped(resp, WHOLE_MAX)
            .await
            .map_err(|e| match e {
                crate::shared::BodyError::TimedOut => {
                    format!("answer not finished within {}", within())
                }
                other => format!("body: {other}"),
            });
    }
    let body = read_body(resp).await.map_err(|e| {
        if e.is_timeout() {
            format!("body not read within {}", within())
        } else {
            format!("body: {}", root_cause(&e.without_url()))
        }
    })?;
    if let Some(want) = &p.expect_body
        && !body.contains(want.as_str())
    {
        return Err(format!("body lacks {want:?}"));
    }
    if let Some((pointer, want)) = &p.expect_json {
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
            if body.len() >= MAX_BODY {
                format!(
                    "body over {}: only its start is read, so it cannot be read as JSON",
                    crate::shared::bytes_text(MAX_BODY)
                )
            } else {
                format!("body is not JSON: {e}")
            }
        })?;
        match json.pointer(pointer) {
            Some(got) if got == want => {}
            Some(got) => return Err(format!("{pointer} is {got} (expected {want})")),
            None => return Err(format!("{pointer} missing (expected {want})")),
        }
    }
    Ok(())
}

/// The largest answer a smoke check reads to its end (bytes are counted, not kept).
const WHOLE_MAX: usize = 16 * 1024 * 1024;

async fn read_body(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() >= MAX_BODY {
            buf.truncate(MAX_BODY);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// An env's health from its probes' results and consecutive failures.
pub fn summarize(results: &[ProbeResult], failures: &[u32]) -> HealthSample {
    let total = results.len() as u32;
    let up = results.iter().filter(|r| r.ok).count() as u32;
    let health = match (up, total) {
        (_, 0) => Health::Unknown,
        (u, t) if u == t => Health::Up,
        (0, _) => Health::Down,
        _ => Health::Degraded,
    };
    let latency_ms = results
        .iter()
        .filter(|r| r.ok)
        .map(|r| r.latency_ms)
        .reduce(f64::max);
    let detail = results
        .iter()
        .find(|r| !r.ok)
        .map_or_else(|| format!("{up}/{total} up"), |r| r.detail.clone());
    HealthSample {
        health,
        up,
        total,
        latency_ms,
        failures: failures.iter().copied().max().unwrap_or(0),
        detail,
    }
}

#[async_trait]
impl SignalSource for HealthPoller {
    fn name(&self) -> String {
        "health probes".into()
    }

    fn provides(&self) -> crate::core::Provided {
        if self.probes.blue.is_empty() && self.probes.green.is_empty() {
            crate::core::Provided::NONE
        } else {
            crate::core::Provided::HEALTH
        }
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let mut out = EnvPair::<EnvPoll>::default();
        for env in Env::ALL {
            let probes = self.probes.get(env);
            if probes.is_empty() {
                continue;
            }
            let results = futures::future::join_all(probes.iter().map(|p| self.probe(p))).await;
            let fails = {
                let mut f = self
                    .failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let counts = f.get_mut(env);
                for (n, r) in counts.iter_mut().zip(&results) {
                    *n = if r.ok { 0 } else { *n + 1 };
                }
                counts.clone()
            };
            out.get_mut(env).health = Some(summarize(&results, &fails));
        }
        Ok(out)
    }
}
