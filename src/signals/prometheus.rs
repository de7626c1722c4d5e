//! Prometheus: instant queries for error rate, p99, rps, request and error counts, and
//! extra named queries. `{env}` in a template is replaced by an env's label (one query per
//! env); a template without `{env}` is run once and split by the env label of its result.
//! `{envs}` is replaced by a regex of both labels, `{window}` by the rate window.

use super::{EnvPoll, SignalSource};
use crate::core::value::non_finite;
use crate::core::{Env, EnvPair, Lags, Provided, Reading};
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
    /// The largest answer read, in bytes: a bigger one is an error, never read whole.
    pub max_body: usize,
}

pub struct PrometheusSource {
    client: Client,
    settings: PrometheusSettings,
}

impl PrometheusSource {
    pub fn new(settings: PrometheusSettings) -> Result<PrometheusSource, String> {
        let http = crate::shared::http_client_for([settings.url.as_str()])
            .timeout(settings.timeout)
            .default_headers(settings.headers.clone())
            .build()
            .map_err(|e| format!("prometheus client: {e}"))?;
        let client = Client::from(http, &settings.url).map_err(|e| {
            format!(
                "prometheus.url = {:?}: {e}",
                crate::shared::redact_url(&settings.url)
            )
        })?;
        // Never shown, should a peer echo them back: registered, so every printed line
        // hides them (`shared::printable`).
        for secret in secrets_of(&settings) {
            crate::shared::register_secret(&secret);
        }
        crate::shared::register_url_secrets(&settings.url, false);
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

    /// Runs one instant query and returns its vector as samples, each with its age by its
    /// own timestamp.
    async fn instant(&self, query: &str) -> Result<Vec<Found>, QueryError> {
        let timeout_ms = self.settings.timeout.as_millis() as i64;
        let resp = self
            .client
            .query(query)
            .timeout(timeout_ms)
            .get_raw()
            .await
            .map_err(QueryError::from)?;
        let r = answer(resp, self.settings.max_body).await?;
        let now = wall_seconds();
        let found = |labels: &Labels, s: &prometheus_http_query::response::Sample| Found {
            labels: labels.clone(),
            value: s.value(),
            lag: lag_ms(now, s.timestamp()),
            ahead: lag_ms(s.timestamp(), now),
        };
        match r.data() {
            Data::Vector(v) => Ok(v.iter().map(|s| found(s.metric(), s.sample())).collect()),
            Data::Scalar(s) => Ok(vec![found(&Labels::new(), s)]),
            Data::Matrix(_) => Err(QueryError::Query(
                "a range vector; expected an instant vector".into(),
            )),
        }
    }

    /// One template, both envs: each env's one series as a reading and its age.
    async fn both(
        &self,
        template: &str,
        kind: Kind,
    ) -> Result<EnvPair<(Reading, u64)>, QueryError> {
        let label = &self.settings.env_label;
        let labels = &self.settings.labels;
        if template.contains("{env}") {
            let (qb, qg) = (
                self.render(template, Some(Env::Blue)),
                self.render(template, Some(Env::Green)),
            );
            let (b, g) = futures::join!(self.instant(&qb), self.instant(&qg));
            if let (Err(QueryError::Transport(e)), Err(QueryError::Transport(_))) = (&b, &g) {
                return Err(QueryError::Transport(e.clone()));
            }
            let one = |r: Result<Vec<Found>, QueryError>, env: Env| match r {
                Ok(v) => one_series(&v, kind, label, labels.get(env), "empty result"),
                Err(e) => (Reading::Error(e.to_string()), 0),
            };
            return Ok(EnvPair::new(one(b, Env::Blue), one(g, Env::Green)));
        }
        let v = self.instant(&self.render(template, None)).await?;
        Ok(EnvPair::new(Env::Blue, Env::Green).map(|_, &env| {
            let want = labels.get(env);
            let mine: Vec<Found> = v
                .iter()
                .filter(|f| f.labels.get(label) == Some(want))
                .cloned()
                .collect();
            let missing = format!("empty: no series with {label}=\"{want}\"");
            one_series(&mine, kind, label, want, &missing)
        }))
    }
}

type Labels = std::collections::HashMap<String, String>;

/// The default of `prometheus.max-body-mb`: 4 MB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// The API's envelope around a query's data (`status`, then `data` or the error).
#[derive(serde::Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Envelope {
    Success {
        data: prometheus_http_query::response::PromqlResult,
    },
    Error {
        #[serde(rename = "errorType", default)]
        error_type: String,
        #[serde(default)]
        error: String,
    },
}

