//! How a write made from the command line is told: one line on the terminal (stdout when
//! verified, stderr otherwise) with the exit code to match, and a notice to the webhooks.

use super::exit_code;
use crate::app::engine::{WriteOrder, WriteResult};
use crate::app::journal::Who;
use crate::config::Config;
use crate::core::Weights;
use std::process::ExitCode;

/// Prints how a CLI write ended; the exit code says it.
pub(super) fn report_write(
    order: &WriteOrder,
    before: Option<Weights>,
    result: &WriteResult,
) -> ExitCode {
    let said = write_report(order, before, result);
    match &said {
        Ok(line) => out!("{line}"),
        Err(line) => err!("{line}"),
    }
    exit_code(said.is_ok())
}

/// After a verified write on a DNS switch (Route53, an EB CNAME swap): until when resolvers
/// may still answer the old way. The API said done; clients follow as their caches expire.
pub(super) fn say_tail(backend: &dyn crate::backends::Backend, result: &WriteResult) {
    if let (WriteResult::Verified { .. }, Some(tail)) = (result, backend.propagation()) {
        let until = crate::app::lease::wall_ms() + tail.as_millis() as i64;
        let old = if backend.capabilities().weighted {
            "the old weights"
        } else {
            "the old address"
        };
        out!(
            "resolvers may still answer with {old} until {} (TTL {} s): a DNS switch is not instant, a rollback included",
            crate::app::words::hhmm(until),
            tail.as_secs()
        );
    }
}

/// The line a CLI write ends with: `Ok` (for stdout, exit 0) only when the backend read
/// back what was asked; every other outcome is `Err` (for stderr, exit 1).
fn write_report(
    order: &WriteOrder,
    before: Option<Weights>,
    result: &WriteResult,
) -> Result<String, String> {
    let cand = order.live.other();
    let share = order.share;
    let from = before
        .and_then(|w| w.share_of(cand))
        .map_or_else(|| "?".into(), |s| s.to_string());
    Err(match result {
        WriteResult::Verified { after, elapsed_ms } => {
            return Ok(format!(
                "{cand} {from} → {share} %: applied in {elapsed_ms} ms, verified ({after})"
            ));
        }
        WriteResult::Unverified { after, .. } => {
            format!("cutover: {cand} → {share} % NOT verified: the backend reads {after}")
        }
        WriteResult::Failed { error, after } => {
            let reread = after.map_or_else(
                || "could not be re-read".to_string(),
                |a| format!("re-read: {a}"),
            );
            format!("cutover: {cand} → {share} % FAILED: {error}; backend {reread}")
        }
        WriteResult::Unknown { error, after } => {
            let reread = after.map_or_else(
                || "could not be re-read".to_string(),
                |a| format!("reads {a} for now"),
            );
            format!(
                "cutover: {cand} → {share} %: outcome UNKNOWN, it may still land: {error}; backend {reread}. Run `cutover status` to see where it stands."
            )
        }
        WriteResult::Refused { reason } => {
            format!("cutover: {cand} → {share} % {reason}; traffic untouched")
        }
        WriteResult::Aborted => format!("cutover: {cand} → {share} % cancelled"),
    })
}

/// What the webhooks are told about a CLI write.
fn notice_text(order: &WriteOrder, result: &WriteResult) -> String {
    let cand = order.live.other();
    let outcome = match result {
        WriteResult::Verified { elapsed_ms, .. } => format!("applied in {elapsed_ms} ms, verified"),
        WriteResult::Unverified { after, .. } => format!("NOT verified: backend reads {after}"),
        WriteResult::Failed { error, .. } => format!("FAILED: {error}"),
        WriteResult::Unknown { error, .. } => format!("outcome UNKNOWN: {error}"),
        WriteResult::Refused { reason } => format!("REFUSED: {reason}"),
        WriteResult::Aborted => "cancelled".into(),
    };
    format!(
        "{} {cand} → {} % from the CLI: {outcome}",
        order.action, order.share
    )
}

