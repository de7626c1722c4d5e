//! Everything the screen shows, owned by the loop alone.

use super::engine::WriteOrder;
use super::journal::{CandidateSnapshot, WriteAction};
use super::keymap::Keymap;
use crate::core::guardrail::any_breach;
use crate::core::{
    BreachClock, ConfirmReason, Cutover, Env, EnvPair, EnvSignals, Guardrails, LiveFrom, Millis,
    Record, RuleResult, Weights,
};
use chrono::{DateTime, FixedOffset};
use std::collections::VecDeque;

/// Observed share differing from the set share by more than this many points is flagged…
pub const MISMATCH_PP: f64 = 5.0;
/// …once the set share has stood this long (observed rates lag a change by their window).
pub const MISMATCH_AFTER_MS: Millis = 30_000;

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
    /// The candidate's signals are fresh.
    DataFresh,
}

impl std::fmt::Display for PreflightCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreflightCheck::Healthy(env) => write!(f, "{env} healthy"),
            PreflightCheck::SmokePassed => f.write_str("smoke passed"),
            PreflightCheck::Warm(env) => write!(f, "{env} warm"),
            PreflightCheck::DataFresh => f.write_str("data fresh"),
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

/// What the cockpit runs with, built once from the config and the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub name: String,
    pub backend_kind: String,
    pub backend_target: String,
    pub driver: String,
    /// This process: tells its own writes in the cutover record from another terminal's.
    pub pid: u32,
    /// Where the lease is kept, for messages.
    pub lease_place: String,
    /// Smoke checks can run (`[[smoke]]` or a source that smokes).
    pub smoke_available: bool,
    /// Wall-clock time at `now == 0`, for the header clock and event times.
    pub start_wall: DateTime<FixedOffset>,
    pub poll_interval: Millis,
    pub weight_scale: u32,
    pub guardrails: Guardrails,
    /// Extra metrics as configured (name, unit, bad direction).
    pub metric_info: Vec<crate::core::MetricInfo>,
    /// Roll back by itself after a breach lasting this long.
    pub auto_rollback_ms: Option<Millis>,
    pub window_extend_ms: Millis,
    pub window_warn_ms: Millis,
    pub keymap: Keymap,
}

/// Who drives, as the lease task last saw it.
#[derive(Clone, Debug)]
pub struct LeaseView {
    /// Whether this cutover may write: it holds the driver lease, watches someone else
    /// drive, or was started `--read-only`.
    pub role: Role,
    /// The lease holder as last read; `None` when nobody holds a live lease.
    pub holder: Option<crate::core::Lease>,
    /// The last lease error, said once.
    pub lease_error: Option<String>,
}

/// The backend as last read: weights, who is live and why, the cutover record.
#[derive(Clone, Debug)]
pub struct Traffic {
    /// Whether `cutover.live` is known: from config, the cutover record, or the env
    /// holding all the traffic. Never guessed from a split.
    pub live_known: bool,
    /// Where the rollback target came from.
    pub live_from: Option<LiveFrom>,
    /// The cutover record as last read at the backend.
    pub record: Option<Record>,
    /// Why the record could not be read, while it cannot.
    pub record_error: Option<String>,
    pub weights: Option<Weights>,
    pub weights_at: Option<Millis>,
    /// When the read-back share last changed: observed traffic lags a change.
    pub share_changed_at: Millis,
    /// Whether the lasting observed-vs-set mismatch has been reported.
    pub mismatch_reported: bool,
    pub backend_error: Option<(ReadError, Millis)>,
}

/// Writes of this cutover: in flight, unknown, failed, and the guard after a rollback.
#[derive(Clone, Debug)]
pub struct Writes {
    /// Writes issued and not yet done, oldest first.
    pub in_flight: Vec<InFlight>,
    /// The last write that failed, until a later one succeeds: shown as a banner.
    pub failed: Option<Banner>,
    /// A write went out without its journal line: a banner that stays.
    pub not_journaled: Option<String>,
    /// Writes whose outcome is unknown (sent, not answered): watched until they land.
    pub unknown: Vec<InFlight>,
    /// When the last write finished: reads started before it are discarded.
    pub last_write_done: Millis,
    /// While set, a share other than 0 read back with no write in flight is a pre-empted
    /// write that landed late, and is rolled back again.
    pub rollback_guard_until: Option<Millis>,
    pub next_id: u64,
}

