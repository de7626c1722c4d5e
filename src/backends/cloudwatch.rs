//! CloudWatch as a signal source, for AWS teams without Prometheus: requests, 5xx errors and
//! p99 latency of both envs from **one** `GetMetricData` call per poll (six queries). By
//! default an ALB's own metrics (`AWS/ApplicationELB`: `RequestCount`,
//! `HTTPCode_Target_5XX_Count`, `TargetResponseTime` p99, per target group); any metric with
//! `{env}` in its dimensions otherwise.
//!
//! CloudWatch has one-minute resolution (or the configured period) and lags: a poll asks
//! for whole periods that have ended (never the minute still filling, whose rate would be
//! low), takes each env's latest point, and says how old it is (the sample's lag) and
//! when the data goes stale (three periods plus CloudWatch's publishing delay).

use crate::core::signal::{EnvPoll, Lags, Reading, SignalSource};
use crate::core::{Env, EnvPair, Millis, Provided};
use crate::shared::SignalError;
use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy,
};
use aws_smithy_types::DateTime;
use std::time::Duration;

/// How many periods back a poll looks for each env's latest point.
const LOOKBACK: i64 = 5;
/// CloudWatch publishes a period's datapoint this long after it ends, at worst usually.
const PUBLISH_DELAY_MS: Millis = 3 * 60_000;

/// One CloudWatch metric, its dimension values templated with `{env}`.
#[derive(Clone, Debug, PartialEq)]
pub struct CwMetric {
    pub namespace: String,
    pub metric: String,
    /// `Sum`, `Average`, `p99`, …
    pub stat: String,
    pub dimensions: Vec<(String, String)>,
}