/// Tells the webhooks about a write made from the command line; failures are said on stderr.
pub(super) async fn notify_cli(
    config: &Config,
    who: &Who,
    order: &WriteOrder,
    result: &WriteResult,
) {
    if config.hooks.is_empty() {
        return;
    }
    let notice = crate::app::notify::Notice {
        event: "write".into(),
        text: notice_text(order, result),
        cutover: config.name.clone(),
        who: who.user.clone(),
    };
    let Ok(http) =
        crate::shared::http_client_for(config.hooks.iter().map(|h| h.url.as_str())).build()
    else {
        err!("cutover: webhooks not told: no HTTP client could be built");
        return;
    };
    let sends = config
        .hooks
        .iter()
        .map(|h| async { (h.name.clone(), h.send(&http, &notice).await) });
    for (name, r) in futures::future::join_all(sends).await {
        if let Err(e) = r {
            err!("cutover: webhook {name} not told: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::journal::CandidateSnapshot;
    use crate::core::Env;

    fn order(action: &str, share: u8) -> WriteOrder {
        WriteOrder {
            id: 1,
            share,
            live: Env::Blue,
            rollback: action == "rollback",
            action: action.into(),
            source: "cli".into(),
            before: None,
            candidate: CandidateSnapshot::default(),
            reason: None,
            driver: None,
            window_ms: 0,
            lease_token: None,
            target_chosen: false,
            expect: None,
            notes: Vec::new(),
            schema: None,
            approval: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn only_a_verified_write_is_a_success() {
        let before = Some(Weights::new(90, 10));
        let step = order("step", 50);
        let verified = WriteResult::Verified {
            after: Weights::new(50, 50),
            elapsed_ms: 12,
        };
        assert_eq!(
            write_report(&step, before, &verified),
            Ok("green 10 → 50 %: applied in 12 ms, verified (blue 50 / green 50)".into())
        );
        assert_eq!(
            write_report(&step, None, &verified),
            Ok("green ? → 50 %: applied in 12 ms, verified (blue 50 / green 50)".into())
        );
        let failures = [
            (
                WriteResult::Unverified {
                    after: Weights::new(90, 10),
                    elapsed_ms: 12,
                },
                "cutover: green → 50 % NOT verified: the backend reads blue 90 / green 10",
            ),
            (
                WriteResult::Failed {
                    error: "refused".into(),
                    after: None,
                },
                "cutover: green → 50 % FAILED: refused; backend could not be re-read",
            ),
            (
                WriteResult::Failed {
                    error: "refused".into(),
                    after: Some(Weights::new(90, 10)),
                },
                "cutover: green → 50 % FAILED: refused; backend re-read: blue 90 / green 10",
            ),
            (
                WriteResult::Unknown {
                    error: "timed out".into(),
                    after: Some(Weights::new(90, 10)),
                },
                "cutover: green → 50 %: outcome UNKNOWN, it may still land: timed out; backend reads blue 90 / green 10 for now. Run `cutover status` to see where it stands.",
            ),
            (
                WriteResult::Refused {
                    reason: "REFUSED: the lease is lost".into(),
                },
                "cutover: green → 50 % REFUSED: the lease is lost; traffic untouched",
            ),
            (WriteResult::Aborted, "cutover: green → 50 % cancelled"),
        ];
        for (result, line) in failures {
            assert_eq!(write_report(&step, before, &result), Err(line.into()));
        }
    }

    #[test]
    fn webhooks_hear_the_action_the_share_and_the_outcome() {
        let rollback = order("rollback", 0);
        let verified = WriteResult::Verified {
            after: Weights::new(100, 0),
            elapsed_ms: 7,
        };
        assert_eq!(
            notice_text(&rollback, &verified),
            "rollback green → 0 % from the CLI: applied in 7 ms, verified"
        );
        let unknown = WriteResult::Unknown {
            error: "timed out".into(),
            after: None,
        };
        assert_eq!(
            notice_text(&order("promote", 100), &unknown),
            "promote green → 100 % from the CLI: outcome UNKNOWN: timed out"
        );
        let refused = WriteResult::Refused {
            reason: "lease lost".into(),
        };
        assert_eq!(
            notice_text(&order("step", 10), &refused),
            "step green → 10 % from the CLI: REFUSED: lease lost"
        );
    }
}
