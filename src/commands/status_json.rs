//! `cutover status --json`: the same look as the text status, as one JSON object. Unknown,
//! invalid and stale values are `null`, never 0 or a number that cannot be true; each env's
//! values carry their ages (by each sample's own time) and why one is missing.

use super::snapshot::Snapshot;
use super::status::Facts;
use crate::backends::Backend;
use crate::config::Config;
use crate::core::{EnvSignals, Lease, LiveFrom, Millis, Reading, Record, RuleResult, Series};
use serde_json::{Value, json};

/// Unix ms as RFC 3339, `null` when out of range.
fn time(unix_ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(unix_ms).map(|t| t.to_rfc3339())
}

/// The whole `status --json` object.
pub(super) fn status_json(
    config: &Config,
    backend: &dyn Backend,
    snap: &Snapshot,
    f: &Facts,
) -> Value {
    let when = (f.now, config.poll_interval.as_millis() as u64);
    json!({
        "name": config.name,
        "backend": backend.kind(),
        "target": backend.target(),
        "live": snap.live.map(|(l, _)| l),
        "live_from": snap.live.map(|(_, from)| live_from_word(from)),
        "record": match &snap.record {
            Ok(Some(r)) => {
                let mut v = record_json(r);
                // `false`: the traffic read contradicts it, and it names nothing.
                v["agrees_with_traffic"] = json!(snap
                    .weights
                    .as_ref()
                    .ok()
                    .map(|w| r.agrees_with(*w, crate::app::lease::wall_ms())));
                v
            }
            _ => Value::Null,
        },
        "candidate": f.cand,
        "share": f.share,
        "weights": snap.weights.as_ref().ok(),
        "envs": {
            "blue": env_json(&snap.signals.blue, when),
            "green": env_json(&snap.signals.green, when),
        },
        "vs_live": f.vs_live.map(|d| json!({
            "error_rate_pp": d.diff_pp, "p_value": d.p_value, "significant": d.significant,
        })),
        "guardrails": {
            "status": f.guard_status,
            "breaches": f.breaches,
            "rules": f.rules.iter().map(rule_json).collect::<Vec<_>>(),
        },
        "driver": f.driver.as_ref().map(driver_json),
        "rollback_safety": rollback_safety_json(config, snap),
        "errors": {
            "lease": f.lease_error,
            "backend": snap.weights.as_ref().err(),
            "record": snap.record.as_ref().err(),
            "signals": snap.poll_errors,
            "schema": snap.schema.as_ref().and_then(|(r, _)| r.as_ref().err()),
        },
    })
}

/// `rollback_safety`: the schema guard's verdict (`null` without `[schema]`).
fn rollback_safety_json(config: &Config, snap: &Snapshot) -> Value {
    match snap.rollback_safety(config) {
        None => Value::Null,
        Some(Ok(j)) => {
            let version = snap.version_of(config, j.target);
            j.json(version, &crate::app::words::hhmm)
        }
        Some(Err(why)) => json!({"state": "unknown", "target": null, "words": why}),
    }
}

/// Where live came from, as one word.
fn live_from_word(from: LiveFrom) -> &'static str {
    match from {
        LiveFrom::Config => "config",
        LiveFrom::Record => "record",
        LiveFrom::AllTraffic => "all-traffic",
        LiveFrom::Chosen => "chosen",
    }
}

fn record_json(r: &Record) -> Value {
    json!({
        "live": r.live,
        "candidate": r.candidate(),
        "started_by": r.by,
        "started": time(r.at),
        "share": r.pos,
        "in_flight": r.flight.as_ref().map(|f| json!({
            "write": f.id, "share": f.share,
            "since": time(f.since),
        })),
        "last_write": r.last.as_ref().map(|l| json!({
            "by": l.who, "action": l.action,
            "at": time(l.at),
        })),
        "window_end": r.end.and_then(time),
        // A second person (`[approval]`): what needs one, the request, its answer.
        "approval_required_for": r.rules.iter().map(|n| n.name()).collect::<Vec<_>>(),
        "approval": r.ask.as_ref().map(|a| json!({
            "need": a.need.name(), "share": a.share, "asked_by": a.who,
            "until": time(a.until),
            "answer": r.answer.as_ref().map(|x| json!({
                "approved": x.approved, "by": x.who, "at": time(x.at), "reason": x.reason,
            })),
        })),
    })
}