/// The rollback window beyond its clock (kept by `Cutover`): held, completed, warned, the auto-rollback.
#[derive(Clone, Debug)]
pub struct WindowState {
    /// The rollback window ran out but the candidate is failing: it holds at 0:00 until a
    /// rollback or an explicit `y`. The words say why.
    pub held: Option<String>,
    /// The window closed: when, and the env that was live before.
    pub completed: Option<(Millis, Env)>,
    pub auto: AutoRollback,
    /// Whether the coming end of the running window has been warned of.
    pub warned: bool,
    /// The live env was reported cold during the open window (warned once).
    pub live_cold_warned: bool,
}

/// What the operator sees and is asked: dialogs, overlays, the event lines, redraw and quit.
#[derive(Clone, Debug)]
pub struct View {
    /// A take-over waits for y.
    pub takeover_confirm: bool,
    /// A rollback waits for the operator to say where all traffic goes (b / g): traffic is
    /// split and nothing records who was live.
    pub ask_target: bool,
    pub confirm: Option<PendingConfirm>,
    pub overlay: Overlay,
    pub events: VecDeque<LogLine>,
    pub quit: bool,
    pub dirty: bool,
}

/// The whole state of the cockpit, in groups: see ARCHITECTURE.md.
#[derive(Clone, Debug)]
pub struct State {
    pub settings: Settings,
    pub lease: LeaseView,
    pub traffic: Traffic,
    pub writes: Writes,
    pub window: WindowState,
    pub view: View,
    /// A first step waiting for its pre-flight smoke checks.
    pub preflight_pending: Option<(crate::core::Command, WriteAction)>,
    pub now: Millis,
    pub cutover: Cutover,
    pub signals: EnvPair<EnvSignals>,
    pub guard: Vec<RuleResult>,
    pub breach_clock: BreachClock,
    /// Sources whose last poll failed: (source, error, since).
    pub source_errors: Vec<(String, String, Millis)>,
    pub smoke: Option<SmokeState>,
}

impl State {
    /// The first key bound to `action`, for messages ("r rolls back").
    pub fn key(&self, action: super::keymap::Action) -> String {
        self.settings.keymap.first(action)
    }

    /// The newest event line's text ("" before any).
    pub fn last_event(&self) -> &str {
        self.view.events.back().map_or("", |l| l.text.as_str())
    }

    /// Whether any event line says `words`.
    pub fn said(&self, words: &str) -> bool {
        self.view.events.iter().any(|l| l.text.contains(words))
    }

    /// A time (unix ms) as HH:MM:SS at the offset this cockpit started with.
    pub fn hhmm(&self, unix_ms: i64) -> String {
        super::words::hhmm_at(unix_ms, *self.settings.start_wall.offset())
    }

    pub fn new(name: String, cutover: Cutover, start_wall: DateTime<FixedOffset>) -> State {
        State {
            settings: Settings {
                name,
                backend_kind: String::new(),
                backend_target: String::new(),
                driver: String::new(),
                pid: std::process::id(),
                lease_place: String::new(),
                smoke_available: false,
                start_wall,
                poll_interval: 1000,
                weight_scale: 100,
                guardrails: Guardrails::default(),
                metric_info: Vec::new(),
                auto_rollback_ms: None,
                window_extend_ms: 15 * 60_000,
                window_warn_ms: 2 * 60_000,
                keymap: Keymap::default(),
            },
            lease: LeaseView {
                role: Role::Driver,
                holder: None,
                lease_error: None,
            },
            traffic: Traffic {
                live_known: false,
                live_from: None,
                record: None,
                record_error: None,
                weights: None,
                weights_at: None,
                share_changed_at: 0,
                mismatch_reported: false,
                backend_error: None,
            },
            writes: Writes {
                in_flight: Vec::new(),
                failed: None,
                not_journaled: None,
                unknown: Vec::new(),
                last_write_done: 0,
                rollback_guard_until: None,
                next_id: 1,
            },
            window: WindowState {
                held: None,
                completed: None,
                auto: AutoRollback::default(),
                warned: false,
                live_cold_warned: false,
            },
            view: View {
                takeover_confirm: false,
                ask_target: false,
                confirm: None,
                overlay: Overlay::None,
                events: VecDeque::new(),
                quit: false,
                dirty: true,
            },
            preflight_pending: None,
            now: 0,
            cutover,
            signals: EnvPair::default(),
            guard: Vec::new(),
            breach_clock: BreachClock::default(),
            source_errors: Vec::new(),
            smoke: None,
        }
    }

