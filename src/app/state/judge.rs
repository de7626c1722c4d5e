//! What the state judges from what it holds: the guardrails, why the candidate cannot be
//! trusted, the pre-flight, staleness, observed against set traffic, and the candidate's
//! signals for the journal.

use crate::core::{Doubts, Hold, Millis, RuleCheck};

use super::{
    CandidateSnapshot, Env, MISMATCH_AFTER_MS, MISMATCH_PP, PREFLIGHT_SMOKE_FRESH, PreflightCheck,
    RuleResult, SmokeState, State, any_breach,
};

impl State {
    /// The guardrails as last evaluated (on every event), `for` applied.
    pub fn guard_results(&self) -> &[RuleResult] {
        &self.guard
    }

    /// Re-evaluates the guardrails on the current signals. While windowed values settle
    /// after a move they get no OK verdict; a breach of a candidate that serves traffic
    /// still counts (settling never hides a failing release), one at 0 % does not.
    pub fn refresh_guards(&mut self) {
        let (cand, live) = (self.candidate(), self.live());
        let at = crate::core::Judging {
            now: self.now,
            interval: self.settings.poll_interval,
            provided: self.settings.provided,
        };
        self.guard = self.settings.guardrails.check(
            self.signals.get(cand),
            self.signals.get(live),
            at,
            &mut self.breach_clock,
        );
        if let Some(until) = self.settling_until() {
            let serving = self.cutover.share.is_some_and(|s| s > 0);
            crate::core::judged::settle(&mut self.guard, until, serving);
        }
    }

    /// Until when windowed values (rates, p99, observed share) still include traffic from
    /// before the last move; `None` when they do not.
    pub fn settling_until(&self) -> Option<Millis> {
        let until = self
            .traffic
            .moved_at?
            .saturating_add(self.settings.settle_ms);
        (self.now < until).then_some(until)
    }

    /// What makes a forward move doubtful now. At 0 % the candidate serves nothing, so
    /// nothing can have judged it on traffic: the pre-flight (fresh feeds, health, smoke)
    /// is the gate of the first step, not "unjudged".
    pub fn doubts(&self) -> Doubts {
        let serving = self.cutover.share.is_some_and(|s| s > 0);
        Doubts {
            breach: self.breach(),
            stale: self.candidate_stale(),
            unjudged: serving && self.unjudged().is_some(),
            hold: self.hold(),
        }
    }

    /// Why nothing has judged the candidate (no data, settling, …), when that is so.
    pub fn unjudged(&self) -> Option<String> {
        crate::core::judged::unjudged(&self.guard, self.candidate())
    }

    /// Why the current step must hold before the next forward move: `min-bake` not yet
    /// met, or fewer than `min-requests` served in the window (never at 0 %: the first
    /// step has nothing to bake or count; never at 100 %: nothing is forward of it).
    pub fn hold(&self) -> Option<Hold> {
        let share = self.cutover.share?;
        if share == 0 || share == 100 {
            return None;
        }
        if let (Some(min), Some(since)) = (self.settings.min_bake_ms, self.traffic.bake_since) {
            let left = min.saturating_sub(self.now.saturating_sub(since));
            if left > 0 {
                return Some(Hold::Bake { left });
            }
        }
        let min = self.settings.guardrails.min_requests?;
        if !self.settings.provided.counts {
            // Nothing counts requests: the guardrail says so; a hold would never lift.
            return None;
        }
        let seen = self
            .signals
            .get(self.candidate())
            .requests
            .fresh_value(self.now, self.settings.poll_interval)
            .map(|n| n.max(0.0) as u64);
        // Counted only while the window holds this step's traffic alone.
        let counted = self.settling_until().is_none();
        match seen {
            Some(n) if counted && n >= min => None,
            _ => Some(Hold::Requests {
                seen: seen.filter(|_| counted),
                min,
            }),
        }
    }

