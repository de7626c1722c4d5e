//! `cutover wait`: what a pipeline waits for, and whether one look at the backend and the
//! cutover record says it holds. Pure: the caller reads, this judges.

use super::record::LastWrite;
use super::{Env, Record, Weights};

/// What `wait --for` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The candidate holds all the traffic, read back (or held it and the window has
    /// since completed).
    Promoted,
    /// The last write of the cutover was a rollback and its live env holds everything.
    RolledBack,
    /// The candidate's share reads back as this.
    Share(u8),
    /// Every guardrail of the candidate says ok (not stale, not waiting, not unknown).
    Healthy,
    /// The rollback window ran out with the candidate at 100 %: the release is done.
    WindowDone,
}

impl Condition {
    /// `promoted`, `rolled-back`, `share=N`, `healthy`, `window-done`.
    pub fn parse(s: &str) -> Result<Condition, String> {
        let expected = "expected promoted, rolled-back, share=N (0-100), healthy or window-done";
        match s.trim() {
            "promoted" => Ok(Condition::Promoted),
            "rolled-back" => Ok(Condition::RolledBack),
            "healthy" => Ok(Condition::Healthy),
            "window-done" => Ok(Condition::WindowDone),
            other => match other.strip_prefix("share=") {
                Some(n) => match n.trim().trim_end_matches('%').trim().parse::<u8>() {
                    Ok(v) if v <= 100 => Ok(Condition::Share(v)),
                    _ => Err(format!("share must be 0-100, got {n:?}")),
                },
                None => Err(expected.to_string()),
            },
        }
    }

    /// As written on the command line.
    pub fn words(self) -> String {
        match self {
            Condition::Promoted => "promoted".into(),
            Condition::RolledBack => "rolled-back".into(),
            Condition::Share(n) => format!("share={n}"),
            Condition::Healthy => "healthy".into(),
            Condition::WindowDone => "window-done".into(),
        }
    }
}

/// One look, as `wait` reads it.
#[derive(Clone, Debug)]
pub struct Look {
    /// The weights read back; `None` when the backend did not answer.
    pub weights: Option<Weights>,
    /// The cutover record: `Err` when it could not be read.
    pub record: Result<Option<Record>, String>,
    /// Who is live ([`super::resolve_live`]); `None` when nothing says.
    pub live: Option<Env>,
    /// The guardrails' verdict of the candidate (`ok`, `breach`, `stale`, …).
    pub guard: Option<&'static str>,
    /// Whether the record's last write is a rollback (the caller knows the words).
    pub last_is_rollback: bool,
    /// Wall clock, unix ms.
    pub now: i64,
}

impl Look {
    /// The candidate: the record's while its cutover is under way (it stays the same
    /// across the window's end), else the env that is not live. None while who is live is
    /// unknown (a record that does not agree with the traffic, a split with no record).
    pub fn candidate(&self) -> Option<Env> {
        let live = self.live?;
        match self.record() {
            Some(r) if !self.finished() => Some(r.candidate()),
            _ => Some(live.other()),
        }
    }

    /// The record's cutover is over: its window ran out with its candidate holding
    /// everything (the candidate is the new live, as `status` says).
    pub fn finished(&self) -> bool {
        self.record().is_some_and(|r| {
            r.window_over(self.now) && self.weights.and_then(|w| w.all_on()) == Some(r.candidate())
        })
    }

    /// The candidate's share as read back.
    pub fn share(&self) -> Option<u8> {
        let w = self.weights?;
        w.share_of(self.candidate()?)
    }

    /// The record, when it was read and there is one.
    pub fn record(&self) -> Option<&Record> {
        self.record.as_ref().ok().and_then(Option::as_ref)
    }

    /// A rollback is the last word: the record says so and its live env holds everything.
    pub fn rolled_back(&self) -> bool {
        self.last_is_rollback
            && self
                .record()
                .is_some_and(|r| self.weights.and_then(|w| w.all_on()) == Some(r.live))
    }
}

/// What `wait` concludes from a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds: exit 0.
    Holds,
    /// Rolled back while waiting for something else: exit 3.
    RolledBack,
    /// Not yet.
    Waiting,
}

/// Follows looks over time: what one look cannot tell it remembers — the cutover it saw
/// promoted and the end of its window, so that the window running out (or the record
/// cleared once that end has passed) reads as done, while a cutover already over when the
/// wait began does not count: the wait is then for the next one; and the last write it
/// first read, so that a rollback is "since the wait began" by what was seen to change,
/// never by comparing two hosts' clocks.
#[derive(Clone, Debug)]
pub struct Follow {
    condition: Condition,
    /// Whether a look has read the record yet, and its last write then (`None`: no
    /// record, or none written yet).
    baseline: bool,
    first_last: Option<LastWrite>,
    /// The cutover (its live env and start) seen with its candidate at 100 %, and the end
    /// of its window as last seen.
    promoted: Option<(Env, i64, Option<i64>)>,
}