    /// Time left before an auto-rollback, while one is counting down.
    pub fn auto_rollback_in(&self) -> Option<Millis> {
        let (limit, since) = (self.settings.auto_rollback_ms?, self.window.auto.since?);
        (!self.window.auto.cancelled && !self.window.auto.fired)
            .then(|| (since + limit).saturating_sub(self.now))
    }

    /// The newest write in flight.
    pub fn writing(&self) -> Option<&InFlight> {
        self.writes.in_flight.last()
    }

    pub fn live(&self) -> Env {
        self.cutover.live
    }

    pub fn candidate(&self) -> Env {
        self.cutover.candidate()
    }

    /// The wall-clock time of `at`.
    pub fn wall(&self, at: Millis) -> DateTime<FixedOffset> {
        self.settings.start_wall + chrono::Duration::milliseconds(at as i64)
    }

    /// The guardrails as last evaluated (on every event), `for` applied.
    pub fn guard_results(&self) -> &[RuleResult] {
        &self.guard
    }

    /// Re-evaluates the guardrails on the current signals.
    pub fn refresh_guards(&mut self) {
        let (cand, live) = (self.candidate(), self.live());
        self.guard = self.settings.guardrails.check(
            self.signals.get(cand),
            self.signals.get(live),
            self.now,
            self.settings.poll_interval,
            &mut self.breach_clock,
        );
    }

    /// Unix ms at `at` on the app clock.
    pub fn wall_ms(&self, at: Millis) -> i64 {
        self.wall(at).timestamp_millis()
    }

    /// Why the candidate cannot be trusted now: breaching, stale, or no data at all.
    /// `None` when it is judged and fine.
    pub fn candidate_failing(&self) -> Option<String> {
        let cand = self.candidate();
        if self.breach() {
            let tripped: Vec<String> = self
                .guard
                .iter()
                .filter(|r| r.check == crate::core::RuleCheck::Breach)
                .map(|r| match (&r.kind, r.value) {
                    (crate::core::RuleKind::ErrorRate, Some(v)) => {
                        format!("errors {:.2} % > {} %", v * 100.0, r.limit * 100.0)
                    }
                    (crate::core::RuleKind::P99, Some(v)) => {
                        format!("p99 {v:.0} ms > {:.0} ms", r.limit)
                    }
                    (k, Some(v)) => format!("{} {v:.3} > {}", k.name(), r.limit),
                    (k, None) => k.name(),
                })
                .collect();
            return Some(format!("{cand} breaches {}", tripped.join(", ")));
        }
        if self.candidate_stale() {
            return Some(format!("{cand}'s data is stale or missing"));
        }
        None
    }

    /// The pre-flight checklist before the first step away from 0: each item and whether it
    /// holds (`None`: not applicable).
    pub fn preflight(&self) -> Vec<(PreflightCheck, Option<bool>)> {
        use crate::core::Health;
        let (cand, live) = (self.candidate(), self.live());
        let health = |env| {
            self.signals
                .get(env)
                .health(self.now, self.settings.poll_interval)
        };
        let smoke = if self.settings.smoke_available {
            Some(matches!(
                &self.smoke,
                Some(SmokeState::Done { env, passed: true, at, .. })
                    if *env == cand && self.now.saturating_sub(*at) <= PREFLIGHT_SMOKE_FRESH
            ))
        } else {
            None
        };
        vec![
            (
                PreflightCheck::Healthy(cand),
                Some(health(cand) == Health::Up),
            ),
            (PreflightCheck::SmokePassed, smoke),
            (PreflightCheck::Warm(live), Some(health(live) == Health::Up)),
            (PreflightCheck::DataFresh, Some(!self.candidate_stale())),
        ]
    }

