//! One look at the backend, the cutover record and every signal source, read at once, as
//! `cutover status` shows it and as a CLI forward write decides on.

use crate::app::Clock;
use crate::app::journal::CandidateSnapshot;
use crate::app::lease;
use crate::backends::{Backend, Slot};
use crate::config::Config;
use crate::core::{
    Env, EnvPair, EnvSignals, LiveFrom, Millis, Record, RuleResult, Weights, resolve_live,
};
use crate::shared::with_timeout;
use crate::signals::{EnvPoll, SignalSource};
use std::sync::Arc;
use std::time::Duration;

/// One read of the backend and every signal source, as a `status` would show.
pub(super) struct Snapshot {
    pub weights: Result<Weights, String>,
    pub record: Result<Option<Record>, String>,
    pub live: Option<(Env, LiveFrom)>,
    pub signals: EnvPair<EnvSignals>,
    pub poll_errors: Vec<String>,
    pub clock: Clock,
    /// Some rates come from two samples of counters a poll apart (HAProxy): a short look,
    /// whose OK needs the evidence of its counts ([`crate::core::judged::require_evidence`]).
    pub short_look: bool,
    /// Every poll taken, in order: a resample adds to them.
    polls: Vec<Poll>,
    /// `[schema]`: the migration history and each env's `schema-max`, as read.
    pub schema: Option<(
        Result<crate::core::schema::SchemaRead, String>,
        EnvPair<crate::signals::schema::MaxRead>,
    )>,
}

/// One read; live resolved as [`resolve_live`] says (config, record, all the traffic; never
/// a split's majority). The backend, the record and the sources are read concurrently.
pub(super) async fn snapshot(
    config: &Config,
    backend: &dyn Backend,
    sources: &[Arc<dyn SignalSource>],
) -> Snapshot {
    let clock = Clock::start();
    let timeout = config.poll_timeout;
    let target = backend.target();
    let place = backend.place(Slot::Record);
    let read = async {
        with_timeout(&target, timeout, backend.read())
            .await
            .map_err(|e| e.to_string())
    };
    let record = async {
        with_timeout(&place, timeout, backend.record())
            .await
            .map_err(|e| e.to_string())
    };
    let polls = poll_sources(sources, timeout, config.poll_interval, &clock);
    let feed = super::wiring::schema_feed(config);
    let schema = async {
        match &feed {
            Some(f) => Some(f.poll().await),
            None => None,
        }
    };
    let (weights, record, polls, schema) = futures::join!(read, record, polls, schema);
    let live = resolve_live(
        config.live,
        record.as_ref().ok().and_then(Option::as_ref),
        weights.as_ref().ok().copied(),
        lease::wall_ms(),
    );
    let short_look = sources.iter().any(|s| s.needs_warm_up());
    let (signals, poll_errors) = merge_polls(config, polls.clone());
    Snapshot {
        weights,
        record,
        live,
        signals,
        poll_errors,
        clock,
        short_look,
        polls,
        schema,
    }
}

impl Snapshot {
    /// The schema guard's verdict for a rollback to the live env: `None` without
    /// `[schema]`; `Err` (why) when who is live is not known.
    pub fn rollback_safety(
        &self,
        config: &Config,
    ) -> Option<Result<crate::app::safety::Judged, String>> {
        let g = config.schema.as_ref()?;
        let (read, max) = self.schema.as_ref()?;
        let Some((target, _)) = self.live else {
            return Some(Err(
                "who is live is not known: there is no rollback target to judge".into(),
            ));
        };
        Some(Ok(crate::app::safety::judge_look(
            &crate::app::safety::Look {
                read,
                max,
                record: self.record.as_ref().ok().and_then(Option::as_ref),
                weights: self.weights.as_ref().ok().copied(),
                target,
                target_version: self.version_of(config, target),
                contract: &g.contract.0,
                now: lease::wall_ms(),
            },
        )))
    }

    /// An env's version: as its signals report it, else as configured.
    pub fn version_of<'a>(&'a self, config: &'a Config, env: Env) -> Option<&'a str> {
        self.signals
            .get(env)
            .version
            .as_deref()
            .or(config.envs.get(env).version.as_deref())
    }

    /// The schema baseline a write that begins a cutover records.
    pub fn schema_baseline(&self) -> Option<String> {
        match &self.schema {
            Some((Ok(r), _)) => Some(r.baseline()),
            _ => None,
        }
    }
}

/// One more poll of the sources whose rates need two samples, a poll interval after the
/// last: their rates now span from their first sample to this one (up to their own
/// window), and the signals are merged again with it as the latest.
pub(super) async fn resample(
    config: &Config,
    sources: &[Arc<dyn SignalSource>],
    snap: &mut Snapshot,
) {
    tokio::time::sleep(config.poll_interval).await;
    for s in sources.iter().filter(|s| s.needs_warm_up()) {
        let name = s.name();
        let r = with_timeout(&name, config.poll_timeout, s.poll())
            .await
            .map_err(|e| e.to_string());
        snap.polls.push((name, r, snap.clock.now()));
    }
    // Errors of earlier samples that a later one answered are no longer this look's.
    let latest: Vec<Poll> = {
        let mut v = snap.polls.clone();
        v.sort_by_key(|(_, _, at)| *at);
        let mut seen = std::collections::HashSet::new();
        let mut keep: Vec<Poll> = v
            .into_iter()
            .rev()
            .filter(|(name, r, _)| r.is_ok() || seen.insert(name.clone()))
            .collect();
        keep.reverse();
        keep
    };
    let (signals, poll_errors) = merge_polls(config, latest);
    snap.signals = signals;
    snap.poll_errors = poll_errors;
}

