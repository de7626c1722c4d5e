//! Everything the screen shows, owned by the loop alone: `State` in its groups and the
//! basic reads of it. The small types it is made of are in `kinds.rs`; what it judges (the
//! guardrails, the pre-flight, staleness, observed traffic) in `judge.rs`.

mod judge;
mod kinds;

pub use kinds::*;

use crate::app::engine::WriteOrder;
use crate::app::journal::{CandidateSnapshot, WriteAction};
use crate::app::keymap::Keymap;
use crate::core::guardrail::any_breach;
use crate::core::{
    BreachClock, Cutover, Env, EnvPair, EnvSignals, Guardrails, LiveFrom, Millis, Provided, Record,
    RuleResult, Weights,
};
use chrono::{DateTime, FixedOffset};
use std::collections::VecDeque;

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
    /// What the configured signal sources provide: a guardrail on anything else says no
    /// source is configured, not "no data yet".
    pub provided: Provided,
    /// Extra metrics as configured (name, unit, bad direction).
    pub metric_info: Vec<crate::core::MetricInfo>,
    /// Roll back by itself after a breach lasting this long.
    pub auto_rollback_ms: Option<Millis>,
    pub window_extend_ms: Millis,
    pub window_warn_ms: Millis,
    pub keymap: Keymap,
    /// The longest window of any windowed signal (a Prometheus `rate[1m]`, the simulator's
    /// 10 s): after a move, values settle this long. 0: no windowed signal.
    pub settle_ms: Millis,
    /// Each step holds at least this long before the next forward move (`min-bake`).
    pub min_bake_ms: Option<Millis>,
    /// `[approval]`: what needs a second person.
    pub approval: Option<crate::core::approval::Rules>,
    /// `cold-rollback = "ramp"`: a cold rollback target gets the traffic back in steps.
    pub cold_ramp: Option<crate::core::cutover::ColdRamp>,
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
    /// Whether the record has been read and weighed against the traffic once: from then on
    /// this cockpit watched, and a record that changes who is live is followed only when
    /// that env holds all the traffic.
    pub record_seen: bool,
    /// When the record as now stored was first read: weights read before may predate it.
    pub record_read_at: Millis,
    /// Whether the record is to be weighed again with the next read: taken before the
    /// backend was read, or read after the weights it would be weighed against.
    pub record_pending: bool,
    /// A record that does not agree with the traffic, as said (once).
    pub disputed: Option<Record>,
    pub weights: Option<Weights>,
    pub weights_at: Option<Millis>,
    /// When the read that gave `weights` started.
    pub weights_started: Option<Millis>,
    /// When the read-back share last changed: observed traffic lags a change.
    pub share_changed_at: Millis,
    /// When traffic last moved (a read-back share changed from a known one): windowed
    /// values settle from then.
    pub moved_at: Option<Millis>,
    /// Whether that move was a rollback (ours or one the record names), not a step back or
    /// a change outside cutover (a balancer's restart to its config's weights).
    pub moved_by_rollback: bool,
    /// When the current step's bake clock started (the move, or the resume after a pause).
    pub bake_since: Option<Millis>,
    /// Whether the lasting observed-vs-set mismatch has been reported.
    pub mismatch_reported: bool,
    /// Since when the observed share has been off (or on) the set one, without a break.
    pub mismatch_since: Option<Millis>,
    pub match_since: Option<Millis>,
    /// Until when clients may still see the weights before the last verified write (a
    /// DNS TTL after it): the observed share is expected to lag until then.
    pub tail_until: Option<Millis>,
    pub backend_error: Option<(ReadError, Millis)>,
    /// A change seen that no write of this cutover made and the record did not (yet) name:
    /// someone's write through cutover updates the record only after its read-back, so the
    /// record read with the next poll decides (theirs, or external and journaled).
    pub unexplained: Option<Unexplained>,
    /// When the record's last write that a change was last put down to was made: the same
    /// write never explains a second change (a rollback to 0 % an hour ago is not the one
    /// seen now).
    pub attributed_at: Option<i64>,
    /// How long clients may keep an old answer after any change (a DNS TTL), as the backend
    /// last said: a change this cockpit did not make has its tail too.
    pub propagation: Option<std::time::Duration>,
}

/// A change waiting for the next record read to say who made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Unexplained {
    pub before: Option<Weights>,
    pub after: Weights,
    /// The candidate's share before and after, as words (`?` unknown).
    pub old: String,
    pub new: String,
}