/// One guardrail's verdict: the rule, its check, the judged value (`null`: none) and the
/// limit.
fn driver_json(l: &Lease) -> Value {
    json!({
        "holder": l.holder,
        "since": time(l.since),
        "expires": time(l.expires),
    })
}

/// One rule: its name, its verdict in words (`NO DATA`, `WAITING`…), what goes with it,
/// the judged value and the limit.
fn rule_json(r: &RuleResult) -> Value {
    json!({
        "rule": r.kind.name(),
        // The verdict as a script matches it (`breach`, `no-data`, `settling`), and as
        // the screen says it.
        "check": r.check.word().to_lowercase().replace(' ', "-"),
        "verdict": r.check.word(),
        "detail": r.check.detail(),
        "value": r.value.filter(|v| v.is_finite()),
        "limit": r.limit,
    })
}

/// A series' value as JSON: `null` unless it is a fresh value; and why not, as a note.
fn value_and_note(series: &Series, (now, interval): (Millis, Millis)) -> (Value, Option<String>) {
    let Some(sample) = series.latest.as_ref() else {
        return (Value::Null, None);
    };
    match &sample.reading {
        Reading::Value(_) if series.is_stale(now, interval) => (
            Value::Null,
            Some(format!(
                "stale: sampled {} ago, by its own timestamp",
                crate::ui::age(sample.age(now))
            )),
        ),
        Reading::Value(v) => ((*v).into(), None),
        Reading::NoData(why) | Reading::Error(why) => (Value::Null, Some(why.clone())),
        Reading::Invalid(why) => (Value::Null, Some(format!("invalid: {why}"))),
    }
}