/// Each source's poll, as `(name, result, when)`.
pub(super) type Poll = (String, Result<EnvPair<EnvPoll>, String>, Millis);

/// Every source polled once, concurrently; a source whose rates need two samples
/// ([`SignalSource::needs_warm_up`]) once more, `interval` after its first answer (unless
/// that failed), so that its rates are there and timed at the second sample. Each poll is
/// bounded by `timeout`: the whole takes at most `interval` + 2 × `timeout`. A source's
/// polls come in the order they were taken.
async fn poll_sources(
    sources: &[Arc<dyn SignalSource>],
    timeout: Duration,
    interval: Duration,
    clock: &Clock,
) -> Vec<Poll> {
    let polls = sources.iter().map(|s| async move {
        let name = s.name();
        let once = || async {
            let r = with_timeout(&name, timeout, s.poll())
                .await
                .map_err(|e| e.to_string());
            (name.clone(), r, clock.now())
        };
        let first = once().await;
        if !s.needs_warm_up() || first.1.is_err() {
            return vec![first];
        }
        tokio::time::sleep(interval).await;
        vec![first, once().await]
    });
    futures::future::join_all(polls)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Both envs' signals from every poll that answered (over the versions the config names),
/// and `name: error` for each that did not. Polls are applied in the order they were taken:
/// a source's second sample is its latest.
fn merge_polls(config: &Config, mut polls: Vec<Poll>) -> (EnvPair<EnvSignals>, Vec<String>) {
    polls.sort_by_key(|(_, _, at)| *at);
    let mut signals = EnvPair::<EnvSignals>::default();
    signals.blue.version = config.envs.blue.version.clone();
    signals.green.version = config.envs.green.version.clone();
    let mut poll_errors = Vec::new();
    let interval = config.poll_interval.as_millis() as u64;
    for (name, r, at) in polls {
        match r {
            Ok(pair) => {
                // A signal the source could not read is an error of the look, not a gap.
                for env in Env::ALL {
                    for e in pair.get(env).read_errors() {
                        poll_errors.push(format!("{name}: {env} {e}"));
                    }
                }
                let EnvPair { blue, green } = pair;
                blue.apply_to(&mut signals.blue, at, interval);
                green.apply_to(&mut signals.green, at, interval);
            }
            Err(e) => poll_errors.push(format!("{name}: {e}")),
        }
    }
    (signals, poll_errors)
}

/// How long ago the last write recorded at the backend was made (any terminal's or CLI's).
pub(super) fn since_last_write(snap: &Snapshot) -> Option<Millis> {
    let last = snap.record.as_ref().ok()?.as_ref()?.last.as_ref()?;
    crate::core::judged::since_last_write(Some(last.at), lease::wall_ms())
}

/// The guardrails of one look as the cockpit judges them: windowed rules settle for the
/// longest source window after the last recorded move (a breach of a serving candidate
/// still counts).
pub(super) fn settle_look(
    config: &Config,
    snap: &Snapshot,
    results: &mut [RuleResult],
    (cand, at, serving): (Env, crate::core::Judging, bool),
) {
    if snap.short_look {
        crate::core::judged::require_evidence(results, snap.signals.get(cand), at);
    }
    let window = super::wiring::signal_window(config).as_millis() as u64;
    if let Some(ago) = since_last_write(snap)
        && ago < window
    {
        let until = snap.clock.now() + (window - ago);
        crate::core::judged::settle(results, until, serving);
    }
}

/// The candidate's signals as the journal keeps them beside a decision, at `(now, poll
/// interval)`: a value stale by its own time is left out, and said stale.
pub(super) fn snapshot_of(
    signals: &EnvPair<EnvSignals>,
    cand: Env,
    (now, interval): (Millis, Millis),
) -> CandidateSnapshot {
    let s = signals.get(cand);
    CandidateSnapshot {
        env: Some(cand),
        health: s.health.as_ref().map(|(h, _)| h.health.word().to_string()),
        error_rate: s.error_rate.fresh_value(now, interval),
        p99_ms: s.p99_ms.fresh_value(now, interval),
        rps: s.rps.fresh_value(now, interval),
        stale: s.error_rate.latest.is_some() && s.error_rate.is_stale(now, interval),
        invalid: crate::app::journal::invalid_notes(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Health, HealthSample, Reading};

    fn config() -> Config {
        let text =
            "[envs.green]\nversion = \"v2\"\n[backend]\nkind = \"sim\"\ncontrol = \"in-process\"\n";
        Config::parse(text, "test").expect("a valid config")
    }

    fn health(h: Health) -> HealthSample {
        HealthSample {
            health: h,
            up: 1,
            total: 1,
            latency_ms: None,
            failures: 0,
            detail: String::new(),
        }
    }

    #[test]
    fn polls_merge_per_env_and_failures_are_named() {
        let blue = EnvPoll {
            error_rate: Some(Reading::Value(0.01)),
            ..EnvPoll::default()
        };
        let green = EnvPoll {
            p99_ms: Some(Reading::Value(250.0)),
            health: Some(health(Health::Down)),
            ..EnvPoll::default()
        };
        let polls = vec![
            ("prometheus".to_string(), Ok(EnvPair::new(blue, green)), 7),
            (
                "probes".to_string(),
                Err("connection refused".to_string()),
                8,
            ),
        ];
        let (signals, errors) = merge_polls(&config(), polls);
        assert_eq!(errors, ["probes: connection refused"]);
        assert_eq!(signals.blue.error_rate.value(), Some(0.01));
        assert_eq!(signals.blue.p99_ms.value(), None);
        assert_eq!(signals.green.p99_ms.value(), Some(250.0));
        assert_eq!(signals.green.p99_ms.latest.as_ref().map(|s| s.at), Some(7));
        assert_eq!(signals.green.version.as_deref(), Some("v2"));
        assert_eq!(signals.blue.version, None);
        let cand = snapshot_of(&signals, Env::Green, (8, 1000));
        assert_eq!(cand.env, Some(Env::Green));
        assert_eq!(cand.health.as_deref(), Some("down"));
        assert_eq!(cand.p99_ms, Some(250.0));
        assert_eq!(cand.error_rate, None, "unknown is never 0");
    }

    #[test]
    fn a_second_sample_is_the_latest_and_its_time_is_the_signals() {
        let rate = |r: Reading| EnvPoll {
            error_rate: Some(r),
            ..EnvPoll::default()
        };
        let first = rate(Reading::NoData("first poll: rates need two".into()));
        let second = rate(Reading::Value(0.1));
        let polls = vec![
            (
                "stats".to_string(),
                Ok(EnvPair::new(EnvPoll::default(), first)),
                5,
            ),
            (
                "stats".to_string(),
                Ok(EnvPair::new(EnvPoll::default(), second)),
                1_007,
            ),
        ];
        let (signals, errors) = merge_polls(&config(), polls);
        assert!(errors.is_empty());
        let g = &signals.green.error_rate;
        assert_eq!(g.value(), Some(0.1));
        assert_eq!(g.latest.as_ref().map(|s| s.at), Some(1_007));
        assert_eq!(
            g.history.iter().copied().collect::<Vec<_>>(),
            [None, Some(0.1)]
        );
    }

    /// A source that counts its polls, answering the count as green's error rate.
    struct Counting {
        warm: bool,
        fail: bool,
        polls: std::sync::atomic::AtomicU32,
    }

    #[async_trait::async_trait]
    impl SignalSource for Counting {
        fn name(&self) -> String {
            format!("warm {} fail {}", self.warm, self.fail)
        }
        async fn poll(&self) -> Result<EnvPair<EnvPoll>, crate::shared::SignalError> {
            let n = self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if self.fail {
                return Err("refused".to_string().into());
            }
            let green = EnvPoll {
                error_rate: Some(Reading::Value(f64::from(n))),
                ..EnvPoll::default()
            };
            Ok(EnvPair::new(EnvPoll::default(), green))
        }
        fn needs_warm_up(&self) -> bool {
            self.warm
        }
        fn provides(&self) -> crate::core::Provided {
            crate::core::Provided {
                health: false,
                error_rate: true,
                p99: false,
                rps: false,
                counts: false,
            }
        }
    }

    #[tokio::test]
    async fn only_a_source_that_needs_two_samples_is_polled_twice_one_interval_apart() {
        let source = |warm, fail| {
            Arc::new(Counting {
                warm,
                fail,
                polls: 0.into(),
            })
        };
        let (warm, plain, broken) = (
            source(true, false),
            source(false, false),
            source(true, true),
        );
        let sources: Vec<Arc<dyn SignalSource>> = vec![warm.clone(), plain.clone(), broken.clone()];
        let interval = Duration::from_millis(200);
        let clock = Clock::start();
        let polls = poll_sources(&sources, Duration::from_secs(5), interval, &clock).await;
        let count = |s: &Counting| s.polls.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((count(&warm), count(&plain), count(&broken)), (2, 1, 1));
        let times: Vec<Millis> = polls
            .iter()
            .filter(|(n, _, _)| *n == warm.name())
            .map(|(_, _, at)| *at)
            .collect();
        let [first, second] = times[..] else {
            panic!("two samples: {times:?}")
        };
        let apart = second - first;
        assert!(
            (200..2_000).contains(&apart),
            "one interval apart: {apart} ms"
        );
        let (signals, errors) = merge_polls(&config(), polls);
        assert_eq!(errors, ["warm true fail true: refused"], "not asked again");
        let g = &signals.green.error_rate;
        assert_eq!(g.latest.as_ref().map(|s| s.at), Some(second));
    }
}