/// Writes of this cutover: in flight, unknown, failed, and the guard after a rollback.
#[derive(Clone, Debug)]
pub struct Writes {
    /// Writes issued and not yet done, oldest first.
    pub in_flight: Vec<InFlight>,
    /// Writes done (read back, shown) whose journal fsync and record update are still
    /// being made: a quit waits a moment for them.
    pub settling: Vec<InFlight>,
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
    /// A cold rollback target getting the traffic back in steps: the shares left, and
    /// when the next goes (`None`: the step before has not read back yet).
    pub ramp: Option<Ramp>,
}

/// A rollback in steps (`cold-rollback = "ramp"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Ramp {
    pub rest: Vec<u8>,
    pub next_at: Option<Millis>,
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
    /// The guardrails breached as last told (candidate, rule, since): their start and clear
    /// are events and journal lines.
    pub breaches: Vec<(Env, crate::core::RuleKind, Millis)>,
    /// Sources whose last poll failed: (source, error, since).
    pub source_errors: Vec<(String, String, Millis)>,
    pub smoke: Option<SmokeState>,
    /// `[schema]`: the migration history, for the rollback line.
    pub schema: SchemaWatch,
    /// The rollback target's own smoke checks while it waits.
    pub standby: Standby,
    /// A second person for promotion (`[approval]`).
    pub approval: ApprovalView,
}

impl State {
    /// The first key bound to `action`, for messages ("r rolls back").
    pub fn key(&self, action: crate::app::keymap::Action) -> String {
        self.settings.keymap.first(action)
    }

