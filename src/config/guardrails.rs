//! `[guardrails]`: the thresholds a candidate must stay within, how long a breach must
//! last, what no data means, and whether to roll back by itself.

use super::bounds;
use super::file::GuardrailsFile;
use crate::core::{Guardrails, MetricRule, NoDataPolicy};
use std::time::Duration;

/// The most `guardrails.min-requests` may ask for: more than any window holds.
pub const MAX_MIN_REQUESTS: i64 = 100_000_000;

/// `guardrails.auto-rollback`: "off" (the default) or how long a breach lasts before the
/// cockpit rolls back by itself.
pub(super) fn auto_rollback(value: Option<&str>) -> Result<Option<Duration>, String> {
    match value {
        None | Some("off") => Ok(None),
        Some(s) => match humantime::parse_duration(s) {
            Ok(d) if (bounds::SECOND..=bounds::HOUR).contains(&d) => Ok(Some(d)),
            _ => Err(format!(
                "key `guardrails.auto-rollback`: value {}: expected \"off\" or a duration of sustained breach from \"1s\" to \"1h\", such as \"30s\"",
                bounds::echo(s)
            )),
        },
    }
}

/// The guardrails from their table, with the metric rules of `[[prometheus.queries]]`.
pub(super) fn guardrails(
    g: GuardrailsFile,
    metrics: Vec<MetricRule>,
) -> Result<Guardrails, String> {
    for (key, v) in [
        ("max-error-rate", g.max_error_rate),
        ("max-error-rate-delta", g.max_error_rate_delta),
    ] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err(format!(
                "key `guardrails.{key}`: value {v}: expected a fraction from 0 to 1 (0.01 = 1 %)"
            ));
        }
    }
    if let Some(r) = g.max_p99_ratio
        && !(r > 1.0 && r <= 1000.0)
    {
        return Err(format!(
            "key `guardrails.max-p99-ratio`: value {r}: expected a ratio above 1, at most 1000 (1.5 = 50 % slower than live)"
        ));
    }
    let min_requests = match g.min_requests {
        None => None,
        Some(n @ 1..=MAX_MIN_REQUESTS) => Some(n as u64),
        Some(n) => {
            return Err(format!(
                "key `guardrails.min-requests`: value {n}: expected a whole number of requests from 1 to {MAX_MIN_REQUESTS} (leave it out to judge from the first request)"
            ));
        }
    };
    let max_p99 = bounds::opt_duration(
        "guardrails.max-p99",
        g.max_p99,
        (bounds::MS, bounds::HOUR),
        "the slowest p99 the candidate may have",
    )?;
    let max_health_failures = g
        .max_health_failures
        .map(|n| {
            bounds::whole(
                "guardrails.max-health-failures",
                n,
                (1, 1000),
                "consecutive failed health polls before a breach; 0 would breach a healthy env",
            )
        })
        .transpose()?;
    let for_ = bounds::opt_duration(
        "guardrails.for",
        g.for_,
        (std::time::Duration::ZERO, bounds::HOUR),
        "how long a breach lasts before it counts",
    )?;
    let no_data = match g.no_data.as_deref() {
        None | Some("warn") => NoDataPolicy::Warn,
        Some("breach") => NoDataPolicy::Breach,
        Some(other) => {
            return Err(format!(
                "key `guardrails.no-data`: value {}: expected \"warn\" or \"breach\"",
                bounds::echo(other)
            ));
        }
    };
    let d = Guardrails::default();
    Ok(Guardrails {
        max_error_rate: g.max_error_rate.or(d.max_error_rate),
        max_error_rate_delta: g.max_error_rate_delta,
        max_p99_ms: max_p99.map(|d| d.as_secs_f64() * 1000.0).or(d.max_p99_ms),
        max_p99_ratio: g.max_p99_ratio,
        max_health_failures: max_health_failures.or(d.max_health_failures),
        metrics,
        min_requests,
        for_ms: for_.map_or(0, |d| d.as_millis() as u64),
        no_data,
    })
}
