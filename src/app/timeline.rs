//! The journal as an incident timeline: intent and result of each write merged into one
//! line, with who, the share before and after, the candidate's signals at that moment,
//! auto-rollbacks and their trigger, external changes.

use super::journal::{CandidateSnapshot, Entry, Phase, WriteAction};
use serde::Serialize;

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    pub ts: String,
    pub who: String,
    pub source: String,
    pub what: String,
    pub outcome: String,
    pub candidate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn pct(share: Option<u8>) -> String {
    share.map_or_else(|| "?".to_string(), |s| format!("{s} %"))
}

fn signals(c: &CandidateSnapshot) -> String {
    let Some(env) = c.env else {
        return String::new();
    };
    let v = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or_else(|| "—".to_string(), f);
    let mut line = format!(
        "{env}: health {}, errors {}, p99 {}, rps {}{}",
        c.health.as_deref().unwrap_or("—"),
        v(c.error_rate, &|e| format!("{:.2} %", e * 100.0)),
        v(c.p99_ms, &|p| format!("{p:.0} ms")),
        v(c.rps, &|r| format!("{r:.0}")),
        if c.stale { " (stale)" } else { "" }
    );
    for n in &c.invalid {
        line.push_str("; ");
        line.push_str(n);
    }
    line
}

/// How a write ended (`e` is a result, a failure, an unknown outcome, a refusal or a
/// cancellation), and under whose lease when someone else drove.
fn outcome(e: &Entry) -> String {
    let outcome = match e.phase {
        Phase::Result if e.verified == Some(true) => {
            format!(
                "applied in {} ms, verified at {}",
                e.elapsed_ms.unwrap_or(0),
                pct(e.share_after)
            )
        }
        Phase::Result => format!("NOT verified: backend reads {}", pct(e.share_after)),
        Phase::Failed => format!(
            "FAILED: {}; backend re-read {}",
            e.error.as_deref().unwrap_or("?"),
            pct(e.share_after)
        ),
        Phase::Unknown => format!(
            "OUTCOME UNKNOWN (may still land): {}; backend read {}",
            e.error.as_deref().unwrap_or("?"),
            pct(e.share_after)
        ),
        Phase::Refused => {
            format!("REFUSED, not sent: {}", e.error.as_deref().unwrap_or("?"))
        }
        _ => format!("cancelled: {}", e.error.as_deref().unwrap_or("pre-empted")),
    };
    match &e.driver {
        Some(d) => format!("{outcome} (while {d} drove)"),
        None => outcome,
    }
}

/// Merges the journal's lines into a timeline, oldest first.
pub fn build(entries: &[Entry]) -> Vec<Item> {
    let mut m = Merger::default();
    for e in entries {
        m.push(e);
    }
    m.finish()
}

/// A write's intent still waiting this many items for its result is left PENDING (a
/// process that died mid-write): what is held back stays bounded however long the
/// history read.
const OPEN_MAX: usize = 10_000;

/// Merges journal entries into timeline items as they are read, so a long history streams:
/// an item is handed out by [`Merger::ready`] once no earlier write still waits for its
/// result (which is merged into the intent's line).
#[derive(Default)]
pub struct Merger {
    /// Items not handed out yet; `out[0]` is item number `first`.
    out: std::collections::VecDeque<Item>,
    first: usize,
    /// Writes whose intent is read and whose result is not: (write id, item number).
    open: Vec<(String, usize)>,
}

impl Merger {
    fn at(&mut self, n: usize) -> Option<&mut Item> {
        n.checked_sub(self.first).and_then(|i| self.out.get_mut(i))
    }

    pub fn push(&mut self, e: &Entry) {
        let who = match &e.who.from {
            Some(f) => format!("{} ({f})", e.who.user),
            None => e.who.user.clone(),
        };
        let cand = e.live.other();
        let move_ = format!("{cand} {} → {}", pct(e.share_before), pct(e.share_target));
        let base = |what: String, outcome: String| Item {
            ts: e.ts.clone(),
            who: who.clone(),
            source: e.source.clone(),
            what,
            outcome,
            candidate: signals(&e.candidate),
            reason: e.reason.clone(),
        };
        let next = self.first + self.out.len();
        let item = match &e.phase {
            Phase::Intent => {
                let what = if e.action == WriteAction::AutoRollback {
                    format!("AUTO-ROLLBACK {move_}")
                } else {
                    format!("{} {move_}", e.action)
                };
                self.open.push((e.write.clone(), next));
                base(what, "PENDING: no result recorded".into())
            }
            p if p.is_outcome() => {
                let outcome = outcome(e);
                match self.open.iter().position(|(w, _)| *w == e.write) {
                    Some(i) => {
                        let (_, at) = self.open.remove(i);
                        if let Some(item) = self.at(at) {
                            item.outcome = outcome;
                        }
                        return;
                    }
                    None => base(format!("{} {move_}", e.action), outcome),
                }
            }
            Phase::External => base(
                format!(
                    "external change: {cand} {} → {}",
                    pct(e.share_before),
                    pct(e.share_after)
                ),
                "not made by cutover".into(),
            ),
            Phase::Complete => base(
                "rollback window over".into(),
                format!("cutover complete: {} is live", e.live),
            ),
            Phase::Late => base(
                "a write whose outcome was unknown landed".into(),
                format!("backend reads {}", pct(e.share_after)),
            ),
            Phase::Breach => base("BREACH".into(), "a guardrail breached".into()),
            Phase::BreachCleared => base(
                "breach cleared".into(),
                "the guardrail no longer breaches".into(),
            ),
            Phase::Override => base(
                "OVERRIDE".into(),
                "a move confirmed over the guardrails".into(),
            ),
            Phase::ApprovalAsked => {
                base("approval asked".into(), "waiting for another person".into())
            }
            Phase::Approved => base(
                "APPROVED".into(),
                "a second person approved the move".into(),
            ),
            Phase::Declined => base(
                "DECLINED".into(),
                "a second person declined the move".into(),
            ),
            other => base(other.as_str().replace('-', " "), String::new()),
        };
        self.out.push_back(item);
        let oldest = (next + 1).saturating_sub(OPEN_MAX);
        self.open.retain(|(_, at)| *at >= oldest);
    }