    /// Why the candidate cannot be trusted now: breaching, stale, or no data at all.
    /// `None` when it is judged and fine.
    pub fn candidate_failing(&self) -> Option<String> {
        let cand = self.candidate();
        if self.breach() {
            let tripped: Vec<String> = self
                .guard
                .iter()
                .filter(|r| r.check == RuleCheck::Breach)
                .map(crate::app::words::rule_text)
                .collect();
            return Some(format!("{cand} breaches {}", tripped.join(", ")));
        }
        if self.candidate_stale() {
            return Some(format!("{cand}'s data is stale or missing"));
        }
        if let Some((kind, why)) = self.guard.iter().find_map(|r| match &r.check {
            crate::core::RuleCheck::Invalid(why) => Some((r.kind.name(), why)),
            _ => None,
        }) {
            return Some(format!("{cand}'s {kind} is invalid: {why}"));
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
                    if *env == cand && self.smoke_counts(*at)
            ))
        } else {
            None
        };
        let mut items = vec![
            (
                PreflightCheck::Healthy(cand),
                Some(health(cand) == Health::Up),
            ),
            (PreflightCheck::SmokePassed, smoke),
            (PreflightCheck::Warm(live), Some(health(live) == Health::Up)),
            (PreflightCheck::DataFresh, Some(self.judgeable())),
        ];
        // Stepping straight back onto a release just rolled back is asked about.
        if self.traffic.moved_by_rollback {
            items.push((
                PreflightCheck::Settled,
                Some(self.settling_until().is_none()),
            ));
        }
        items
    }

    /// Whether a smoke run at `at` still stands for the pre-flight: lately, and not from
    /// before a rollback.
    pub fn smoke_counts(&self, at: crate::core::Millis) -> bool {
        let before_rollback =
            self.traffic.moved_by_rollback && self.traffic.moved_at.is_some_and(|m| at <= m);
        self.now.saturating_sub(at) <= PREFLIGHT_SMOKE_FRESH && !before_rollback
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
            .map(|item| match (item, self.not_judgeable()) {
                // Which data, and why: the dialog's words, journaled alike.
                (PreflightCheck::DataFresh, Some(why)) => format!("{item} ({why})"),
                _ => item.to_string(),
            })
            .collect();
        words.join(", ")
    }

    /// The candidate's error-rate and p99 feeds answer, freshly: a value, or "no
    /// requests" (at 0 % there is nothing to measure yet) — not an error, not nothing, not
    /// stale. Without such feeds nothing will judge the candidate once it serves.
    pub fn judgeable(&self) -> bool {
        self.not_judgeable().is_none()
    }

    /// Why the candidate's error-rate and p99 feeds could not judge it (no source, stale,
    /// unreadable); `None` when they can.
    pub fn not_judgeable(&self) -> Option<String> {
        crate::core::judged::not_judgeable(
            self.signals.get(self.candidate()),
            self.settings.provided,
            (self.now, self.settings.poll_interval),
            self.candidate(),
        )
    }

    /// No candidate signal is fresh: the youngest (by each sample's own time) is older
    /// than three polls, or there is none.
    pub fn candidate_stale(&self) -> bool {
        // With no source of any signal there is nothing to go stale: that is "nothing
        // judges the candidate", said as such, not "stale".
        if self.settings.provided == crate::core::Provided::NONE {
            return false;
        }
        let s = self.signals.get(self.candidate());
        let now = self.now;
        let youngest = [
            s.health.as_ref().map(|(_, at)| now.saturating_sub(*at)),
            s.error_rate.age(now),
            s.p99_ms.age(now),
            s.rps.age(now),
        ]
        .into_iter()
        .flatten()
        .min();
        youngest.is_none_or(|age| age > self.settings.poll_interval * 3)
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
        // Within a DNS tail the observed share is expected to lag: no mismatch yet.
        let settled = self.now.saturating_sub(self.traffic.share_changed_at) > MISMATCH_AFTER_MS
            && self.settling_until().is_none()
            && self.traffic.tail_until.is_none_or(|u| self.now >= u);
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
            invalid: crate::app::journal::invalid_notes(s),
        }
    }
}
