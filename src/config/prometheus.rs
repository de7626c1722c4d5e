//! `[prometheus]` and its `[[prometheus.queries]]`: the server, its auth headers, the query
//! templates, and the extra metrics (each shown on screen, and a guardrail rule when it has
//! `max-change`).

use super::bounds;
use super::envs::EnvConfig;
use super::file::{PrometheusFile, QueryFile};
use super::http::{header, secret};
use crate::core::{Bad, EnvPair, MetricInfo, MetricRule};
use crate::shared::base64;
use crate::signals::prometheus::{ExtraQuery, PrometheusSettings, Templates};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use std::time::Duration;

pub(super) type PromParts = (Option<PrometheusSettings>, Vec<MetricRule>, Vec<MetricInfo>);

/// The longest query a config may hold (Prometheus takes it in a URL).
const QUERY_MAX: usize = 16 * 1024;

pub(super) fn prometheus_settings(
    p: PrometheusFile,
    envs: &EnvPair<EnvConfig>,
    timeout: Duration,
) -> Result<PromParts, String> {
    super::http::http_url("prometheus.url", &p.url, "an http:// or https:// URL")?;
    crate::shared::register_url_secrets(&p.url, false);
    let headers = headers(&p)?;
    for (key, v) in [
        ("error-rate", &p.error_rate),
        ("p99", &p.p99),
        ("rps", &p.rps),
        ("requests", &p.requests),
        ("errors", &p.errors),
    ] {
        if let Some(q) = v
            && (q.trim().is_empty() || q.len() > QUERY_MAX)
        {
            return Err(format!(
                "key `prometheus.{key}`: value {}: expected a PromQL query of at most {QUERY_MAX} bytes (leave the key out for the default)",
                bounds::echo(q)
            ));
        }
    }
    let window = p.window.clone().unwrap_or_else(|| "1m".into());
    match humantime::parse_duration(&window) {
        Ok(d)
            if (bounds::SECOND..=bounds::DAY).contains(&d)
                && window.chars().all(|c| c.is_ascii_alphanumeric()) => {}
        _ => {
            return Err(format!(
                "key `prometheus.window`: value {}: expected a Prometheus range from \"1s\" to \"1d\", such as \"1m\" (the `{{window}}` of the queries)",
                bounds::echo(&window)
            ));
        }
    }
    let poll_timeout = timeout;
    let timeout = bounds::duration(
        "prometheus.timeout",
        p.timeout,
        timeout,
        (100 * bounds::MS, 10 * bounds::MINUTE),
        "a query slower than this is a failure",
    )?;
    if timeout > poll_timeout {
        return Err(format!(
            "key `prometheus.timeout`: value {}: expected at most `poll-timeout` ({}): every poll is cut there, so a longer query timeout never applies; raise `poll-timeout` too",
            bounds::dur(timeout),
            bounds::dur(poll_timeout)
        ));
    }
    let d = Templates::default();
    let templates = Templates {
        error_rate: p.error_rate.unwrap_or(d.error_rate),
        p99: p.p99.unwrap_or(d.p99),
        rps: p.rps.unwrap_or(d.rps),
        requests: p.requests.unwrap_or(d.requests),
        errors: p.errors.unwrap_or(d.errors),
    };
    let (rules, infos, extra) = queries(p.queries)?;
    if let Some(l) = &p.env_label {
        // Prometheus's rule for a label name.
        let ok = l
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && l.len() <= 100;
        if !ok {
            return Err(format!(
                "key `prometheus.env-label`: value {}: expected a Prometheus label name (a letter or _, then letters, digits or _)",
                bounds::echo(l)
            ));
        }
    }
    let settings = PrometheusSettings {
        url: p.url.trim_end_matches('/').to_string(),
        templates,
        extra,
        labels: envs.map(|_, e| e.label.clone()),
        env_label: p.env_label.unwrap_or_else(|| "env".into()),
        window,
        timeout,
        headers,
        max_body: max_body_mb(p.max_body_mb)?,
    };
    Ok((Some(settings), rules, infos))
}

/// `prometheus.max-body-mb`: 1 to 256, 4 by default.
fn max_body_mb(v: Option<i64>) -> Result<usize, String> {
    match v {
        None => Ok(crate::signals::prometheus::DEFAULT_MAX_BODY),
        Some(mb @ 1..=256) => Ok(mb as usize * 1024 * 1024),
        Some(other) => Err(format!(
            "key `prometheus.max-body-mb`: value {other}: expected 1 to 256 (the largest answer read, in MB; a bigger one is an error)"
        )),
    }
}

/// The headers sent with every query: `headers`, then a bearer token or basic auth.
fn headers(p: &PrometheusFile) -> Result<HeaderMap, String> {
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
        let encoded = base64(format!("{user}:{pass}").as_bytes());
        crate::shared::register_secret(&encoded);
        let basic = format!("Basic {encoded}");
        let (_, v) = header("prometheus.basic-auth-user", "authorization", &basic, true)?;
        headers.insert(AUTHORIZATION, v);
    }
    Ok(headers)
}

type QueryParts = (Vec<MetricRule>, Vec<MetricInfo>, Vec<ExtraQuery>);

/// `[[prometheus.queries]]`, in order: the guardrail rules (queries with `max-change`), the
/// metrics as the screen shows them, and the queries to run.
fn queries(queries: Vec<QueryFile>) -> Result<QueryParts, String> {
    let mut rules = Vec::new();
    let mut infos = Vec::new();
    let mut extra = Vec::new();
    for (i, q) in queries.into_iter().enumerate() {
        let key = format!("prometheus.queries[{i}]");
        super::bounds::text(&format!("{key}.name"), &q.name, 40, "the metric's name")?;
        if infos.iter().any(|m: &MetricInfo| m.name == q.name) {
            return Err(format!(
                "key `{key}.name`: value {}: expected a unique name (another query has it)",
                super::bounds::echo(&q.name)
            ));
        }
        if !q.unit.is_empty() {
            super::bounds::text(
                &format!("{key}.unit"),
                &q.unit,
                12,
                "a unit to show after the value",
            )?;
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
            if !(c > 0.0 && c <= 100.0) {
                return Err(format!(
                    "key `{key}.max-change`: value {c}: expected a fraction above 0 and at most 100 (0.2 = 20 %)"
                ));
            }
            rules.push(MetricRule {
                name: q.name.clone(),
                bad,
                max_change: c,
            });
        }
        if q.query.trim().is_empty() || q.query.len() > QUERY_MAX {
            return Err(format!(
                "key `{key}.query`: value {}: expected a PromQL query of at most {QUERY_MAX} bytes",
                bounds::echo(&q.query)
            ));
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
    Ok((rules, infos, extra))
}

/// The signal sections read together: the envs' health probes, Prometheus and guardrails.
#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::tests::MIN;
    use crate::core::NoDataPolicy;

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
min-requests = 200
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
        assert_eq!(c.guardrails.min_requests, Some(200));
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
            (
                "[guardrails]\nmin-requests = 0\n",
                "key `guardrails.min-requests`: value 0: expected a whole number of requests from 1 to 100000000",
            ),
            (
                "[guardrails]\nmin-requests = -5\n",
                "key `guardrails.min-requests`: value -5",
            ),
            (
                "[guardrails]\nmin-requests = 1000000000\n",
                "value 1000000000: expected a whole number",
            ),
        ];
        for (text, want) in cases {
            let e = Config::parse(&format!("{text}{MIN}"), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} should name {want:?}");
        }
    }
}