/// One env as `status --json` shows it: values (`null` when unknown, invalid or stale),
/// their ages, and why a value is missing, at `(now, poll interval)`.
fn env_json(s: &EnvSignals, when: (Millis, Millis)) -> Value {
    let now = when.0;
    let series: [(&str, &Series); 5] = [
        ("error_rate", &s.error_rate),
        ("p99_ms", &s.p99_ms),
        ("rps", &s.rps),
        ("requests", &s.requests),
        ("errors", &s.errors),
    ];
    let mut v = json!({
        "health": s.health.as_ref().map(|(h, _)| h.health.word()),
        "version": s.version,
        // What a coarse source says of its data ("CloudWatch 1-min, latest 14:01").
        "source": s.note,
    });
    let mut ages = serde_json::Map::new();
    let mut notes = serde_json::Map::new();
    // Why a probe is not up: its URL and what it answered.
    if let Some((h, _)) = &s.health
        && h.health != crate::core::Health::Up
    {
        notes.insert("health".into(), h.detail.clone().into());
    }
    ages.insert(
        "health".into(),
        s.health
            .as_ref()
            .map(|(_, at)| now.saturating_sub(*at))
            .into(),
    );
    for (name, series) in series {
        let (value, note) = value_and_note(series, when);
        v[name] = value;
        ages.insert(name.into(), series.age(now).into());
        if let Some(note) = note {
            notes.insert(name.into(), note.into());
        }
    }
    let mut metrics = serde_json::Map::new();
    for (name, series) in &s.metrics {
        let (value, note) = value_and_note(series, when);
        metrics.insert(name.clone(), value);
        ages.insert(name.clone(), series.age(now).into());
        if let Some(note) = note {
            notes.insert(name.clone(), note.into());
        }
    }
    v["metrics"] = metrics.into();
    v["age_ms"] = ages.into();
    v["notes"] = notes.into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Env, RuleCheck};

    #[test]
    fn a_rule_says_its_check_value_and_limit() {
        let r = RuleResult {
            kind: crate::core::RuleKind::ErrorRate,
            check: RuleCheck::Breach,
            value: Some(0.036),
            limit: 0.01,
        };
        assert_eq!(
            rule_json(&r),
            json!({"rule": "error-rate", "check": "breach", "verdict": "BREACH", "detail": null, "value": 0.036, "limit": 0.01})
        );
        let quiet = RuleResult {
            kind: crate::core::RuleKind::P99,
            check: RuleCheck::NoData,
            value: None,
            limit: 2000.0,
        };
        assert_eq!(
            rule_json(&quiet),
            json!({"rule": "p99", "check": "no-data", "verdict": "NO DATA", "detail": null, "value": null, "limit": 2000.0})
        );
    }

    #[test]
    fn a_request_for_approval_and_its_answer_are_in_the_record_s_json() {
        use crate::core::approval::Need;
        let r = Record::new(Env::Blue, "alice@h", 0)
            .with_rules(&[Need::Promote])
            .with_ask(Need::Promote, 100, "alice@h", 300_000)
            .with_answer(false, "bob@h2", 2_000, Some("p99 creeping"));
        let v = record_json(&r);
        assert_eq!(v["approval_required_for"], json!(["promote"]));
        assert_eq!(
            v["approval"],
            json!({"need": "promote", "share": 100, "asked_by": "alice@h",
                   "until": "1970-01-01T00:05:00+00:00",
                   "answer": {"approved": false, "by": "bob@h2", "at": "1970-01-01T00:00:02+00:00", "reason": "p99 creeping"}})
        );
    }

    #[test]
    fn live_from_is_one_word() {
        assert_eq!(live_from_word(LiveFrom::Config), "config");
        assert_eq!(live_from_word(LiveFrom::Record), "record");
        assert_eq!(live_from_word(LiveFrom::AllTraffic), "all-traffic");
        assert_eq!(live_from_word(LiveFrom::Chosen), "chosen");
    }

    #[test]
    fn the_record_as_json_with_times_in_rfc3339() {
        let r =
            Record::new(Env::Green, "alice@h", 0).with_flight("42-1", 50, "bob@h", "step", 1_000);
        let v = record_json(&Record {
            end: Some(60_000),
            ..r
        });
        assert_eq!(
            v,
            json!({
                "live": "green",
                "candidate": "blue",
                "started_by": "alice@h",
                "started": "1970-01-01T00:00:00+00:00",
                "share": 50,
                "in_flight": {"write": "42-1", "share": 50, "since": "1970-01-01T00:00:01+00:00"},
                "last_write": {"by": "bob@h", "action": "step", "at": "1970-01-01T00:00:01+00:00"},
                "window_end": "1970-01-01T00:01:00+00:00",
                "approval_required_for": [],
                "approval": null,
            })
        );
        let bare = record_json(&Record::new(Env::Blue, "a@h", 0));
        assert_eq!(bare["in_flight"], Value::Null);
        assert_eq!(bare["last_write"], Value::Null);
        assert_eq!(bare["window_end"], Value::Null);
    }

    #[test]
    fn an_env_says_values_ages_and_why_one_is_missing() {
        let mut s = EnvSignals::default();
        s.error_rate.push(Reading::Value(0.02), 1_000);
        s.p99_ms.push(Reading::NoData("no traffic".into()), 1_500);
        s.rps.push(Reading::Error("timeout".into()), 1_500);
        s.metric_mut("queue_depth").push(Reading::Value(3.0), 2_000);
        s.requests
            .push(Reading::Invalid("negative (-3)".into()), 2_000);
        s.errors.push_aged(Reading::Value(5.0), 3_000, 86_400_000);
        let v = env_json(&s, (4_000, 1_000));
        assert_eq!(v["error_rate"], json!(0.02));
        assert_eq!(v["p99_ms"], Value::Null, "no data is null, never 0");
        assert_eq!(v["rps"], Value::Null);
        assert_eq!(v["requests"], Value::Null);
        assert_eq!(v["health"], Value::Null);
        assert_eq!(v["metrics"], json!({"queue_depth": 3.0}));
        assert_eq!(v["age_ms"]["error_rate"], json!(3_000));
        assert_eq!(v["age_ms"]["p99_ms"], json!(2_500));
        assert_eq!(v["errors"], Value::Null, "a day old is not now's value");
        assert_eq!(v["age_ms"]["requests"], json!(2_000));
        assert_eq!(v["age_ms"]["errors"], json!(86_401_000));
        assert_eq!(v["age_ms"]["queue_depth"], json!(2_000));
        assert_eq!(
            v["notes"],
            json!({
                "p99_ms": "no traffic",
                "rps": "timeout",
                "requests": "invalid: negative (-3)",
                "errors": "stale: sampled 24h ago, by its own timestamp",
            })
        );
    }
}
