//! `cutover status` as text: one line per fact, unknown said as unknown.

use super::snapshot::Snapshot;
use super::status::Facts;
use crate::app::lease;
use crate::app::words::{hhmm, rule_text, unsettled_rules};
use crate::backends::Backend;
use crate::config::Config;
use crate::core::stats::Difference;
use crate::core::value::num;
use crate::core::{
    Env, EnvSignals, Lease, LiveFrom, Millis, Reading, Record, RuleCheck, RuleResult, Series,
    Weights,
};
use crate::ui::age;

/// `status` as text, one line each.
pub(super) fn text(
    config: &Config,
    backend: &dyn Backend,
    snap: &Snapshot,
    f: &Facts,
) -> Vec<String> {
    let mut lines = vec![format!(
        "{} · {} {}",
        config.name,
        backend.kind(),
        backend.target()
    )];
    lines.push(driver_line(
        f.driver.as_ref(),
        f.lease_error.as_deref(),
        &backend.lease_place(),
    ));
    lines.push(traffic_line(
        &snap.weights,
        snap.live,
        f.share,
        snap.record.as_ref().ok().and_then(Option::as_ref),
    ));
    lines.extend(record_lines(&snap.record, lease::wall_ms()));
    let interval = config.poll_interval.as_millis() as u64;
    for env in Env::ALL {
        lines.push(env_line(env, snap.signals.get(env), (f.now, interval)));
        // Why a probe is not up: its URL and what it answered (a redirect's Location).
        if let Some((h, _)) = &snap.signals.get(env).health
            && h.health != crate::core::Health::Up
        {
            lines.push(format!("       health: {}", h.detail));
        }
    }
    if let Some(d) = f.vs_live {
        lines.push(vs_live_line(&d));
    }
    for e in &snap.poll_errors {
        lines.push(format!("signals UNAVAILABLE: {e}"));
    }
    lines.extend(guard_line(f.guard_status, &f.rules));
    match snap.rollback_safety(config) {
        None => {}
        Some(Ok(j)) => {
            let version = snap.version_of(config, j.target);
            let glyph = match j.safety.state() {
                "unsafe" => "⚠",
                "unknown" => "?",
                _ => "✓",
            };
            lines.push(format!(
                "rollback: {glyph} {}",
                j.words(version, &crate::app::words::hhmm)
            ));
        }
        Some(Err(why)) => lines.push(format!("rollback: ? schema UNKNOWN: {why}")),
    }
    lines
}

fn driver_line(driver: Option<&Lease>, lease_error: Option<&str>, lease_place: &str) -> String {
    match (driver, lease_error) {
        (Some(l), _) => format!(
            "driven by {} since {} ({lease_place})",
            l.holder,
            hhmm(l.since)
        ),
        (None, Some(e)) => format!("driver UNKNOWN: the lease could not be read: {e}"),
        (None, None) => "no driver holds the lease".to_string(),
    }
}

fn traffic_line(
    weights: &Result<Weights, String>,
    live: Option<(Env, LiveFrom)>,
    share: Option<u8>,
    record: Option<&Record>,
) -> String {
    match (weights, live, share) {
        // A record that names nothing: the traffic contradicts it.
        (Ok(w), None, _) if let Some(r) = record => format!(
            "traffic {w}: live UNKNOWN: {} (`cutover rollback --to ENV` says where all traffic goes and replaces it)",
            r.disagreement(*w)
        ),
        (Ok(w), Some((live, from)), Some(share)) => format!(
            "live {live} ({}) · candidate {} · share {share} % ({w})",
            from.words(),
            live.other()
        ),
        (Ok(w), Some((live, from)), None) => format!(
            "live {live} ({}) · candidate {} · traffic {w}: {}",
            from.words(),
            live.other(),
            w.split_words()
        ),
        (Ok(w), _, _) => format!(
            "traffic {w}: live UNKNOWN: {} and no cutover record (set `live` in the config; `cutover rollback --to ENV` says where all traffic goes)",
            w.split_words()
        ),
        (Err(e), _, _) => format!("traffic UNKNOWN: {e}"),
    }
}

