//! Prometheus: instant queries for error rate, p99, rps, request and error counts, and
//! extra named queries. `{env}` in a template is replaced by an env's label (one query per
//! env); a template without `{env}` is run once and split by the env label of its result.
//! `{envs}` is replaced by a regex of both labels, `{window}` by the rate window.

use super::{EnvPoll, SignalSource};
use crate::core::{Env, EnvPair, Reading};
use async_trait::async_trait;
use prometheus_http_query::{Client, Error as PromError, response::Data};
use std::time::Duration;

pub const DEFAULT_ERROR_RATE: &str = r#"(sum by (env) (rate(http_requests_total{env=~"{envs}",code=~"5.."}[{window}])) or 0 * sum by (env) (rate(http_requests_total{env=~"{envs}"}[{window}]))) / sum by (env) (rate(http_requests_total{env=~"{envs}"}[{window}]))"#;
pub const DEFAULT_P99: &str = r#"histogram_quantile(0.99, sum by (env, le) (rate(http_request_duration_seconds_bucket{env=~"{envs}"}[{window}])))"#;
pub const DEFAULT_RPS: &str =
    r#"sum by (env) (rate(http_requests_total{env=~"{envs}"}[{window}]))"#;
pub const DEFAULT_REQUESTS: &str =
    r#"sum by (env) (increase(http_requests_total{env=~"{envs}"}[{window}]))"#;
pub const DEFAULT_ERRORS: &str = r#"sum by (env) (increase(http_requests_total{env=~"{envs}",code=~"5.."}[{window}])) or 0 * sum by (env) (increase(http_requests_total{env=~"{envs}"}[{window}]))"#;

/// The query templates.
#[derive(Clone, Debug, PartialEq)]
pub struct Templates {
    pub error_rate: String,
    /// In seconds (as `histogram_quantile` over `_seconds_bucket` gives).
    pub p99: String,
    pub rps: String,
    pub requests: String,
    pub errors: String,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            error_rate: DEFAULT_ERROR_RATE.into(),
            p99: DEFAULT_P99.into(),
            rps: DEFAULT_RPS.into(),
            requests: DEFAULT_REQUESTS.into(),
            errors: DEFAULT_ERRORS.into(),
        }
    }
}

/// An extra named query shown in both panels, e.g. orders per minute.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraQuery {
    pub name: String,
    pub query: String,
}

/// Everything the source needs, resolved from the config (secrets already read).
#[derive(Clone, Debug, PartialEq)]
pub struct PrometheusSettings {
    pub url: String,
    pub templates: Templates,
    pub extra: Vec<ExtraQuery>,
    pub labels: EnvPair<String>,
    /// The label that names the env in grouped results.
    pub env_label: String,
    pub window: String,
    pub timeout: Duration,
    /// Default headers: bearer token, basic auth, custom (values never logged).
    pub headers: reqwest::header::HeaderMap,
}

pub struct PrometheusSource {
    client: Client,
    settings: PrometheusSettings,
}

impl PrometheusSource {
    pub fn new(settings: PrometheusSettings) -> Result<PrometheusSource, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(settings.timeout)
            .default_headers(settings.headers.clone())
            .build()
            .map_err(|e| format!("prometheus client: {e}"))?;
        let client = Client::from(http, &settings.url)
            .map_err(|e| format!("prometheus.url = {:?}: {e}", settings.url))?;
        Ok(PrometheusSource { client, settings })
    }

    fn render(&self, template: &str, env: Option<Env>) -> String {
        let labels = &self.settings.labels;
        let envs = format!(
            "{}|{}",
            regex_escape(&labels.blue),
            regex_escape(&labels.green)
        );
        let mut q = template
            .replace("{envs}", &envs)
            .replace("{window}", &self.settings.window);
        if let Some(env) = env {
            q = q.replace("{env}", labels.get(env));
        }
        q
    }

    /// Runs one instant query and returns its vector as (labels, value) pairs.
    async fn instant(
        &self,
        query: &str,
    ) -> Result<Vec<(std::collections::HashMap<String, String>, f64)>, QueryError> {
        let timeout_ms = self.settings.timeout.as_millis() as i64;
        let r = self
            .client
            .query(query)
            .timeout(timeout_ms)
            .get()
            .await
            .map_err(QueryError::from)?;
        match r.data() {
            Data::Vector(v) => Ok(v
                .iter()
                .map(|s| (s.metric().clone(), s.sample().value()))
                .collect()),
            Data::Scalar(s) => Ok(vec![(Default::default(), s.value())]),
            Data::Matrix(_) => Err(QueryError::Query(
                "a range vector; expected an instant vector".into(),
            )),
        }
    }

    /// One template, both envs.
    async fn both(&self, template: &str, scale: f64) -> Result<EnvPair<Reading>, QueryError> {
        if template.contains("{env}") {
            let (qb, qg) = (
                self.render(template, Some(Env::Blue)),
                self.render(template, Some(Env::Green)),
            );
            let (b, g) = futures::join!(self.instant(&qb), self.instant(&qg));
            let one = |r: Result<Vec<_>, QueryError>| match r {
                Ok(v) => reading(v.first().map(|(_, x)| *x), scale, "empty result"),
                Err(e) => Reading::Error(e.to_string()),
            };
            if let (Err(QueryError::Transport(e)), Err(QueryError::Transport(_))) = (&b, &g) {
                return Err(QueryError::Transport(e.clone()));
            }
            return Ok(EnvPair::new(one(b), one(g)));
        }
        let v = self.instant(&self.render(template, None)).await?;
        let label = &self.settings.env_label;
        Ok(EnvPair::new(Env::Blue, Env::Green).map(|_, &env| {
            let want = self.settings.labels.get(env);
            let found = v
                .iter()
                .find(|(m, _)| m.get(label) == Some(want))
                .map(|(_, x)| *x);
            reading(
                found,
                scale,
                &format!("empty: no series with {label}=\"{want}\""),
            )
        }))
    }
}