    /// Why live is not known, for messages: a record that does not agree with the
    /// traffic, one waiting for a read newer than it, a split nothing names, or no read.
    pub fn live_unknown_why(&self) -> String {
        let t = &self.traffic;
        match (&t.disputed, &t.record, t.weights) {
            (Some(r), _, Some(w)) => format!(
                "the cutover record ({} live, {} at {} %) does not agree with the traffic read back ({w})",
                r.live,
                r.candidate(),
                r.pos
            ),
            (None, Some(r), Some(_)) => format!(
                "the cutover record names {} live; waiting for a read of the traffic newer than it",
                r.live
            ),
            (_, _, Some(w)) => format!(
                "traffic is {} ({w}) and no cutover record names the live env",
                w.split_words()
            ),
            (_, _, None) => "the backend's traffic state is unknown".to_string(),
        }
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
        crate::app::words::hhmm_at(unix_ms, *self.settings.start_wall.offset())
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
                provided: Provided::ALL,
                metric_info: Vec::new(),
                auto_rollback_ms: None,
                window_extend_ms: 15 * 60_000,
                window_warn_ms: 2 * 60_000,
                keymap: Keymap::default(),
                settle_ms: 0,
                min_bake_ms: None,
                approval: None,
                cold_ramp: None,
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
                record_seen: false,
                record_read_at: 0,
                record_pending: false,
                disputed: None,
                weights: None,
                weights_at: None,
                weights_started: None,
                share_changed_at: 0,
                moved_at: None,
                moved_by_rollback: false,
                bake_since: None,
                mismatch_reported: false,
                mismatch_since: None,
                match_since: None,
                tail_until: None,
                backend_error: None,
                unexplained: None,
                attributed_at: None,
                propagation: None,
            },
            writes: Writes {
                in_flight: Vec::new(),
                settling: Vec::new(),
                failed: None,
                not_journaled: None,
                unknown: Vec::new(),
                last_write_done: 0,
                rollback_guard_until: None,
                next_id: 1,
                ramp: None,
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
            breaches: Vec::new(),
            source_errors: Vec::new(),
            smoke: None,
            schema: SchemaWatch::default(),
            standby: Standby::default(),
            approval: ApprovalView::default(),
        }
    }

    /// How warm `env` is kept: ("warm 6/6", false), ("COLD 2/6", true), or unknown.
    pub fn warmth(&self, env: Env) -> (String, bool) {
        use crate::core::Health;
        let sig = self.signals.get(env);
        let (word, cold) = match sig.health(self.now, self.settings.poll_interval) {
            Health::Up => ("warm", false),
            Health::Degraded => ("DEGRADED", true),
            Health::Down => ("COLD", true),
            Health::Unknown => return ("warmth unknown".into(), false),
        };
        match &sig.health {
            Some((h, _)) if h.total > 0 => (format!("{word} {}/{}", h.up, h.total), cold),
            _ => (word.to_string(), cold),
        }
    }

    /// Whether the rollback target is a standby now: live is known and the candidate
    /// serves.
    pub fn standby_waits(&self) -> bool {
        self.traffic.live_known && self.cutover.share.is_some_and(|x| x > 0)
    }

    /// Whether a rollback to the live env is still safe by the schema guard, with its
    /// words; `None` when no `[schema]` is configured. An unsafe verdict seen during the
    /// cutover under way is kept over later reads that are not unsafe.
    pub fn rollback_safety(&self) -> Option<crate::app::safety::Judged> {
        let now = self.rollback_safety_now()?;
        match &self.schema.unsafe_seen {
            Some(seen)
                if now.safety.state() != "unsafe"
                    && seen.target == now.target
                    && seen.began_at.is_some()
                    && seen.began_at == now.began_at =>
            {
                Some(seen.kept_over(&now))
            }
            _ => Some(now),
        }
    }

    /// The schema guard's verdict from the last read alone.
    pub fn rollback_safety_now(&self) -> Option<crate::app::safety::Judged> {
        let w = &self.schema;
        let contract = w.contract.as_ref()?;
        let target = self.live();
        if !self.traffic.live_known {
            return Some(crate::app::safety::Judged::unknown(
                target,
                "who is live is not known: there is no rollback target to judge".into(),
            ));
        }
        let stale = w
            .read_at
            .filter(|at| self.now.saturating_sub(*at) > w.stale_ms)
            .map(|_| format!("over {} s", w.stale_ms / 1000));
        let max = if *w.max_configured.get(target) {
            Some(match w.max.get(target) {
                Some(Ok(v)) => Ok(v.as_str()),
                Some(Err(e)) => Err(e.as_str()),
                None => Err("not read yet"),
            })
        } else {
            None
        };
        let now = self.wall_ms(self.now);
        let record = self
            .traffic
            .record
            .as_ref()
            .filter(|_| self.traffic.live_known && self.traffic.disputed.is_none())
            .and_then(|r| crate::app::safety::Began::of(r, target, now));
        let own = w
            .started
            .as_ref()
            .filter(|_| self.cutover.share.is_some_and(|x| x > 0))
            .map(|(b, at)| crate::app::safety::Began {
                baseline: b.as_deref(),
                at: *at,
                window_open: true,
            });
        Some(crate::app::safety::judge(&crate::app::safety::Input {
            read: w.read.as_ref(),
            stale,
            target,
            target_version: self.signals.get(target).version.as_deref(),
            max,
            cutover: record.or(own),
            serving: self.cutover.share.is_some_and(|x| x > 0),
            contract,
        }))
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

    /// Unix ms at `at` on the app clock.
    pub fn wall_ms(&self, at: Millis) -> i64 {
        self.wall(at).timestamp_millis()
    }

    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        if self.view.events.len() == EVENT_LINES {
            self.view.events.pop_front();
        }
        // The events pane only: `L` is the diagnostic log (calls, timings, errors), not a
        // second copy of these lines.
        // Escaped here, once: an event names text from a backend or a feed (another
        // operator's lease holder, a record's starter), and ratatui would drop an ESC alone
        // and pass a bidirectional override through.
        let text: String = text.into();
        let text = crate::shared::printable(&text).into_owned();
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
        // The schema the live env serves on, recorded when this write begins a cutover.
        let schema = match &self.schema.read {
            Some(Ok(r)) if self.schema.contract.is_some() => Some(r.baseline()),
            _ => None,
        };
        if !rollback && share > 0 && self.cutover.share == Some(0) && self.schema.contract.is_some()
        {
            self.schema.started = Some((schema.clone(), self.wall_ms(self.now)));
        }
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
            // The operator said where all traffic goes, or this cockpit watched who was
            // live and the record was rewritten since: once it reads back there, the
            // record names it, over one that said otherwise.
            target_chosen: rollback
                && (self.traffic.live_from == Some(LiveFrom::Chosen)
                    || self.traffic.disputed.is_some()),
            // What this move was computed from: the share its own write before it asked
            // for, else the share read back.
            expect: if rollback { None } else { self.cutover.base() },
            notes: Vec::new(),
            schema,
            approval: None,
            rules: self
                .settings
                .approval
                .as_ref()
                .map(|r| r.required_for.clone())
                .unwrap_or_default(),
        }
    }
}