/// The cutover record and the write it has in flight, at unix ms `now`.
fn record_lines(record: &Result<Option<Record>, String>, now: i64) -> Vec<String> {
    let r = match record {
        Ok(Some(r)) => r,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("cutover record UNREADABLE: {e}")],
    };
    let first = format!("cutover record: {}", crate::app::words::record_words(r));
    let mut lines = vec![first];
    if let Some(f) = &r.flight {
        lines.push(format!(
            "  write IN FLIGHT: {} → {} % since {} ({} s ago; outcome unknown until the backend reads so; the next write clears it)",
            r.candidate(),
            f.share,
            hhmm(f.since),
            (now - f.since).max(0) / 1000
        ));
    }
    if let Some(a) = &r.ask {
        let what = format!("{} {} → {} %", a.need, r.candidate(), a.share);
        lines.push(match &r.answer {
            Some(x) if x.approved => format!(
                "  approval: {what} asked by {}, APPROVED by {} at {}",
                a.who,
                x.who,
                hhmm(x.at)
            ),
            Some(x) => format!(
                "  approval: {what} asked by {}, DECLINED by {} at {}: {}",
                a.who,
                x.who,
                hhmm(x.at),
                x.reason.as_deref().unwrap_or("no reason given")
            ),
            None if now > a.until => format!(
                "  approval: {what} asked by {}, expired unanswered at {}",
                a.who,
                hhmm(a.until)
            ),
            None => format!(
                "  approval: {what} asked by {}, WAITING for another person until {} (`cutover approve` or a in a cockpit)",
                a.who,
                hhmm(a.until)
            ),
        });
    }
    lines
}

/// An env's signals in one line, at `(now, poll interval)`.
fn env_line(env: Env, s: &EnvSignals, when: (Millis, Millis)) -> String {
    format!(
        "{:<6} health {:<8} errors {:<9} p99 {:<9} rps {}",
        env.name(),
        s.health
            .as_ref()
            .map_or("unknown", |(h, _)| h.health.word()),
        cell(&s.error_rate, &|v| format!("{:.2} %", v * 100.0), when),
        cell(&s.p99_ms, &|v| format!("{} ms", num(v.round())), when),
        cell(&s.rps, &|v| num(v.round()), when),
    )
}

/// One signal's latest reading: the value as `fmt` writes it (marked STALE with its age,
/// by the sample's own time, when older than three polls), why there is no data (up to the
/// first `:`), `invalid: ` and why, `ERROR`, or `—` when never read.
fn cell(series: &Series, fmt: &dyn Fn(f64) -> String, (now, interval): (Millis, Millis)) -> String {
    let Some(sample) = series.latest.as_ref() else {
        return "—".to_string();
    };
    match &sample.reading {
        Reading::Value(v) if series.is_stale(now, interval) => {
            format!("{} (STALE {})", fmt(*v), age(sample.age(now)))
        }
        Reading::Value(v) => fmt(*v),
        // "no traffic", "no requests in the window"; a count ("50 requests: too few to
        // judge") is said as no data, never as a figure of this signal.
        Reading::NoData(why) => {
            let head = why.split(':').next().unwrap_or("no data").trim();
            if head.starts_with("no ") || head.is_empty() {
                if head.is_empty() {
                    "no data".into()
                } else {
                    head.to_string()
                }
            } else {
                format!("no data ({head})")
            }
        }
        Reading::Invalid(why) => format!("invalid: {why}"),
        Reading::Error(_) => "ERROR".to_string(),
    }
}

fn vs_live_line(d: &Difference) -> String {
    let verdict = if d.significant {
        format!("significant, p = {:.3}", d.p_value)
    } else {
        "not significant".into()
    };
    format!("candidate vs live: {:+.2} pp errors, {verdict}", d.diff_pp)
}