/// A value as a reading: missing, NaN and ±Inf are said as what they are, never 0.
fn reading(v: Option<f64>, scale: f64, missing: &str) -> Reading {
    match v {
        None => Reading::NoData(missing.to_string()),
        Some(x) if x.is_nan() => Reading::NoData("NaN: no traffic in the window".into()),
        Some(x) if x == f64::INFINITY => Reading::NoData("+Inf: above the highest bucket".into()),
        Some(x) if x == f64::NEG_INFINITY => Reading::NoData("-Inf".into()),
        Some(x) => Reading::Value(x * scale),
    }
}

/// The innermost cause of an error: "Connection refused (os error 111)", without the
/// request's URL and query.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[derive(Clone, Debug, thiserror::Error)]
enum QueryError {
    /// Prometheus could not be reached or answered garbage.
    #[error("{0}")]
    Transport(String),
    /// Prometheus answered with an error for this query.
    #[error("{0}")]
    Query(String),
}

impl From<PromError> for QueryError {
    fn from(e: PromError) -> Self {
        match e {
            PromError::Prometheus(p) => QueryError::Query(p.to_string()),
            PromError::Client(c) => {
                let msg = match c.inner() {
                    Some(r) if r.is_timeout() => "timed out".to_string(),
                    Some(r) if r.is_status() => {
                        format!("HTTP {}", r.status().map_or(0, |s| s.as_u16()))
                    }
                    Some(r) => innermost(r),
                    None => c.to_string(),
                };
                QueryError::Transport(msg)
            }
            other => QueryError::Query(other.to_string()),
        }
    }
}

#[async_trait]
impl SignalSource for PrometheusSource {
    fn name(&self) -> String {
        format!("prometheus {}", self.settings.url)
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let t = &self.settings.templates;
        let (err, p99, rps, req, errs) = futures::join!(
            self.both(&t.error_rate, 1.0),
            self.both(&t.p99, 1000.0),
            self.both(&t.rps, 1.0),
            self.both(&t.requests, 1.0),
            self.both(&t.errors, 1.0),
        );
        let extras =
            futures::future::join_all(self.settings.extra.iter().map(|x| self.both(&x.query, 1.0)))
                .await;
        let all = [&err, &p99, &rps, &req, &errs];
        if let Some(Err(QueryError::Transport(e))) = all
            .iter()
            .find(|r| matches!(r, Err(QueryError::Transport(_))))
            && all
                .iter()
                .all(|r| matches!(r, Err(QueryError::Transport(_))))
        {
            return Err(e.clone().into());
        }
        let pick = |r: &Result<EnvPair<Reading>, QueryError>, env: Env| match r {
            Ok(pair) => pair.get(env).clone(),
            Err(e) => Reading::Error(e.to_string()),
        };
        Ok(EnvPair::new(Env::Blue, Env::Green).map(|_, &env| EnvPoll {
            error_rate: Some(pick(&err, env)),
            p99_ms: Some(pick(&p99, env)),
            rps: Some(pick(&rps, env)),
            requests: Some(pick(&req, env)),
            errors: Some(pick(&errs, env)),
            metrics: self
                .settings
                .extra
                .iter()
                .zip(&extras)
                .map(|(x, r)| (x.name.clone(), pick(r, env)))
                .collect(),
            ..EnvPoll::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_never_turn_into_zero() {
        assert_eq!(reading(Some(0.5), 1000.0, ""), Reading::Value(500.0));
        assert!(
            matches!(reading(Some(f64::NAN), 1.0, ""), Reading::NoData(r) if r.starts_with("NaN"))
        );
        assert!(
            matches!(reading(Some(f64::INFINITY), 1.0, ""), Reading::NoData(r) if r.starts_with("+Inf"))
        );
        assert!(
            matches!(reading(None, 1.0, "empty result"), Reading::NoData(r) if r.starts_with("empty"))
        );
    }

    #[test]
    fn labels_are_escaped_in_the_regex() {
        assert_eq!(regex_escape("blue"), "blue");
        assert_eq!(regex_escape("v1.2+x"), "v1\\.2\\+x");
    }
}
