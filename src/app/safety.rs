//! Rollback safety, as the cockpit and the command line both say it: the schema guard's
//! verdict ([`crate::core::schema::judge`]) for the rollback target, with what it was
//! judged against (the record's baseline, the target's `schema-max`), in words and JSON.

use crate::core::schema::{Danger, Safety, SchemaRead, Target};
use crate::core::{Env, Record};

/// What one judgement needs, gathered by the caller.
pub struct Input<'a> {
    /// The last read of the history: `None` before any; `Err` why it failed.
    pub read: Option<&'a Result<SchemaRead, String>>,
    /// The read is too old to say anything (how old, in words).
    pub stale: Option<String>,
    pub target: Env,
    /// The target's version, for words (`v1.4.2`).
    pub target_version: Option<&'a str>,
    /// The target's `schema-max`: not configured (`None`), or as read.
    pub max: Option<Result<&'a str, &'a str>>,
    /// The cutover under way, as the record (or this cockpit's own first step) says it.
    pub cutover: Option<Began<'a>>,
    /// The candidate serves: a cutover is under way even when nothing says when it began.
    pub serving: bool,
    pub contract: &'a regex::Regex,
}

/// A cutover under way: the schema baseline taken as it began, when, and whether its
/// rollback window is still open.
#[derive(Clone, Copy, Debug)]
pub struct Began<'a> {
    pub baseline: Option<&'a str>,
    /// Unix ms.
    pub at: i64,
    pub window_open: bool,
}

impl<'a> Began<'a> {
    /// The cutover a record naming `target` live describes (`None` for one naming the
    /// other env, or one whose window ran out).
    pub fn of(r: &'a Record, target: Env, now: i64) -> Option<Began<'a>> {
        (r.live == target && !(r.window_over(now) && r.pos == 100)).then(|| Began {
            baseline: r.schema.as_deref(),
            at: r.at,
            window_open: !r.window_over(now),
        })
    }
}

/// A verdict with its words.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub target: Env,
    pub safety: Safety,
    /// The version the target was last proven on: its `schema-max`, else the baseline the
    /// cutover recorded (as its migration's label).
    pub proven_on: Option<String>,
    /// A contract migration while the window is open: "contract before the old env is
    /// gone", the mistake expand/contract exists to avoid.
    pub contract_early: bool,
    pub baseline: Option<String>,
    pub head: Option<String>,
    /// When the cutover judged against began (unix ms): an unsafe verdict is kept for it.
    pub began_at: Option<i64>,
    /// An unsafe verdict kept from an earlier read of this cutover, and what the history
    /// says now (a row deleted, a database that does not answer).
    pub remembered: Option<String>,
}

impl Judged {
    /// Nothing to judge against: why, for `target`.
    pub fn unknown(target: Env, why: String) -> Judged {
        Judged {
            target,
            safety: Safety::Unknown { why },
            proven_on: None,
            contract_early: false,
            baseline: None,
            head: None,
            began_at: None,
            remembered: None,
        }
    }

    /// This unsafe verdict, kept over a later `now` that is not unsafe: a migration
    /// deleted from the history does not undo its change, and a database that stops
    /// answering does not make a known danger unknown.
    pub fn kept_over(&self, now: &Judged) -> Judged {
        let why = match &now.safety {
            Safety::Unknown { why } => format!("now unknown: {why}"),
            _ => "the history no longer shows it; its change is not undone by that".to_string(),
        };
        Judged {
            remembered: Some(why),
            ..self.clone()
        }
    }
}

pub fn judge(i: &Input<'_>) -> Judged {
    let mut out = Judged {
        target: i.target,
        safety: Safety::Unknown {
            why: "the database has not been read yet".into(),
        },
        proven_on: None,
        contract_early: false,
        baseline: i.cutover.and_then(|c| c.baseline).map(str::to_string),
        head: None,
        began_at: i.cutover.map(|c| c.at),
        remembered: None,
    };
    let read = match (i.read, &i.stale) {
        (None, _) => return out,
        (Some(Err(e)), _) => {
            out.safety = Safety::Unknown {
                why: format!("the database did not answer: {e}"),
            };
            return out;
        }
        (Some(Ok(_)), Some(age)) => {
            out.safety = Safety::Unknown {
                why: format!("the migration history was last read {age} ago"),
            };
            return out;
        }
        (Some(Ok(r)), None) => r,
    };
    out.head = read.head().map(crate::core::schema::Migration::label);
    // A schema-max that cannot be read leaves what it would say unknown, but not what
    // the rest of the history says: a contract since the baseline is unsafe regardless.
    let (max, max_error) = match i.max {
        Some(Err(e)) => (None, Some(e)),
        Some(Ok(m)) => (Some(m), None),
        None => (None, None),
    };
    out.safety = crate::core::schema::judge(
        read,
        &Target {
            env: i.target,
            schema_max: max,
            baseline: i.cutover.and_then(|c| c.baseline),
            since: i.cutover.map(|c| c.at),
            cutover: i.cutover.is_some() || i.serving,
        },
        i.contract,
    );
    if let Some(e) = max_error
        && !matches!(out.safety, Safety::Unsafe { .. })
    {
        out.safety = Safety::Unknown {
            why: format!("{}'s schema-max could not be read: {e}", i.target),
        };
    }
    out.proven_on = max.map(label).or_else(|| {
        let b = i.cutover?.baseline?;
        read.at_baseline(b)
            .map(crate::core::schema::Migration::label)
    });
    out.contract_early = i.cutover.is_some_and(|c| c.window_open)
        && matches!(&out.safety, Safety::Unsafe { findings } if findings.iter().any(|f| f.dangers.contains(&Danger::Contract)));
    out
}

