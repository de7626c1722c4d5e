//! The small types `State` is made of: levels and lines of the event panel, writes in
//! flight and their banners, read errors, the pre-flight's checks, roles, dialogs, smoke.

use crate::app::journal::WriteAction;
use crate::core::{ConfirmReason, Env, EnvPair, Millis};

/// Observed share differing from the set share by more than this many points is flagged…
pub const MISMATCH_PP: f64 = 5.0;
/// …once the set share has stood this long (observed rates lag a change by their window).
pub const MISMATCH_AFTER_MS: Millis = 30_000;
/// How long a said mismatch must stay gone before "matches again" is said.
pub const MATCH_AGAIN_MS: Millis = 10_000;

/// Lines kept in the event panel.
pub const EVENT_LINES: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Good,
    Warn,
    Error,
}

/// One line of the event panel.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at: Millis,
    pub level: Level,
    pub text: String,
}

/// A write in flight.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub id: u64,
    pub share: u8,
    pub since: Millis,
    pub rollback: bool,
    pub action: WriteAction,
    /// A rollback was ordered after it: if it lands late it is undone again.
    pub superseded: bool,
    /// What it waits for at the backend now, as the backend says ("Route53 change PENDING
    /// 12 s").
    pub progress: Option<String>,
}

/// A failed write kept on screen until a later write succeeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Banner {
    pub rollback: bool,
    pub at: Millis,
    pub text: String,
}

/// Why the backend's weights could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadError {
    /// The backend answered that the traffic state cannot be known (nginx after a failed
    /// reload): the screen shows no weights at all, not the last ones.
    Unknown(String),
    /// No answer in time, or an error.
    Failed(String),
}

impl ReadError {
    /// The words without the verdict.
    pub fn message(&self) -> &str {
        match self {
            ReadError::Unknown(m) | ReadError::Failed(m) => m,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Unknown(m) => write!(f, "traffic UNKNOWN: {m}"),
            ReadError::Failed(m) => f.write_str(m),
        }
    }
}

/// Auto-rollback: since when the breach has counted down, and whether the operator
/// cancelled this breach's countdown.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AutoRollback {
    pub since: Option<Millis>,
    pub cancelled: bool,
    pub fired: bool,
    /// Its time came while the schema made a rollback unsafe: it did not write, and asks a
    /// human (said once per breach).
    pub held: bool,
}

/// One item of the pre-flight checklist before the first step; shown as its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreflightCheck {
    /// The candidate is up.
    Healthy(Env),
    /// A smoke run of the candidate passed, lately.
    SmokePassed,
    /// Live is up, to take the traffic back.
    Warm(Env),
    /// The candidate has fresh error-rate and p99 data.
    DataFresh,
    /// After a rollback: its numbers have settled (listed only after a rollback).
    Settled,
}

impl std::fmt::Display for PreflightCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreflightCheck::Healthy(env) => write!(f, "{env} healthy"),
            PreflightCheck::SmokePassed => f.write_str("smoke passed"),
            PreflightCheck::Warm(env) => write!(f, "{env} warm"),
            PreflightCheck::DataFresh => f.write_str("error & p99 data"),
            PreflightCheck::Settled => f.write_str("settled since the rollback"),
        }
    }
}

impl PreflightCheck {
    /// The item as it reads when it does not hold.
    pub fn failed_text(&self) -> String {
        match self {
            PreflightCheck::Healthy(env) => format!("{env} not healthy"),
            PreflightCheck::SmokePassed => "smoke not passed lately".into(),
            PreflightCheck::Warm(env) => format!("{env} not warm"),
            PreflightCheck::DataFresh => "no fresh error & p99 data".into(),
            PreflightCheck::Settled => {
                "rolled back moments ago: the numbers from before still settle".into()
            }
        }
    }
}

/// A passed smoke run counts for the pre-flight for this long.
pub const PREFLIGHT_SMOKE_FRESH: Millis = 10 * 60_000;

