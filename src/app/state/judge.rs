//! What the state judges from what it holds: the guardrails, why the candidate cannot be
//! trusted, the pre-flight, staleness, observed against set traffic, and the candidate's
//! signals for the journal.

use super::{
    CandidateSnapshot, Env, MISMATCH_AFTER_MS, MISMATCH_PP, PREFLIGHT_SMOKE_FRESH, PreflightCheck,
    RuleResult, SmokeState, State, any_breach,
};

impl State {
    /// The guardrails as last evaluated (on every event), `for` applied.
    pub fn guard_results(&self) -> &[RuleResult] {
        &self.guard
    }

    /// Re-evaluates the guardrails on the current signals.
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

    /// No candidate signal is fresh: the youngest (by each sample's own time) is older
    /// than three polls, or there is none.
    pub fn candidate_stale(&self) -> bool {
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
}