    /// The items no waiting write comes before, oldest first.
    pub fn ready(&mut self) -> Vec<Item> {
        let until = self
            .open
            .iter()
            .map(|(_, at)| *at)
            .min()
            .unwrap_or(self.first + self.out.len());
        let n = until.saturating_sub(self.first).min(self.out.len());
        self.first += n;
        self.out.drain(..n).map(flat_item).collect()
    }

    /// Every item left: an intent without its result stays PENDING.
    pub fn finish(mut self) -> Vec<Item> {
        self.open.clear();
        self.ready()
    }
}

/// Every field one line: a journal written by anyone (a `USER` with a line break, an error
/// text from a peer) never forges a line of the timeline.
fn flat_item(mut i: Item) -> Item {
    let flat = crate::shared::flat;
    i.ts = flat(&i.ts);
    i.who = flat(&i.who);
    i.source = flat(&i.source);
    i.what = flat(&i.what);
    i.outcome = flat(&i.outcome);
    i.candidate = flat(&i.candidate);
    i.reason = i.reason.as_deref().map(flat);
    i
}

/// As plain text, one line per item.
pub fn text(items: &[Item]) -> String {
    items.iter().map(text_line).collect()
}

/// One item as a line of text (ending in a line break).
pub fn text_line(i: &Item) -> String {
    let mut s = format!(
        "{}  {}  [{}]  {}: {}",
        i.ts, i.who, i.source, i.what, i.outcome
    );
    if let Some(r) = &i.reason {
        s.push_str(&format!("  — {r}"));
    }
    if !i.candidate.is_empty() {
        s.push_str(&format!("  ({})", i.candidate));
    }
    s.push('\n');
    s
}

/// As a Markdown table, fit to paste into a post-mortem.
pub fn markdown(items: &[Item]) -> String {
    let mut s = MARKDOWN_HEAD.to_string();
    for i in items {
        s.push_str(&markdown_row(i));
    }
    s
}

/// The Markdown table's head.
pub const MARKDOWN_HEAD: &str =
    "| time (UTC) | who | what | outcome | candidate's signals |\n|---|---|---|---|---|\n";