/// The guardrails: each rule in breach with its value against its limit, else every rule
/// that is not OK in words, else OK.
fn guard_line(status: Option<&str>, rules: &[RuleResult]) -> Option<String> {
    let unsettled = unsettled_rules(rules, true);
    match status {
        Some("breach") => {
            let breaches: Vec<String> = rules
                .iter()
                .filter(|r| r.check == RuleCheck::Breach)
                .map(rule_text)
                .collect();
            Some(format!("guardrails: BREACH {}", breaches.join(", ")))
        }
        Some(_)
            if rules
                .iter()
                .any(|r| matches!(r.check, RuleCheck::Pending { .. })) =>
        {
            let pending: Vec<String> = rules
                .iter()
                .filter(|r| matches!(r.check, RuleCheck::Pending { .. }))
                .map(rule_text)
                .chain(unsettled)
                .collect();
            Some(format!("guardrails: PENDING {}", pending.join(" · ")))
        }
        Some(_) if !unsettled.is_empty() => Some(format!("guardrails: {}", unsettled.join(" · "))),
        Some(s) => Some(format!("guardrails: {}", s.to_uppercase())),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::RuleKind;

    #[test]
    fn the_driver_or_why_it_is_unknown() {
        let alice = Lease::new("alice@bastion", "t", 0, 60_000);
        let line = driver_line(Some(&alice), None, "haproxy 127.0.0.1:1");
        assert!(line.starts_with("driven by alice@bastion since "), "{line}");
        assert!(line.ends_with(" (haproxy 127.0.0.1:1)"), "{line}");
        assert_eq!(
            driver_line(None, Some("the lease store did not answer"), "haproxy"),
            "driver UNKNOWN: the lease could not be read: the lease store did not answer"
        );
        assert_eq!(
            driver_line(None, None, "haproxy"),
            "no driver holds the lease"
        );
    }

    #[test]
    fn traffic_says_live_candidate_and_share_or_why_not() {
        let w = Weights::new(60, 40);
        assert_eq!(
            traffic_line(&Ok(w), Some((Env::Blue, LiveFrom::Config)), Some(40), None),
            "live blue (`live` in the config) · candidate green · share 40 % (blue 60 / green 40)"
        );
        assert!(
            traffic_line(&Ok(w), None, None, None).starts_with(
                "traffic blue 60 / green 40: live UNKNOWN: split and no cutover record"
            )
        );
        let zero = Weights::new(0, 0);
        assert!(traffic_line(&Ok(zero), None, None, None).starts_with(
            "traffic blue 0 / green 0: live UNKNOWN: both weights are 0: no traffic is served"
        ));
        assert_eq!(
            traffic_line(&Ok(zero), Some((Env::Blue, LiveFrom::Config)), None, None),
            "live blue (`live` in the config) · candidate green · traffic blue 0 / green 0: both weights are 0: no traffic is served"
        );
        assert_eq!(
            traffic_line(&Err("nginx: timed out".into()), None, None, None),
            "traffic UNKNOWN: nginx: timed out"
        );
    }

    #[test]
    fn the_record_shows_its_write_in_flight_and_its_age() {
        assert!(record_lines(&Ok(None), 0).is_empty());
        assert_eq!(
            record_lines(&Err("denied".into()), 0),
            ["cutover record UNREADABLE: denied"]
        );
        let r = Record::new(Env::Blue, "alice@h", 1_000)
            .with_flight("1-1", 50, "alice@h", "step", 2_000);
        let lines = record_lines(&Ok(Some(r)), 14_500);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("cutover record: blue → green started by alice@h at "));
        assert!(lines[1].starts_with("  write IN FLIGHT: green → 50 % since "));
        assert!(lines[1].contains("(12 s ago;"), "{}", lines[1]);
        let back = Record::new(Env::Blue, "alice@h", 1_000)
            .with_flight("1-1", 0, "bob@h", "rollback", 2_000)
            .landed();
        let lines = record_lines(&Ok(Some(back)), 14_500);
        assert!(
            lines[0].starts_with(
                "cutover record: blue live, green at 0 % (last: rollback by bob@h at "
            ),
            "{}",
            lines[0]
        );
        // A clock behind the record's is not a negative age.
        let r = Record::new(Env::Blue, "a@h", 0).with_flight("1-1", 10, "a@h", "step", 9_000);
        assert!(record_lines(&Ok(Some(r)), 0)[1].contains("(0 s ago;"));
    }

    #[test]
    fn a_cell_is_a_value_why_there_is_none_error_or_a_dash() {
        let pct = |v: f64| format!("{:.2} %", v * 100.0);
        let when = (4, 1000);
        let mut s = Series::default();
        assert_eq!(cell(&s, &pct, when), "—");
        s.push(Reading::Value(0.0123), 1);
        assert_eq!(cell(&s, &pct, when), "1.23 %");
        s.push(Reading::NoData("no traffic: rate() is empty".into()), 2);
        assert_eq!(cell(&s, &pct, when), "no traffic");
        s.push(Reading::NoData("50 requests: too few to judge".into()), 2);
        assert_eq!(
            cell(&s, &pct, when),
            "no data (50 requests)",
            "not a count of errors"
        );
        s.push(Reading::Error("boom".into()), 3);
        assert_eq!(cell(&s, &pct, when), "ERROR");
        s.push(Reading::Invalid("negative (-500 %)".into()), 3);
        assert_eq!(cell(&s, &pct, when), "invalid: negative (-500 %)");
        s.push_aged(Reading::Value(0.001), 3, 86_400_000);
        assert_eq!(cell(&s, &pct, when), "0.10 % (STALE 24h)");
        let mut e = EnvSignals::default();
        e.p99_ms.push(Reading::Value(312.4), 1);
        e.rps.push(Reading::Value(1e308), 1);
        assert_eq!(
            env_line(Env::Green, &e, when),
            "green  health unknown  errors —         p99 312 ms    rps 1e308"
        );
    }

    #[test]
    fn the_error_rate_difference_is_said_with_its_significance() {
        let d = Difference {
            diff_pp: 4.0,
            z: 12.0,
            p_value: 0.0004,
            significant: true,
        };
        assert_eq!(
            vs_live_line(&d),
            "candidate vs live: +4.00 pp errors, significant, p = 0.000"
        );
        let same = Difference {
            diff_pp: -0.25,
            z: 0.1,
            p_value: 0.9,
            significant: false,
        };
        assert_eq!(
            vs_live_line(&same),
            "candidate vs live: -0.25 pp errors, not significant"
        );
    }

    #[test]
    fn guardrails_say_the_breached_rules_or_each_rules_words() {
        let rule = |kind, check, value| RuleResult {
            kind,
            check,
            value,
            limit: 0.01,
        };
        let rules = [
            rule(RuleKind::ErrorRate, RuleCheck::Breach, Some(0.036)),
            rule(RuleKind::P99, RuleCheck::NoData, None),
            rule(RuleKind::HealthFailures, RuleCheck::Breach, None),
        ];
        assert_eq!(
            guard_line(Some("breach"), &rules).as_deref(),
            Some("guardrails: BREACH errors 3.60 % > 1 %, health")
        );
        let rule = |kind, check| RuleResult {
            kind,
            check,
            value: None,
            limit: 1.0,
        };
        let rules = [
            rule(RuleKind::ErrorRate, RuleCheck::Waiting { n: 12, min: 200 }),
            rule(RuleKind::P99, RuleCheck::NoSource("p99")),
            rule(RuleKind::HealthFailures, RuleCheck::Ok),
        ];
        assert_eq!(
            guard_line(Some("waiting"), &rules).as_deref(),
            Some("guardrails: WAITING 12/200 req · NO DATA — no source for p99")
        );
        assert_eq!(
            guard_line(Some("ok"), &rules[2..]).as_deref(),
            Some("guardrails: OK")
        );
        assert_eq!(guard_line(None, &[]), None);
    }

    #[test]
    fn a_pending_rule_is_on_the_guardrails_line() {
        let rules = [
            RuleResult {
                kind: crate::core::RuleKind::HealthFailures,
                check: RuleCheck::Pending { since: 0 },
                value: Some(1.0),
                limit: 3.0,
            },
            RuleResult {
                kind: crate::core::RuleKind::P99,
                check: RuleCheck::NoData,
                value: None,
                limit: 2000.0,
            },
        ];
        assert_eq!(
            guard_line(Some("pending"), &rules).as_deref(),
            Some("guardrails: PENDING health 1/3 failed polls · NO DATA p99")
        );
    }
}