impl CwMetric {
    fn for_env(&self, label: &str) -> Metric {
        Metric::builder()
            .namespace(&self.namespace)
            .metric_name(&self.metric)
            .set_dimensions(Some(
                self.dimensions
                    .iter()
                    .map(|(k, v)| {
                        Dimension::builder()
                            .name(k)
                            .value(v.replace("{env}", label))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    /// For messages: `AWS/ApplicationELB RequestCount Sum`.
    pub fn words(&self) -> String {
        format!("{} {} {}", self.namespace, self.metric, self.stat)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CloudWatchSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The metrics' period: a multiple of 60 s.
    pub period: Duration,
    pub timeout: Duration,
    pub requests: CwMetric,
    pub errors: CwMetric,
    /// `None`: nothing gives p99.
    pub p99: Option<CwMetric>,
    /// The p99 metric's unit: milliseconds per unit (1000 for seconds).
    pub p99_ms_per_unit: f64,
    /// Whether a period with requests and no errors datapoint has 0 errors (the ALB publishes
    /// `HTTPCode_Target_5XX_Count` only when it is not zero); else that is no data.
    pub absent_errors_are_zero: bool,
    /// Each env's `{env}`.
    pub labels: EnvPair<String>,
    /// Static credentials, for tests against a loopback server; never from the config file.
    pub static_credentials: Option<(String, String)>,
}

/// The ALB's own metrics for the target groups and load balancer named by these dimension
/// values (`targetgroup/checkout-blue/73e2…`, `app/checkout/50dc…`).
pub fn alb_metrics(
    load_balancer: &str,
    groups: &EnvPair<String>,
) -> (CwMetric, CwMetric, CwMetric, EnvPair<String>) {
    let metric = |name: &str, stat: &str| CwMetric {
        namespace: "AWS/ApplicationELB".into(),
        metric: name.into(),
        stat: stat.into(),
        dimensions: vec![
            ("TargetGroup".into(), "{env}".into()),
            ("LoadBalancer".into(), load_balancer.into()),
        ],
    };
    (
        metric("RequestCount", "Sum"),
        metric("HTTPCode_Target_5XX_Count", "Sum"),
        metric("TargetResponseTime", "p99"),
        groups.clone(),
    )
}

/// The dimension value CloudWatch knows an ALB resource by, from its ARN: a target group
/// (`…:targetgroup/NAME/ID` → `targetgroup/NAME/ID`) or the load balancer of a listener or
/// rule (`…:listener/app/NAME/ID/L` → `app/NAME/ID`).
pub fn dimension_of_arn(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let parts: Vec<&str> = resource.split('/').collect();
    match parts.as_slice() {
        ["targetgroup", name, id] => Some(format!("targetgroup/{name}/{id}")),
        ["listener" | "listener-rule", kind, name, id, ..] => Some(format!("{kind}/{name}/{id}")),
        ["loadbalancer", kind, name, id] => Some(format!("{kind}/{name}/{id}")),
        _ => None,
    }
}

pub struct CloudWatchSource {
    s: CloudWatchSettings,
    client: Client,
    region: String,
}

/// One env's latest complete period, as read.
#[derive(Clone, Debug, PartialEq)]
struct Point {
    /// The period's start (unix seconds).
    at: i64,
    requests: f64,
    errors: Option<f64>,
    p99: Option<f64>,
}

/// The time range a poll at `now_s` asks for: the last [`LOOKBACK`] whole periods, ending
/// where the period still filling begins (its partial count would read as a low rate).
pub fn window(now_s: i64, period_s: i64) -> (i64, i64) {
    let end = now_s - now_s.rem_euclid(period_s);
    (end - LOOKBACK * period_s, end)
}

/// A period's start as the local wall clock says it (`14:01`).
fn local_hhmm(unix_s: i64) -> String {
    chrono::DateTime::from_timestamp(unix_s, 0).map_or_else(
        || "?".into(),
        |t| t.with_timezone(&chrono::Local).format("%H:%M").to_string(),
    )
}

fn series(results: &[MetricDataResult], id: &str) -> Vec<(i64, f64)> {
    results
        .iter()
        .filter(|r| r.id() == Some(id))
        .flat_map(|r| {
            r.timestamps()
                .iter()
                .map(DateTime::secs)
                .zip(r.values().iter().copied())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The latest period with a requests datapoint, and the errors and p99 of that period.
fn latest(results: &[MetricDataResult], env: Env) -> Option<Point> {
    let requests = series(results, &format!("req_{env}"));
    let (at, n) = requests.iter().copied().max_by_key(|(t, _)| *t)?;
    let at_t = |id: String| {
        series(results, &id)
            .into_iter()
            .find(|(t, _)| *t == at)
            .map(|(_, v)| v)
    };
    Some(Point {
        at,
        requests: n,
        errors: at_t(format!("err_{env}")),
        p99: at_t(format!("p99_{env}")),
    })
}

impl CloudWatchSource {
    pub async fn connect(s: CloudWatchSettings) -> CloudWatchSource {
        let (sdk, region) = super::aws::sdk_config(&super::aws::Access::of(
            (
                s.region.as_deref(),
                s.profile.as_deref(),
                s.endpoint_url.as_deref(),
            ),
            s.static_credentials.as_ref(),
            s.timeout,
            (2, 2),
        ))
        .await;
        CloudWatchSource {
            client: Client::new(&sdk),
            s,
            region,
        }
    }

    fn period_s(&self) -> i64 {
        i64::try_from(self.s.period.as_secs()).unwrap_or(60).max(60)
    }

    /// The six queries of one poll: requests, errors and p99 of each env.
    fn queries(&self) -> Vec<MetricDataQuery> {
        let period = i32::try_from(self.period_s()).unwrap_or(60);
        let mut out = Vec::new();
        for env in Env::ALL {
            let label = self.s.labels.get(env);
            let metrics = [
                ("req", Some(&self.s.requests)),
                ("err", Some(&self.s.errors)),
                ("p99", self.s.p99.as_ref()),
            ];
            for (id, m) in metrics {
                let Some(m) = m else { continue };
                out.push(
                    MetricDataQuery::builder()
                        .id(format!("{id}_{env}"))
                        .metric_stat(
                            MetricStat::builder()
                                .metric(m.for_env(label))
                                .period(period)
                                .stat(&m.stat)
                                .build(),
                        )
                        .return_data(true)
                        .build(),
                );
            }
        }
        out
    }

    /// Every query's points over the last whole periods, from one `GetMetricData`.
    async fn fetch(&self, now_s: i64) -> Result<Vec<MetricDataResult>, String> {
        let (start, end) = window(now_s, self.period_s());
        let mut results = Vec::new();
        let mut token: Option<String> = None;
        // Six queries of five points fit one page; a second is followed at most once.
        for _ in 0..2 {
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(self.queries()))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .scan_by(ScanBy::TimestampDescending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    super::aws::error("the CloudWatch API", "GetMetricData", &self.target(), e)
                        .to_string()
                })?;
            results.extend(out.metric_data_results().iter().cloned());
            token = out.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        Ok(results)
    }

    fn target(&self) -> String {
        format!(
            "CloudWatch {} ({})",
            self.s
                .endpoint_url
                .as_deref()
                .map_or_else(String::new, |u| format!("{u} ")),
            self.region
        )
        .replace("  ", " ")
    }

    /// One env's poll from its latest point (or why there is none).
    fn env_poll(&self, point: Option<Point>, now_ms: i64) -> EnvPoll {
        let period = self.period_s();
        let stale_after = u64::try_from(period).unwrap_or(60) * 3_000 + PUBLISH_DELAY_MS;
        let Some(p) = point else {
            let why = format!(
                "no {} datapoint in the last {} periods",
                self.s.requests.words(),
                LOOKBACK
            );
            let none = || Some(Reading::NoData(why.clone()));
            return EnvPoll {
                error_rate: none(),
                p99_ms: self.s.p99.as_ref().and_then(|_| none()),
                rps: none(),
                requests: none(),
                errors: none(),
                stale_after: Some(stale_after),
                ..EnvPoll::default()
            };
        };
        let ended_ms = (p.at + period) * 1000;
        let lag = u64::try_from(now_ms.saturating_sub(ended_ms)).unwrap_or(0);
        let hhmm = local_hhmm(p.at);
        let errors = p.errors.or(self.s.absent_errors_are_zero.then_some(0.0));
        let idle = format!("no requests in the period at {hhmm}");
        let error_rate = match errors {
            _ if p.requests <= 0.0 => Reading::NoData(idle.clone()),
            Some(e) => Reading::Value(e / p.requests),
            None => Reading::NoData(format!("no {} datapoint at {hhmm}", self.s.errors.words())),
        };
        let p99 = self.s.p99.as_ref().map(|m| match p.p99 {
            _ if p.requests <= 0.0 => Reading::NoData(idle.clone()),
            Some(v) => Reading::Value(v * self.s.p99_ms_per_unit),
            None => Reading::NoData(format!("no {} datapoint at {hhmm}", m.words())),
        });
        EnvPoll {
            error_rate: Some(error_rate),
            p99_ms: p99,
            rps: Some(Reading::Value(p.requests / period as f64)),
            requests: Some(Reading::Value(p.requests)),
            errors: Some(errors.map_or_else(
                || Reading::NoData("no errors datapoint".into()),
                Reading::Value,
            )),
            lags: Lags {
                error_rate: lag,
                p99_ms: lag,
                rps: lag,
                requests: lag,
                errors: lag,
                metrics: Vec::new(),
            },
            stale_after: Some(stale_after),
            note: Some(format!(
                "CloudWatch {}, latest {hhmm}",
                if period == 60 {
                    "1-min".to_string()
                } else {
                    format!("{}-min", period / 60)
                }
            )),
            ..EnvPoll::default()
        }
    }
}

#[async_trait]
impl SignalSource for CloudWatchSource {
    fn name(&self) -> String {
        "cloudwatch".into()
    }

    fn provides(&self) -> Provided {
        Provided {
            health: false,
            error_rate: true,
            p99: self.s.p99.is_some(),
            rps: true,
            counts: true,
        }
    }

    async fn poll(&self) -> Result<EnvPair<EnvPoll>, SignalError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let results = self
            .fetch(now_ms / 1000)
            .await
            .map_err(SignalError::Failed)?;
        Ok(EnvPair::new(
            self.env_poll(latest(&results, Env::Blue), now_ms),
            self.env_poll(latest(&results, Env::Green), now_ms),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|(t, _)| DateTime::from_secs(*t))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .build()
    }

    fn settings(absent_zero: bool) -> CloudWatchSettings {
        let (requests, errors, p99, labels) = alb_metrics(
            "app/checkout/1",
            &EnvPair::new("targetgroup/b/1".into(), "targetgroup/g/2".into()),
        );
        CloudWatchSettings {
            region: Some("eu-west-1".into()),
            profile: None,
            endpoint_url: None,
            period: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
            requests,
            errors,
            p99: Some(p99),
            p99_ms_per_unit: 1000.0,
            absent_errors_are_zero: absent_zero,
            labels,
            static_credentials: None,
        }
    }

    #[test]
    fn a_poll_asks_for_whole_periods_only() {
        // 12:03:40: the minute 12:03 is still filling; the last whole one ends at 12:03.
        let now = 12 * 3600 + 3 * 60 + 40;
        assert_eq!(window(now, 60), (12 * 3600 - 2 * 60, 12 * 3600 + 3 * 60));
        assert_eq!(window(12 * 3600, 300), (12 * 3600 - 25 * 60, 12 * 3600));
    }

    #[tokio::test]
    async fn each_env_reads_its_latest_period_and_says_how_old_it_is() {
        let src = CloudWatchSource::connect(settings(true)).await;
        let results = vec![
            result("req_blue", &[(660, 600.0), (600, 580.0)]),
            result("err_blue", &[(600, 3.0)]),
            result("p99_blue", &[(660, 0.25), (600, 0.2)]),
            result("req_green", &[(600, 0.0)]),
        ];
        let now_ms = 800_000;
        let blue = src.env_poll(latest(&results, Env::Blue), now_ms);
        let v = |r: &Option<Reading>| r.as_ref().and_then(Reading::value);
        // 12:11 had no 5xx datapoint: the ALB publishes it only when not zero.
        assert_eq!(v(&blue.error_rate), Some(0.0));
        assert_eq!(v(&blue.rps), Some(10.0));
        assert_eq!(v(&blue.p99_ms), Some(250.0));
        assert_eq!(
            blue.lags.error_rate,
            800_000 - 720_000,
            "the period ended at 720 s"
        );
        assert_eq!(blue.stale_after, Some(3 * 60_000 + PUBLISH_DELAY_MS));
        assert!(
            blue.note
                .as_deref()
                .is_some_and(|n| n.starts_with("CloudWatch 1-min, latest "))
        );
        // Green: a period without requests is no data, never 0 %.
        let green = src.env_poll(latest(&results, Env::Green), now_ms);
        assert!(
            matches!(green.error_rate, Some(Reading::NoData(_))),
            "{green:?}"
        );
        assert!(
            matches!(green.p99_ms, Some(Reading::NoData(_))),
            "{green:?}"
        );
        // Nothing at all for an env: no data, said with the metric.
        let none = src.env_poll(latest(&[], Env::Blue), now_ms);
        assert!(
            matches!(&none.rps, Some(Reading::NoData(w)) if w.contains("AWS/ApplicationELB RequestCount Sum")),
            "{none:?}"
        );
        // A custom errors metric with no datapoint is no data, not zero.
        let src = CloudWatchSource::connect(settings(false)).await;
        let blue = src.env_poll(latest(&results, Env::Blue), now_ms);
        assert!(
            matches!(blue.error_rate, Some(Reading::NoData(_))),
            "{blue:?}"
        );
    }

    #[test]
    fn alb_arns_give_their_cloudwatch_dimensions() {
        assert_eq!(
            dimension_of_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-blue/73e2d6bc24d8a067"
            )
            .as_deref(),
            Some("targetgroup/checkout-blue/73e2d6bc24d8a067")
        );
        assert_eq!(
            dimension_of_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2"
            )
            .as_deref(),
            Some("app/checkout/50dc6c495c0c9188")
        );
        assert_eq!(
            dimension_of_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            )
            .as_deref(),
            Some("app/checkout/50dc6c495c0c9188")
        );
        assert_eq!(dimension_of_arn("checkout-blue"), None);
    }
}
