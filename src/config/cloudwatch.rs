//! `[cloudwatch]`: requests, 5xx errors and p99 from CloudWatch for teams without
//! Prometheus. With an ALB backend the defaults are the ALB's own metrics for its two
//! target groups (dimensions from the backend's ARNs); any metric may be given instead,
//! its dimension values templated with `{env}` (each env's label).

use super::backend::BackendConfig;
use super::bounds;
use super::envs::EnvConfig;
use super::file::{CloudWatchFile, CwMetricFile};
use crate::backends::alb::AlbTarget;
use crate::backends::cloudwatch::{CloudWatchSettings, CwMetric, alb_metrics, dimension_of_arn};
use crate::core::EnvPair;
use std::time::Duration;

/// An ALB dimension value (`app/checkout/50dc…`, `targetgroup/checkout-blue/73e2…`): no
/// spaces or control characters.
fn dimension_value(key: &str, v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 1024 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "key `cloudwatch.{key}`: value {}: expected a CloudWatch dimension value such as \"app/checkout/50dc6c495c0c9188\" or \"targetgroup/checkout-blue/73e2d6bc24d8a067\"",
            bounds::echo(v)
        ));
    }
    Ok(())
}

fn metric(key: &str, m: CwMetricFile) -> Result<CwMetric, String> {
    let word = |k: &str, v: &str, max: usize| {
        if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
            Err(format!(
                "key `cloudwatch.{key}.{k}`: value {}: expected 1 to {max} characters",
                bounds::echo(v)
            ))
        } else {
            Ok(())
        }
    };
    word("namespace", &m.namespace, 255)?;
    word("metric", &m.metric, 255)?;
    let stat_ok = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"]
        .contains(&m.stat.as_str())
        || m.stat
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| p > 0.0 && p < 100.0);
    if !stat_ok {
        return Err(format!(
            "key `cloudwatch.{key}.stat`: value {}: expected Sum, Average, Minimum, Maximum, SampleCount or a percentile such as \"p99\"",
            bounds::echo(&m.stat)
        ));
    }
    if m.dimensions.len() > 30 {
        return Err(format!(
            "key `cloudwatch.{key}.dimensions`: {} dimensions: expected at most 30",
            m.dimensions.len()
        ));
    }
    for (k, v) in &m.dimensions {
        word(&format!("dimensions.{k}"), v, 1024)?;
    }
    Ok(CwMetric {
        namespace: m.namespace,
        metric: m.metric,
        stat: m.stat,
        dimensions: m.dimensions.into_iter().collect(),
    })
}

/// The ALB's own metrics, their dimensions from the backend's ARNs unless given.
fn alb_defaults(
    c: &CloudWatchFile,
    backend: &BackendConfig,
) -> Result<(CwMetric, CwMetric, CwMetric, EnvPair<String>), String> {
    let BackendConfig::Alb(a) = backend else {
        return Err(format!(
            "key `cloudwatch.requests`: not given, and the `{}` backend has no default CloudWatch metrics (only `alb` has): expected [cloudwatch.requests] and [cloudwatch.errors] tables (namespace, metric, stat, dimensions with {{env}})",
            backend.kind()
        ));
    };
    let arn = match &a.target {
        AlbTarget::Listener(arn) | AlbTarget::Rule(arn) => arn,
    };
    let lb = match &c.load_balancer {
        Some(lb) => lb.clone(),
        None => dimension_of_arn(arn).ok_or_else(|| {
            format!(
                "key `cloudwatch.load-balancer`: not given, and {arn:?} is no listener or rule ARN to find it in: expected the LoadBalancer dimension, such as \"app/checkout/50dc6c495c0c9188\""
            )
        })?,
    };
    let group = |key: &str, given: &Option<String>, arn: &str| {
        match given {
        Some(g) => Ok(g.clone()),
        None => dimension_of_arn(arn).ok_or_else(|| {
            format!(
                "key `cloudwatch.{key}`: not given, and the backend's target group {arn:?} is no ARN to find it in: expected the TargetGroup dimension, such as \"targetgroup/checkout-blue/73e2d6bc24d8a067\""
            )
        }),
    }
    };
    let groups = EnvPair::new(
        group("blue-target-group", &c.blue_target_group, &a.groups.blue)?,
        group("green-target-group", &c.green_target_group, &a.groups.green)?,
    );
    Ok(alb_metrics(&lb, &groups))
}