/// One item as a row of the Markdown table (ending in a line break).
pub fn markdown_row(i: &Item) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let what = match &i.reason {
        Some(r) => format!("{} — {}", i.what, r),
        None => i.what.clone(),
    };
    format!(
        "| {} | {} ({}) | {} | {} | {} |\n",
        esc(&i.ts),
        esc(&i.who),
        esc(&i.source),
        esc(&what),
        esc(&i.outcome),
        esc(&i.candidate)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::journal::Who;
    use crate::core::Env;

    fn entry(
        write: &str,
        phase: &str,
        action: &str,
        before: u8,
        target: u8,
        after: Option<u8>,
    ) -> Entry {
        Entry {
            ts: format!("2026-11-23T14:00:0{}Z", write.len()),
            phase: phase.into(),
            write: write.into(),
            who: Who {
                user: "alice@bastion".into(),
                from: Some("10.0.0.5".into()),
            },
            source: "tui".into(),
            action: action.into(),
            backend: "sim".into(),
            live: Env::Blue,
            share_before: Some(before),
            share_target: Some(target),
            before: None,
            target: None,
            after: None,
            share_after: after,
            verified: (phase == "result").then_some(true),
            elapsed_ms: Some(42),
            error: (phase == "failed").then(|| "HTTP 500".to_string()),
            reason: (action == "auto-rollback")
                .then(|| "error-rate = 0.05 (limit 0.01)".to_string()),
            driver: None,
            candidate: CandidateSnapshot {
                env: Some(Env::Green),
                health: Some("up".into()),
                error_rate: Some(0.05),
                p99_ms: None,
                rps: Some(50.0),
                stale: false,
                invalid: Vec::new(),
            },
        }
    }

    #[test]
    fn an_invalid_value_is_said_invalid_not_stale() {
        let mut e = entry("9", "result", "set", 10, 50, Some(50));
        e.candidate.rps = None;
        e.candidate.invalid = vec!["rps invalid: negative (-5)".into()];
        let line = signals(&e.candidate);
        assert!(line.contains("rps —; rps invalid: negative (-5)"), "{line}");
        assert!(!line.contains("stale"), "{line}");
        let back: CandidateSnapshot =
            serde_json::from_str(&serde_json::to_string(&e.candidate).unwrap()).unwrap();
        assert_eq!(back, e.candidate, "the reason is journaled");
    }

    #[test]
    fn unknown_refused_late_and_a_rollback_under_another_driver_say_so() {
        let mut unknown = entry("6", "unknown", "step", 10, 50, Some(10));
        unknown.error = Some("no answer within 1.0 s".into());
        let mut refused = entry("7", "refused", "set", 10, 60, None);
        refused.error = Some("the intent could not be journaled".into());
        let mut rb = entry("8", "result", "rollback", 50, 0, Some(0));
        rb.driver = Some("bob@h".into());
        let entries = vec![
            entry("6", "intent", "step", 10, 50, None),
            unknown,
            entry("7", "intent", "set", 10, 60, None),
            refused,
            entry("0", "late", "late", 0, 0, Some(50)),
            entry("8", "intent", "rollback", 50, 0, None),
            rb,
        ];
        let lines: Vec<String> = build(&entries)
            .iter()
            .map(|i| format!("{}: {}", i.what, i.outcome))
            .collect();
        assert_eq!(
            lines,
            vec![
                "step green 10 % → 50 %: OUTCOME UNKNOWN (may still land): no answer within 1.0 s; backend read 10 %",
                "set green 10 % → 60 %: REFUSED, not sent: the intent could not be journaled",
                "a write whose outcome was unknown landed: backend reads 50 %",
                "rollback green 50 % → 0 %: applied in 42 ms, verified at 0 % (while bob@h drove)",
            ]
        );
    }

    /// Items stream out in order as soon as no earlier write waits for its result; an
    /// intent never answered is held at most OPEN_MAX items, then let go as PENDING.
    #[test]
    fn the_merger_hands_out_items_once_nothing_before_them_waits() {
        let mut m = Merger::default();
        m.push(&entry("1", "external", "external", 0, 0, Some(5)));
        assert_eq!(m.ready().len(), 1, "nothing waits: out at once");
        m.push(&entry("22", "intent", "step", 0, 10, None));
        m.push(&entry("4444", "external", "external", 0, 0, Some(7)));
        assert!(m.ready().is_empty(), "held behind the open intent");
        m.push(&entry("22", "result", "step", 0, 10, Some(10)));
        let out: Vec<String> = m.ready().into_iter().map(|i| i.outcome).collect();
        assert_eq!(
            out,
            ["applied in 42 ms, verified at 10 %", "not made by cutover"]
        );
        // A crash: the intent's result never comes; what follows is not held forever.
        m.push(&entry("333", "intent", "set", 10, 50, None));
        let mut handed = 0;
        for _ in 0..OPEN_MAX + 5 {
            m.push(&entry("4444", "external", "external", 0, 0, Some(7)));
            handed += m.ready().len();
            assert!(m.out.len() <= OPEN_MAX + 1, "bounded: {}", m.out.len());
        }
        assert_eq!(handed + m.finish().len(), OPEN_MAX + 6);
    }

    #[test]
    fn intents_and_results_merge_and_a_crash_shows_as_pending() {
        let entries = vec![
            entry("1", "intent", "step", 0, 10, None),
            entry("1", "result", "step", 0, 10, Some(10)),
            entry("22", "intent", "set", 10, 50, None),
            entry("22", "failed", "set", 10, 50, Some(10)),
            entry("333", "intent", "auto-rollback", 50, 0, None),
            entry("333", "result", "auto-rollback", 50, 0, Some(0)),
            entry("4444", "external", "external", 0, 0, Some(30)),
            entry("55555", "intent", "step", 30, 50, None),
        ];
        let items = build(&entries);
        let lines: Vec<String> = items
            .iter()
            .map(|i| format!("{}: {}", i.what, i.outcome))
            .collect();
        assert_eq!(
            lines,
            vec![
                "step green 0 % → 10 %: applied in 42 ms, verified at 10 %",
                "set green 10 % → 50 %: FAILED: HTTP 500; backend re-read 10 %",
                "AUTO-ROLLBACK green 50 % → 0 %: applied in 42 ms, verified at 0 %",
                "external change: green 0 % → 30 %: not made by cutover",
                "step green 30 % → 50 %: PENDING: no result recorded",
            ]
        );
        assert_eq!(
            items[2].reason.as_deref(),
            Some("error-rate = 0.05 (limit 0.01)")
        );
        let t = text(&items);
        assert!(
            t.contains("alice@bastion (10.0.0.5)") && t.contains("errors 5.00 %, p99 —"),
            "{t}"
        );
        let md = markdown(&items);
        assert!(
            md.starts_with("| time (UTC) |") && md.lines().count() == 7,
            "{md}"
        );
    }
}