use crate::core::schema::version_label as label;

/// One look, as `status` and `check` take it (no memory of earlier reads): the history and
/// each env's `schema-max` as read, the record and the weights read beside them.
pub struct Look<'a> {
    pub read: &'a Result<SchemaRead, String>,
    pub max: &'a crate::core::EnvPair<Option<Result<String, String>>>,
    pub record: Option<&'a Record>,
    pub weights: Option<crate::core::Weights>,
    pub target: Env,
    pub target_version: Option<&'a str>,
    pub contract: &'a regex::Regex,
    /// Unix ms now.
    pub now: i64,
}

/// [`judge`] for one look.
pub fn judge_look(l: &Look<'_>) -> Judged {
    judge(&Input {
        read: Some(l.read),
        stale: None,
        target: l.target,
        target_version: l.target_version,
        max: l
            .max
            .get(l.target)
            .as_ref()
            .map(|r| r.as_ref().map(String::as_str).map_err(String::as_str)),
        cutover: l.record.and_then(|r| Began::of(r, l.target, l.now)),
        serving: l
            .weights
            .and_then(|w| w.share_of(l.target.other()))
            .is_some_and(|x| x > 0),
        contract: l.contract,
    })
}

impl Judged {
    /// The rollback line's words (without its glyph): "ROLLBACK MAY BREAK BLUE: V43 'drop
    /// column orders total' applied 14:02:10 (contract); blue v1.4.2 last proven on V42".
    pub fn words(&self, target_version: Option<&str>, hhmm: &dyn Fn(i64) -> String) -> String {
        let t = self.target;
        match &self.safety {
            Safety::Unsafe { findings } => {
                let f = &findings[0];
                let m = &f.migration;
                let what = m.what().map_or_else(String::new, |w| format!(" {w}"));
                let when = m
                    .applied_at
                    .map_or_else(String::new, |a| format!(" applied {}", hhmm(a)));
                let why: Vec<String> = f
                    .dangers
                    .iter()
                    .map(|d| match d {
                        Danger::Contract => "contract".to_string(),
                        Danger::Failed => "FAILED: the history is dirty".to_string(),
                        Danger::PastMax(max) => format!("past {t}'s schema-max {}", label(max)),
                    })
                    .collect();
                let why = why.join(", ");
                let more = if findings.len() > 1 {
                    format!(" (+{} more)", findings.len() - 1)
                } else {
                    String::new()
                };
                let proven = self.proven_on.as_ref().map_or_else(String::new, |p| {
                    format!(
                        "; {t}{} last proven on {p}",
                        target_version.map_or_else(String::new, |v| format!(" {v}"))
                    )
                });
                let early = if self.contract_early {
                    " — a contract migration before the old env is gone"
                } else {
                    ""
                };
                let kept = self
                    .remembered
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" (seen during this cutover; {r})"));
                format!(
                    "ROLLBACK MAY BREAK {}: {}{what}{when} ({why}){more}{proven}{early}{kept}",
                    t.label(),
                    m.label()
                )
            }
            Safety::Safe { head, new } => {
                let head = head.as_ref().map_or_else(
                    || "empty".to_string(),
                    crate::core::schema::Migration::label,
                );
                if new.is_empty() {
                    let since = if self.baseline.is_some() {
                        " (unchanged since the cutover began)"
                    } else {
                        ""
                    };
                    let proven = self
                        .proven_on
                        .as_ref()
                        .map_or_else(String::new, |p| format!(", proven on {p}"));
                    format!("schema {head}{since}: {t} can still run on it{proven}")
                } else {
                    let labels: Vec<String> = new
                        .iter()
                        .map(|(m, covered)| {
                            if *covered {
                                let max = self.proven_on.as_deref().unwrap_or("?");
                                format!("{} (within {t}'s schema-max {max})", m.label())
                            } else {
                                format!("{} (expand)", m.label())
                            }
                        })
                        .collect();
                    format!("schema {}: {t} can still run", labels.join(", "))
                }
            }
            Safety::Unknown { why } => format!("schema UNKNOWN for a rollback to {t}: {why}"),
        }
    }

    /// `rollback_safety` in `status --json`.
    pub fn json(
        &self,
        target_version: Option<&str>,
        hhmm: &dyn Fn(i64) -> String,
    ) -> serde_json::Value {
        let findings: Vec<serde_json::Value> = match &self.safety {
            Safety::Unsafe { findings } => findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "version": f.migration.version,
                        "description": f.migration.description,
                        "script": f.migration.script,
                        "applied_at": f.migration.applied_at.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                        "why": f.danger().name(),
                        "reasons": f.dangers.iter().map(Danger::name).collect::<Vec<_>>(),
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        serde_json::json!({
            "state": self.safety.state(),
            "target": self.target,
            "words": self.words(target_version, hhmm),
            "migrations": findings,
            "proven_on": self.proven_on,
            "baseline": self.baseline,
            "head": self.head,
            "contract_before_old_env_gone": self.contract_early,
        })
    }
}