pub(super) fn cloudwatch_settings(
    c: CloudWatchFile,
    backend: &BackendConfig,
    envs: &EnvPair<EnvConfig>,
    poll_timeout: Duration,
) -> Result<CloudWatchSettings, String> {
    super::http::aws_place("cloudwatch", c.region.as_deref(), c.endpoint_url.as_deref())?;
    if let Some(lb) = &c.load_balancer {
        dimension_value("load-balancer", lb)?;
    }
    for (key, v) in [
        ("blue-target-group", &c.blue_target_group),
        ("green-target-group", &c.green_target_group),
    ] {
        if let Some(v) = v {
            dimension_value(key, v)?;
        }
    }
    let period = c.period.unwrap_or(Duration::from_secs(60));
    if period.as_secs() < 60 || period.as_secs() > 3600 || !period.as_secs().is_multiple_of(60) {
        return Err(format!(
            "key `cloudwatch.period`: value {}: expected whole minutes from \"1m\" to \"1h\" (CloudWatch's standard resolution)",
            bounds::dur(period)
        ));
    }
    let timeout = bounds::duration(
        "cloudwatch.timeout",
        c.timeout,
        poll_timeout.min(Duration::from_secs(5)),
        (100 * bounds::MS, poll_timeout),
        "one GetMetricData call; at most `poll-timeout`",
    )?;
    let p99_ms_per_unit = match c.p99_unit.as_deref() {
        None | Some("seconds") => 1000.0,
        Some("milliseconds") => 1.0,
        Some(other) => {
            return Err(format!(
                "key `cloudwatch.p99-unit`: value {}: expected \"seconds\" or \"milliseconds\"",
                bounds::echo(other)
            ));
        }
    };
    let custom = c.requests.is_some() || c.errors.is_some() || c.p99.is_some();
    let (requests, errors, p99, labels, absent_zero) = if custom {
        let need = |key: &str, m: Option<CwMetricFile>| {
            m.ok_or_else(|| {
                format!(
                    "key `cloudwatch.{key}`: missing: expected a table (namespace, metric, stat, dimensions with {{env}}) beside the other metrics given"
                )
            })
            .and_then(|m| metric(key, m))
        };
        let requests = need("requests", c.requests)?;
        let errors = need("errors", c.errors)?;
        let p99 = c.p99.map(|m| metric("p99", m)).transpose()?;
        let labels = envs.map(|_, e| e.label.clone());
        (
            requests,
            errors,
            p99,
            labels,
            c.absent_errors_are_zero.unwrap_or(false),
        )
    } else {
        let (r, e, p, groups) = alb_defaults(&c, backend)?;
        (
            r,
            e,
            Some(p),
            groups,
            c.absent_errors_are_zero.unwrap_or(true),
        )
    };
    // Region, profile and endpoint default to the ALB backend's.
    let (region, profile, endpoint_url) = match backend {
        BackendConfig::Alb(a) => (
            c.region.or_else(|| a.region.clone()),
            c.profile.or_else(|| a.profile.clone()),
            c.endpoint_url.or_else(|| a.endpoint_url.clone()),
        ),
        _ => (c.region, c.profile, c.endpoint_url),
    };
    Ok(CloudWatchSettings {
        region,
        profile,
        endpoint_url,
        period,
        timeout,
        requests,
        errors,
        p99,
        p99_ms_per_unit,
        absent_errors_are_zero: absent_zero,
        labels,
        static_credentials: None,
    })
}
