//! What a guardrail rule says: OK, BREACH, STALE, NO DATA, WAITING or INVALID (and, with
//! `for`, a breach still pending; after a move, SETTLING), with the words that go with each, as the screen, the
//! text status and `status --json` show them.

use super::Millis;
use std::fmt;

/// The outcome of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleCheck {
    Ok,
    /// Over the threshold since `since`, not yet for long enough to count.
    Pending {
        since: Millis,
    },
    Breach,
    /// A source that provides the signal is configured, but there is nothing to judge yet.
    NoData,
    /// No configured source provides the signal (named: `error-rate`, `p99`, `health`,
    /// `request-count`): there never will be data.
    NoSource(&'static str),
    /// The value is older than three poll intervals, by its own time.
    Stale,
    /// Too few requests in the window to judge an error rate: `n` of the `min` required.
    Waiting {
        n: u64,
        min: u64,
    },
    /// The value cannot be a measurement; why.
    Invalid(String),
    /// The windowed value still includes traffic from before the last move: no verdict
    /// until `until`.
    Settling {
        until: Millis,
    },
}

impl RuleCheck {
    /// The verdict in one word (two for NO DATA), as on screen.
    pub fn word(&self) -> &'static str {
        match self {
            RuleCheck::Ok => "OK",
            RuleCheck::Pending { .. } => "PENDING",
            RuleCheck::Breach => "BREACH",
            RuleCheck::NoData | RuleCheck::NoSource(_) => "NO DATA",
            RuleCheck::Stale => "STALE",
            RuleCheck::Waiting { .. } => "WAITING",
            RuleCheck::Invalid(_) => "INVALID",
            RuleCheck::Settling { .. } => "SETTLING",
        }
    }

    /// What goes with the word: which source is missing, how many requests of how many,
    /// why a value is invalid.
    pub fn detail(&self) -> Option<String> {
        match self {
            RuleCheck::NoSource(signal) => Some(format!("no source for {signal}")),
            RuleCheck::Waiting { n, min } => Some(format!("{n}/{min} req")),
            RuleCheck::Invalid(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Data that is missing, old or impossible: what `no-data = "breach"` counts as a
    /// breach. Neither a rule no source can feed nor too few requests is.
    pub fn is_missing(&self) -> bool {
        matches!(
            self,
            RuleCheck::NoData | RuleCheck::Stale | RuleCheck::Invalid(_)
        )
    }

    /// How much the verdict needs a look, for the summary's order: a breach first, OK last.
    pub fn severity(&self) -> u8 {
        match self {
            RuleCheck::Breach => 7,
            RuleCheck::Pending { .. } => 6,
            RuleCheck::Invalid(_) => 5,
            RuleCheck::Stale => 4,
            RuleCheck::NoData => 3,
            RuleCheck::Waiting { .. } | RuleCheck::Settling { .. } => 2,
            RuleCheck::NoSource(_) => 1,
            RuleCheck::Ok => 0,
        }
    }
}

/// The word and its detail: `NO DATA — no source for error-rate`, `WAITING 12/200
/// req`, `INVALID — negative (-500 %)`.
impl fmt::Display for RuleCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.detail()) {
            (RuleCheck::Waiting { .. }, Some(d)) => write!(f, "{} {d}", self.word()),
            (_, Some(d)) => write!(f, "{} — {d}", self.word()),
            (_, None) => f.write_str(self.word()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_table() {
        // (verdict, shown, missing for the no-data policy)
        let cases = [
            (RuleCheck::Ok, "OK", false),
            (RuleCheck::Breach, "BREACH", false),
            (RuleCheck::Pending { since: 5 }, "PENDING", false),
            (RuleCheck::Stale, "STALE", true),
            (RuleCheck::NoData, "NO DATA", true),
            (
                RuleCheck::NoSource("error-rate"),
                "NO DATA — no source for error-rate",
                false,
            ),
            (
                RuleCheck::Waiting { n: 12, min: 200 },
                "WAITING 12/200 req",
                false,
            ),
            (
                RuleCheck::Invalid("negative (-500 %)".into()),
                "INVALID — negative (-500 %)",
                true,
            ),
        ];
        for (check, shown, missing) in cases {
            assert_eq!(check.to_string(), shown);
            assert_eq!(check.is_missing(), missing, "{shown}");
        }
    }

    #[test]
    fn severity_puts_a_breach_first_and_ok_last() {
        let mut all = [
            RuleCheck::Ok,
            RuleCheck::NoSource("p99"),
            RuleCheck::Waiting { n: 1, min: 2 },
            RuleCheck::NoData,
            RuleCheck::Stale,
            RuleCheck::Invalid(String::new()),
            RuleCheck::Pending { since: 0 },
            RuleCheck::Breach,
        ];
        all.sort_by_key(|c| std::cmp::Reverse(c.severity()));
        let words: Vec<&str> = all.iter().map(RuleCheck::word).collect();
        assert_eq!(
            words,
            [
                "BREACH", "PENDING", "INVALID", "STALE", "NO DATA", "WAITING", "NO DATA", "OK"
            ]
        );
    }
}