    /// The pre-flight items that fail.
    pub fn preflight_failures(&self) -> Vec<PreflightCheck> {
        self.preflight()
            .into_iter()
            .filter(|(_, ok)| *ok == Some(false))
            .map(|(name, _)| name)
            .collect()
    }

    /// The failing pre-flight items' words, comma-separated.
    pub fn preflight_failures_text(&self) -> String {
        let words: Vec<String> = self
            .preflight_failures()
            .iter()
            .map(ToString::to_string)
            .collect();
        words.join(", ")
    }

    pub fn candidate_stale(&self) -> bool {
        let s = self.signals.get(self.candidate());
        let newest = [
            s.health.as_ref().map(|(_, at)| *at),
            s.error_rate.latest.as_ref().map(|x| x.at),
            s.p99_ms.latest.as_ref().map(|x| x.at),
            s.rps.latest.as_ref().map(|x| x.at),
        ]
        .into_iter()
        .flatten()
        .max();
        newest.is_none_or(|at| self.now.saturating_sub(at) > self.settings.poll_interval * 3)
    }

    pub fn breach(&self) -> bool {
        any_breach(&self.guard)
    }

    /// The backend's weights are older than three polls.
    pub fn weights_stale(&self) -> bool {
        match self.traffic.weights_at {
            Some(at) => self.now.saturating_sub(at) > self.settings.poll_interval * 3,
            None => true,
        }
    }

    /// The share of traffic the candidate actually receives, from both envs' rps.
    pub fn observed_share(&self) -> Option<f64> {
        let rps = |env: Env| {
            self.signals
                .get(env)
                .rps
                .fresh_value(self.now, self.settings.poll_interval)
        };
        crate::core::observed_share(rps(self.candidate())?, rps(self.live())?)
    }

    /// The observed share has differed from the set share by more than
    /// [`MISMATCH_PP`] while the set share stood still for [`MISMATCH_AFTER_MS`]:
    /// sticky sessions, DNS caching or a wrong selector.
    pub fn observed_mismatch(&self) -> bool {
        let settled = self.now.saturating_sub(self.traffic.share_changed_at) > MISMATCH_AFTER_MS;
        match (self.observed_share(), self.cutover.share) {
            (Some(o), Some(set)) => settled && (o - f64::from(set)).abs() > MISMATCH_PP,
            _ => false,
        }
    }

    pub fn candidate_snapshot(&self) -> CandidateSnapshot {
        self.snapshot_of(self.candidate())
    }

    /// `env`'s signals now, for the journal.
    pub fn snapshot_of(&self, env: Env) -> CandidateSnapshot {
        let s = self.signals.get(env);
        let i = self.settings.poll_interval;
        CandidateSnapshot {
            env: Some(env),
            health: Some(s.health(self.now, i).word().to_string()),
            error_rate: s.error_rate.fresh_value(self.now, i),
            p99_ms: s.p99_ms.fresh_value(self.now, i),
            rps: s.rps.fresh_value(self.now, i),
            stale: s.error_rate.is_stale(self.now, i),
        }
    }

    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        if self.view.events.len() == EVENT_LINES {
            self.view.events.pop_front();
        }
        let text = text.into();
        match level {
            Level::Error => log::error!("{text}"),
            Level::Warn => log::warn!("{text}"),
            _ => log::info!("{text}"),
        }
        self.view.events.push_back(LogLine {
            at: self.now,
            level,
            text,
        });
    }

    /// A write order for `share`, numbered, with the current context.
    pub fn order(
        &mut self,
        share: u8,
        rollback: bool,
        action: WriteAction,
        source: &str,
    ) -> WriteOrder {
        let id = self.writes.next_id;
        self.writes.next_id += 1;
        WriteOrder {
            id,
            share,
            live: self.live(),
            rollback,
            action,
            source: source.into(),
            before: self.traffic.weights,
            candidate: self.candidate_snapshot(),
            reason: None,
            driver: match self.lease.role {
                Role::Driver => None,
                _ => self.lease.holder.as_ref().map(|l| l.holder.clone()),
            },
            window_ms: self.cutover.window,
            lease_token: match self.lease.role {
                Role::Driver => self.lease.holder.as_ref().map(|l| l.token.clone()),
                _ => None,
            },
            target_chosen: false,
        }
    }
}