/// An answer read and parsed here, not by the client crate: at most `max` bytes (a bigger
/// one is an error, never read whole), HTTP statuses said as such (429 with its
/// Retry-After, any other with the first line of its body), and Prometheus's own error
/// envelope as the query's error.
async fn answer(
    resp: reqwest::Response,
    max: usize,
) -> Result<prometheus_http_query::response::PromqlResult, QueryError> {
    let status = resp.status();
    let retry_after = crate::shared::retry_after(&resp);
    if let Some(words) = crate::shared::redirect_words(&resp) {
        return Err(QueryError::Transport(words));
    }
    let body = crate::shared::read_capped(resp, max)
        .await
        .map_err(|e| match e {
            crate::shared::BodyError::TooBig { .. } => {
                QueryError::Transport(format!("{e} (prometheus.max-body-mb)"))
            }
            _ => QueryError::Transport(e.to_string()),
        })?;
    if let Ok(env) = serde_json::from_slice::<Envelope>(&body) {
        return match env {
            Envelope::Success { data } if status.is_success() => Ok(data),
            Envelope::Success { .. } => Err(QueryError::Transport(format!("HTTP {status}"))),
            // One line: a line break in the peer's text must not forge a line of output.
            Envelope::Error { error_type, error } => Err(QueryError::Query(
                crate::shared::one_line(&format!("{error_type}: {error}"), 300),
            )),
        };
    }
    let first = crate::shared::first_line(&String::from_utf8_lossy(&body));
    Err(QueryError::Transport(match status.as_u16() {
        _ if !status.is_success() && first.is_empty() => format!("HTTP {status}{retry_after}"),
        _ if !status.is_success() => format!("HTTP {status}{retry_after}: {first}"),
        _ => format!("not a Prometheus answer: {first}"),
    }))
}

/// One sample of an instant vector: its labels, its value, and how old it was when read.
#[derive(Clone, Debug)]
struct Found {
    labels: Labels,
    value: f64,
    lag: u64,
    /// How far ahead of our clock the sample is stamped, in ms (0 when it is not).
    ahead: u64,
}

/// A sample stamped further ahead than this is not believed (a few seconds of skew are).
const AHEAD_MAX_MS: u64 = 60_000;

/// What a query measures, for what its NaN means and how its value is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A ratio (error rate) or an extra metric: NaN is 0/0, no traffic.
    Ratio,
    /// `histogram_quantile` in seconds, shown in ms: NaN is no traffic, +Inf is above the
    /// highest bucket.
    QuantileSeconds,
    /// A sum (rps, counts): never NaN from no traffic.
    Sum,
}

/// Wall-clock seconds now, as Prometheus timestamps are.
fn wall_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// How old a sample stamped `ts` is at `now` (both wall-clock seconds), in ms; a sample from
/// the future (a clock ahead of ours) is taken as new.
fn lag_ms(now: f64, ts: f64) -> u64 {
    let ms = (now - ts) * 1000.0;
    if ms.is_finite() && ms > 0.0 {
        ms.min(u64::MAX as f64) as u64
    } else {
        0
    }
}

/// An env's one series as a reading, with its age: none is no data; more than one is
/// invalid, naming how many and the labels they differ in (the query lacks a `sum by`).
fn one_series(
    found: &[Found],
    kind: Kind,
    label: &str,
    env: &str,
    missing: &str,
) -> (Reading, u64) {
    match found {
        [] => (Reading::NoData(missing.to_string()), 0),
        [one] if one.ahead > AHEAD_MAX_MS => (
            Reading::Invalid(format!(
                "stamped {} s in the future: the source's clock is ahead, its age cannot be told",
                one.ahead / 1000
            )),
            0,
        ),
        [one] => (reading(Some(one.value), kind, missing), one.lag),
        many => (Reading::Invalid(many_series(many, label, env)), 0),
    }
}