impl Follow {
    pub fn new(condition: Condition) -> Follow {
        Follow {
            condition,
            baseline: false,
            first_last: None,
            promoted: None,
        }
    }

    /// Whether `look` ends the wait.
    pub fn judge(&mut self, look: &Look) -> Verdict {
        let all = look.weights.and_then(|w| w.all_on());
        let last = look.record().and_then(|r| r.last.clone());
        if !self.baseline && look.record.is_ok() {
            self.baseline = true;
            self.first_last.clone_from(&last);
        }
        let running = look.record().filter(|_| !look.finished());
        if let Some(r) = running
            && look.live.is_some()
            && look.share() == Some(100)
        {
            self.promoted = Some((r.live, r.at, r.end));
        }
        // The cutover seen promoted is over: its window ran out, or the record was cleared
        // once the end seen had passed, with its candidate still holding everything.
        let done = match &look.record {
            Ok(Some(r)) => {
                look.finished() && self.promoted.is_some_and(|p| (p.0, p.1) == (r.live, r.at))
            }
            Ok(None) => self.promoted.is_some_and(|(live, _, end)| {
                all == Some(live.other()) && end.is_some_and(|e| look.now >= e)
            }),
            Err(_) => false,
        };
        let holds = match self.condition {
            Condition::Promoted => {
                (running.is_some() && look.live.is_some() && look.share() == Some(100)) || done
            }
            Condition::RolledBack => look.rolled_back(),
            Condition::Share(n) => look.share() == Some(n),
            Condition::Healthy => look.live.is_some() && look.guard == Some("ok"),
            Condition::WindowDone => done,
        };
        let rolled_back_since = look.rolled_back() && self.baseline && self.first_last != last;
        // A rollback ends a wait for anything it does not itself give (a rolled-back
        // cutover, a share it sets): a candidate judged ok after it is not the release.
        let given = matches!(self.condition, Condition::RolledBack | Condition::Share(_));
        if rolled_back_since && !(given && holds) {
            Verdict::RolledBack
        } else if holds {
            Verdict::Holds
        } else {
            Verdict::Waiting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::LastWrite;

    #[allow(clippy::unnecessary_wraps)] // a look's weights are optional
    fn w(blue: u32, green: u32) -> Option<Weights> {
        Some(Weights { blue, green })
    }

    fn rec(pos: u8, end: Option<i64>, last: Option<(&str, i64)>) -> Record {
        Record {
            pos,
            end,
            last: last.map(|(a, at)| LastWrite {
                who: "bob@h".into(),
                action: a.into(),
                at,
                pid: None,
            }),
            ..Record::new(Env::Blue, "alice@h", 1_000)
        }
    }

    fn look(weights: Option<Weights>, record: Option<Record>, now: i64) -> Look {
        let last_is_rollback = record
            .as_ref()
            .and_then(|r| r.last.as_ref())
            .is_some_and(|l| l.action.contains("rollback"));
        let live = crate::core::resolve_live(None, record.as_ref(), weights, now).map(|(e, _)| e);
        Look {
            weights,
            record: Ok(record),
            live,
            guard: Some("ok"),
            last_is_rollback,
            now,
        }
    }

    #[test]
    fn conditions_parse_and_say_what_is_expected() {
        assert_eq!(Condition::parse("share=50"), Ok(Condition::Share(50)));
        assert_eq!(Condition::parse("share=10%"), Ok(Condition::Share(10)));
        assert_eq!(Condition::parse("window-done"), Ok(Condition::WindowDone));
        assert!(Condition::parse("share=101").unwrap_err().contains("0-100"));
        assert!(Condition::parse("share=").is_err());
        assert!(Condition::parse("done").unwrap_err().contains("promoted"));
        for c in [
            "promoted",
            "rolled-back",
            "share=7",
            "healthy",
            "window-done",
        ] {
            assert_eq!(Condition::parse(c).unwrap().words(), c);
        }
    }

    #[test]
    fn a_promotion_holds_across_the_window_and_its_completion() {
        let mut f = Follow::new(Condition::Promoted);
        assert_eq!(
            f.judge(&look(w(50, 50), Some(rec(50, None, None)), 6_000)),
            Verdict::Waiting
        );
        let mut done = Follow::new(Condition::WindowDone);
        let promoted = look(w(0, 100), Some(rec(100, Some(9_000), None)), 7_000);
        assert_eq!(f.judge(&promoted), Verdict::Holds);
        assert_eq!(
            done.judge(&promoted),
            Verdict::Waiting,
            "the window is still open"
        );
        // The window ran out: the record says so even before anyone clears it.
        let over = look(w(0, 100), Some(rec(100, Some(9_000), None)), 9_000);
        assert_eq!(done.judge(&over), Verdict::Holds);
        // Cleared by the cockpit that completed it: remembered. Cleared before the end it
        // saw (by hand, by a faulty writer): not done until that end has passed.
        let mut done2 = Follow::new(Condition::WindowDone);
        assert_eq!(done2.judge(&promoted), Verdict::Waiting);
        assert_eq!(done2.judge(&look(w(0, 100), None, 8_000)), Verdict::Waiting);
        assert_eq!(done2.judge(&look(w(0, 100), None, 9_500)), Verdict::Holds);
        // Never seen promoted: all traffic on one env with no record proves nothing.
        let mut blind = Follow::new(Condition::WindowDone);
        assert_eq!(blind.judge(&look(w(0, 100), None, 9_500)), Verdict::Waiting);
        // A cutover already over when the wait began is not this wait's: green is live now
        // and the next cutover's candidate, blue, is at 0 %.
        for c in [
            Condition::Promoted,
            Condition::WindowDone,
            Condition::Share(100),
        ] {
            assert_eq!(Follow::new(c).judge(&over), Verdict::Waiting, "{c:?}");
        }
        assert_eq!(over.live, Some(Env::Green));
        assert_eq!((over.candidate(), over.share()), (Some(Env::Blue), Some(0)));
        assert_eq!(
            Follow::new(Condition::Share(0)).judge(&over),
            Verdict::Holds
        );
    }

    #[test]
    fn a_record_that_does_not_agree_with_the_traffic_names_no_candidate() {
        // The record says green is at 100 %; the backend reads 90/10: nothing is known.
        let l = look(w(90, 10), Some(rec(100, None, None)), 7_000);
        assert_eq!(l.live, None);
        assert_eq!((l.candidate(), l.share()), (None, None));
        for c in [
            Condition::Share(10),
            Condition::Share(100),
            Condition::Promoted,
            Condition::Healthy,
        ] {
            assert_eq!(Follow::new(c).judge(&l), Verdict::Waiting, "{c:?}");
        }
    }

    #[test]
    fn a_rollback_seen_to_happen_ends_the_wait_whatever_the_clocks_say() {
        let mut before = look(w(90, 10), Some(rec(10, None, Some(("step", 5_000)))), 5_500);
        before.guard = Some("breach");
        // Stamped long before the wait began by a writer whose clock is behind: what counts
        // is that this wait saw the last write change to it.
        let back = look(w(100, 0), Some(rec(0, None, Some(("rollback", 1)))), 7_000);
        for (c, then) in [
            (Condition::Promoted, Verdict::RolledBack),
            (Condition::WindowDone, Verdict::RolledBack),
            (Condition::Healthy, Verdict::RolledBack),
            (Condition::RolledBack, Verdict::Holds),
            // share=0 holds first: a rollback gives what was asked.
            (Condition::Share(0), Verdict::Holds),
        ] {
            let mut f = Follow::new(c);
            if c != Condition::Share(0) {
                assert_eq!(f.judge(&before), Verdict::Waiting, "{c:?}");
            }
            assert_eq!(f.judge(&back), then, "{c:?}");
        }
        // A rollback already the last word at the first look (even one stamped in this
        // host's future): the next cutover is awaited, not failed.
        let future = look(
            w(100, 0),
            Some(rec(0, None, Some(("rollback", 99_999_999)))),
            7_000,
        );
        for l in [&back, &future] {
            assert_eq!(Follow::new(Condition::Promoted).judge(l), Verdict::Waiting);
        }
        // A first look that could not read the record sets nothing: the first that does.
        let mut f = Follow::new(Condition::Promoted);
        let mut unread = before.clone();
        unread.record = Err("timed out".into());
        unread.live = None;
        assert_eq!(f.judge(&unread), Verdict::Waiting);
        assert_eq!(
            f.judge(&back),
            Verdict::Waiting,
            "the first read is the baseline"
        );
        // A rollback in flight (not yet read back) is not yet a rollback.
        let flying = look(
            w(50, 50),
            Some(rec(50, None, Some(("rollback", 6_000)))),
            7_000,
        );
        let mut f = Follow::new(Condition::Promoted);
        assert_eq!(f.judge(&before), Verdict::Waiting);
        assert_eq!(f.judge(&flying), Verdict::Waiting);
        assert_eq!(
            Follow::new(Condition::RolledBack).judge(&flying),
            Verdict::Waiting
        );
    }

    #[test]
    fn an_unread_backend_holds_nothing() {
        let mut f = Follow::new(Condition::Share(0));
        let mut l = look(None, Some(rec(0, None, None)), 1);
        assert_eq!(f.judge(&l), Verdict::Waiting, "unknown is not 0");
        l.record = Err("timed out".into());
        l.weights = w(100, 0);
        l.live = None;
        assert_eq!(
            f.judge(&l),
            Verdict::Waiting,
            "no record, no live: no candidate"
        );
        let mut h = Follow::new(Condition::Healthy);
        let mut g = look(w(90, 10), Some(rec(10, None, None)), 1);
        g.guard = Some("stale");
        assert_eq!(h.judge(&g), Verdict::Waiting, "stale is not healthy");
        g.guard = Some("ok");
        assert_eq!(h.judge(&g), Verdict::Holds);
    }
}