/// Whether this cutover may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Holds the driver lease.
    Driver,
    /// Someone else drives; write keys explain, T takes over.
    Observer,
    /// Started `--read-only`: holds no `Switch`, never writes.
    ReadOnly,
}

/// A write waiting for `y`.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingConfirm {
    pub share: u8,
    pub reasons: Vec<ConfirmReason>,
    pub action: WriteAction,
    /// The candidate's share the question was asked from (what the operator saw): a `y`
    /// after traffic moved meanwhile (someone rolled back) writes nothing.
    pub from: Option<u8>,
    /// The live env when it was asked.
    pub live: Env,
}

/// A confirmed move waiting for another person's approval (`[approval]`): asked in the
/// cutover record, sent once the record holds someone else's `ok`.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub confirm: PendingConfirm,
    /// What it overrode, journaled with the write.
    pub notes: Vec<(crate::app::journal::Phase, String)>,
    pub need: crate::core::approval::Need,
    /// Unix ms: when the request expires; also what tells it from any other request.
    pub until: i64,
    /// Whether the record holds the request (its write answered).
    pub asked: bool,
    /// Reads since then that did not hold it: a read begun before it was stored says
    /// nothing, so it is gone only on the second.
    pub missing: u8,
}

/// Someone else's request, open to be answered in this cockpit.
#[derive(Clone, Debug, PartialEq)]
pub struct Answering {
    pub ask: crate::core::approval::Ask,
    /// A decline's reason being typed (`None`: the question, y or n).
    pub reason: Option<String>,
}

/// A second person (`[approval]`), as this cockpit sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApprovalView {
    /// This cockpit's own request.
    pub waiting: Option<Waiting>,
    /// The dialog answering someone else's.
    pub answering: Option<Answering>,
    /// The last request of someone else said in the events (by its `until`).
    pub announced: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Log,
}

/// The last smoke run.
#[derive(Clone, Debug, PartialEq)]
pub enum SmokeState {
    Running {
        env: Env,
        since: Millis,
    },
    Done {
        env: Env,
        passed: bool,
        summary: String,
        at: Millis,
    },
}

/// `[schema]` as the cockpit watches it: the last read of the migration history and each
/// env's `schema-max`.
#[derive(Clone, Debug, Default)]
pub struct SchemaWatch {
    /// Configured: the contract pattern.
    pub contract: Option<regex::Regex>,
    /// How often it is read: older than three of these (and the timeout) is stale.
    pub stale_ms: Millis,
    /// Which envs have a `schema-max` (fixed or read from their health answer).
    pub max_configured: EnvPair<bool>,
    pub read: Option<Result<crate::core::schema::SchemaRead, String>>,
    pub read_at: Option<Millis>,
    /// Each env's `schema-max` as last known.
    pub max: EnvPair<Option<Result<String, String>>>,
    /// The state and words last said (journaled, logged), so that a change is said once.
    pub said: Option<(&'static str, String)>,
    /// The baseline this cockpit sent with the write that began a cutover, and when (unix
    /// ms): judged against until the record that keeps it is read.
    pub started: Option<(Option<String>, i64)>,
    /// The last unsafe verdict of the cutover under way (its target and start): kept over
    /// later reads that are not unsafe.
    pub unsafe_seen: Option<crate::app::safety::Judged>,
}

/// The standby proven while it waits: the smoke checks run against the rollback target
/// every `standby-check-interval` while the candidate serves, and at once after a schema
/// change.
#[derive(Clone, Debug, Default)]
pub struct Standby {
    /// `None`: no smoke checks to run.
    pub interval_ms: Option<Millis>,
    /// A run against the standby is under way, since.
    pub running: Option<(Env, Millis)>,
    /// The last run's outcome.
    pub last: Option<StandbyRun>,
    /// The newest migration when the last run started: a new one runs the checks again.
    pub schema_head: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StandbyRun {
    pub env: Env,
    pub passed: bool,
    pub summary: String,
    pub at: Millis,
}