/// `3 series for env=green: add sum by (env) (instance=a|b|c)`: the labels whose values
/// differ, a few values each.
fn many_series(many: &[Found], label: &str, env: &str) -> String {
    let mut keys: Vec<&String> = many.iter().flat_map(|f| f.labels.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut differ = Vec::new();
    for k in keys {
        let mut values: Vec<&str> = many
            .iter()
            .map(|f| f.labels.get(k).map_or("", String::as_str))
            .collect();
        values.sort_unstable();
        values.dedup();
        if values.len() > 1 {
            // A label's name and values come from the peer: each one short line.
            let shown: Vec<String> = values
                .iter()
                .take(3)
                .map(|v| crate::shared::one_line(v, 40))
                .collect();
            let more = if values.len() > 3 { "|…" } else { "" };
            differ.push(format!(
                "{}={}{more}",
                crate::shared::one_line(k, 40),
                shown.join("|")
            ));
        }
    }
    let mut text = format!(
        "{} series for {label}={env}: add sum by ({label})",
        many.len()
    );
    if !differ.is_empty() {
        let more = if differ.len() > 2 { ", …" } else { "" };
        differ.truncate(2);
        text.push_str(&format!(" ({}{more})", differ.join(", ")));
    }
    text
}

/// A value as a reading: missing is no data, never 0; NaN is no traffic where a ratio or
/// a quantile makes it, invalid elsewhere; an infinity is invalid with what it means.
/// Ranges (negative, over 100 %, over an hour) are checked when the reading is stored.
fn reading(v: Option<f64>, kind: Kind, missing: &str) -> Reading {
    let scale = if kind == Kind::QuantileSeconds {
        1000.0
    } else {
        1.0
    };
    match v {
        None => Reading::NoData(missing.to_string()),
        Some(x) if x.is_nan() && kind != Kind::Sum => {
            Reading::NoData("NaN: no traffic in the window".into())
        }
        Some(x) if x.is_nan() => Reading::Invalid("NaN: a sum is never NaN".into()),
        Some(x) if x == f64::INFINITY && kind == Kind::QuantileSeconds => {
            Reading::Invalid("+Inf: above the highest bucket".into())
        }
        Some(x) if x.is_infinite() => Reading::Invalid(non_finite(x).into()),
        // Finite in seconds but not in ms (1e308 s): absurd, said in the source's unit.
        Some(x) if !(x * scale).is_finite() => {
            Reading::Invalid(format!("> 1 h ({} s)", crate::core::value::num(x)))
        }
        Some(x) => Reading::Value(x * scale),
    }
}

/// The innermost cause of an error: "Connection refused (os error 111)", without the
/// request's URL and query.
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

/// The credentials a Prometheus source sends: the whole `Authorization` value and its
/// credential.
fn secrets_of(settings: &PrometheusSettings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = settings
        .headers
        .get(reqwest::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        out.push(v.to_string());
        if let Some((_, token)) = v.split_once(' ') {
            out.push(token.to_string());
        }
    }
    out
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
                    // Not reqwest's own text: it quotes the whole query URL.
                    Some(r) => crate::shared::innermost(r),
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
        format!(
            "prometheus {}",
            crate::shared::redact_url(&self.settings.url)
        )
    }

    /// Every query has a default template: all of these come from Prometheus.
    fn provides(&self) -> Provided {
        Provided {
            health: false,
            ..Provided::ALL
        }
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
        let t = &self.settings.templates;
        let (err, p99, rps, req, errs) = futures::join!(
            self.both(&t.error_rate, Kind::Ratio),
            self.both(&t.p99, Kind::QuantileSeconds),
            self.both(&t.rps, Kind::Sum),
            self.both(&t.requests, Kind::Sum),
            self.both(&t.errors, Kind::Sum),
        );
        let extras = futures::future::join_all(
            self.settings
                .extra
                .iter()
                .map(|x| self.both(&x.query, Kind::Ratio)),
        )
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
        type Answer = Result<EnvPair<(Reading, u64)>, QueryError>;
        let pick = |r: &Answer, env: Env| match r {
            Ok(pair) => pair.get(env).clone(),
            Err(e) => (Reading::Error(e.to_string()), 0),
        };
        Ok(EnvPair::new(Env::Blue, Env::Green).map(|_, &env| {
            let [e, p, r, n, x] = [&err, &p99, &rps, &req, &errs].map(|a| pick(a, env));
            let metrics: Vec<(String, (Reading, u64))> = self
                .settings
                .extra
                .iter()
                .zip(&extras)
                .map(|(q, a)| (q.name.clone(), pick(a, env)))
                .collect();
            EnvPoll {
                lags: Lags {
                    error_rate: e.1,
                    p99_ms: p.1,
                    rps: r.1,
                    requests: n.1,
                    errors: x.1,
                    metrics: metrics.iter().map(|(k, (_, l))| (k.clone(), *l)).collect(),
                },
                error_rate: Some(e.0),
                p99_ms: Some(p.0),
                rps: Some(r.0),
                requests: Some(n.0),
                errors: Some(x.0),
                metrics: metrics.into_iter().map(|(k, (v, _))| (k, v)).collect(),
                ..EnvPoll::default()
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_never_turn_into_zero() {
        let cases: [(Option<f64>, Kind, Reading); 8] = [
            (
                Some(1e308),
                Kind::QuantileSeconds,
                Reading::Invalid("> 1 h (1e308 s)".into()),
            ),
            (Some(0.5), Kind::QuantileSeconds, Reading::Value(500.0)),
            (Some(0.5), Kind::Ratio, Reading::Value(0.5)),
            (
                Some(f64::NAN),
                Kind::Ratio,
                Reading::NoData("NaN: no traffic in the window".into()),
            ),
            (
                Some(f64::NAN),
                Kind::Sum,
                Reading::Invalid("NaN: a sum is never NaN".into()),
            ),
            (
                Some(f64::INFINITY),
                Kind::QuantileSeconds,
                Reading::Invalid("+Inf: above the highest bucket".into()),
            ),
            (
                Some(f64::NEG_INFINITY),
                Kind::Sum,
                Reading::Invalid("-Inf".into()),
            ),
            (None, Kind::Sum, Reading::NoData("empty result".into())),
        ];
        for (v, kind, want) in cases {
            assert_eq!(reading(v, kind, "empty result"), want, "{v:?} {kind:?}");
        }
    }

    #[test]
    fn several_series_for_one_env_is_invalid_and_names_the_labels() {
        let series = |pairs: &[(&str, &str)], value: f64| Found {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            value,
            lag: 0,
            ahead: 0,
        };
        let five: Vec<Found> = (0..5)
            .map(|i| {
                let inst = format!("10.0.0.{i}:80");
                series(
                    &[("env", "green"), ("instance", &inst)],
                    f64::from(i) / 10.0,
                )
            })
            .collect();
        let (r, _) = one_series(&five, Kind::Ratio, "env", "green", "");
        assert_eq!(
            r,
            Reading::Invalid(
                "5 series for env=green: add sum by (env) (instance=10.0.0.0:80|10.0.0.1:80|10.0.0.2:80|…)"
                    .into()
            )
        );
        let two = [
            series(&[("env", "green"), ("code", "500"), ("job", "a")], 1.0),
            series(&[("env", "green"), ("code", "502"), ("job", "a")], 1.0),
        ];
        assert_eq!(
            many_series(&two, "env", "green"),
            "2 series for env=green: add sum by (env) (code=500|502)"
        );
        let one = [series(&[("env", "green")], 0.25)];
        assert_eq!(
            one_series(&one, Kind::Ratio, "env", "green", "").0,
            Reading::Value(0.25)
        );
    }

    #[test]
    fn a_samples_age_is_from_its_own_timestamp() {
        assert_eq!(lag_ms(1000.0, 1000.0), 0);
        assert_eq!(lag_ms(1000.0, 999.5), 500);
        assert_eq!(lag_ms(100_000.0, 100_000.0 - 86_400.0), 86_400_000);
        assert_eq!(
            lag_ms(1000.0, 1010.0),
            0,
            "a clock ahead is not a negative age"
        );
        assert_eq!(lag_ms(1000.0, f64::NAN), 0);
    }

    #[test]
    fn a_sample_stamped_an_hour_ahead_is_not_believed() {
        let at = |ahead: u64| Found {
            labels: Labels::new(),
            value: 0.1,
            lag: 0,
            ahead,
        };
        let (r, _) = one_series(&[at(3_600_000)], Kind::Ratio, "env", "green", "none");
        assert!(
            matches!(&r, Reading::Invalid(why) if why.contains("3600 s in the future")),
            "{r:?}"
        );
        let (r, _) = one_series(&[at(2_000)], Kind::Ratio, "env", "green", "none");
        assert_eq!(r, Reading::Value(0.1), "a little skew is believed");
    }

    #[test]
    fn labels_are_escaped_in_the_regex() {
        assert_eq!(regex_escape("blue"), "blue");
        assert_eq!(regex_escape("v1.2+x"), "v1\\.2\\+x");
    }
}
