//! The cutover state machine: what each command means given the current share, the plan,
//! pause and guardrails. Pure: the caller applies decisions and feeds back read-backs.

use super::{Env, Millis, Plan};

/// `cold-rollback = "ramp"`: a rollback target known not warm is given the traffic back
/// through these shares of the candidate (`cold-rollback-steps`, ending at 0), each
/// verified, `wait_ms` between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColdRamp {
    pub steps: Vec<u8>,
    pub wait_ms: u64,
}

impl ColdRamp {
    /// The steps a rollback takes from the candidate at `share` %: those below it, when
    /// more than the last (0) is left; `None`: one instant call.
    pub fn from(&self, share: u8) -> Option<Vec<u8>> {
        let steps: Vec<u8> = self.steps.iter().copied().filter(|s| *s < share).collect();
        (steps.len() > 1).then_some(steps)
    }
}

/// What the operator asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    StepForward,
    StepBack,
    /// Set the share to this percent (digits 1..9 → 10..90).
    Jump(u8),
    Rollback,
    Promote,
    TogglePause,
}

/// Why a write needs a confirmation first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmReason {
    /// It sends all traffic to the candidate.
    Promote,
    /// A jump off the plan's order.
    Jump,
    /// The candidate is breaching a guardrail and this moves traffic towards it.
    Breach,
    /// The candidate's data is stale: this moves traffic towards it blind.
    Stale,
    /// The first step away from 0 with a failed pre-flight check: an explicit override.
    Preflight,
    /// Nothing has judged the candidate: no data, too few requests, invalid or settling
    /// values for its guardrails. The caller says which.
    Unjudged,
}

/// What makes a forward move doubtful, as the caller judges the candidate now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Doubts {
    /// A guardrail is breached.
    pub breach: bool,
    /// Every signal of the candidate is stale.
    pub stale: bool,
    /// Some guardrail has nothing to judge on (not OK, not breached).
    pub unjudged: bool,
    /// The current step has not baked or served enough yet: forward moves are refused.
    pub hold: Option<Hold>,
}

/// Why the current step must hold before the next forward move (`min-bake`,
/// `min-requests`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The step has baked for less than `min-bake`: this long is left.
    Bake { left: Millis },
    /// The candidate has served `seen` requests at this step of the `min` asked for
    /// (`None`: not counted: no request source).
    Requests { seen: Option<u64>, min: u64 },
}

/// Why a command does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Paused,
    AtEnd,
    AtZero,
    ShareUnknown,
    AlreadyThere(u8),
    /// The backend only flips (0 or 100 %); this share cannot be set.
    FlipOnly(u8),
    /// The current step has not met `min-bake` / `min-requests` yet.
    Hold(Hold),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write this share now.
    Apply {
        share: u8,
        rollback: bool,
    },
    /// Ask the operator first.
    Confirm {
        share: u8,
        reasons: Vec<ConfirmReason>,
    },
    /// Pause (true) or resume (false).
    Pause(bool),
    Refused(Refusal),
}

impl Decision {
    /// This decision asking first for `r` as well (its first reason): a forward write
    /// becomes a confirm, a confirm gains the reason; rollbacks, pauses and refusals stay.
    #[must_use]
    pub fn asking_first(self, r: ConfirmReason) -> Decision {
        match self {
            Decision::Apply {
                share,
                rollback: false,
            } if share > 0 => Decision::Confirm {
                share,
                reasons: vec![r],
            },
            Decision::Confirm { share, mut reasons } => {
                reasons.insert(0, r);
                Decision::Confirm { share, reasons }
            }
            other => other,
        }
    }
}

/// The cutover between `live` and its candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Cutover {
    /// The env that served all traffic when the cutover began: the rollback target.
    pub live: Env,
    pub plan: Plan,
    /// The candidate's share as last read back from the backend; `None` when unknown.
    pub share: Option<u8>,
    /// The latest share asked for and not yet read back.
    pub intent: Option<u8>,
    pub paused: bool,
    /// Length of the rollback window.
    pub window: Millis,
    /// When the candidate was first read back at 100 %.
    pub window_started: Option<Millis>,
    /// Time added to the running window by the operator.
    pub window_extended: Millis,
    /// The backend switches all traffic at once: the plan is just 100.
    pub flip_only: bool,
}

impl Cutover {
    pub fn new(live: Env, plan: Plan, window: Millis) -> Cutover {
        Cutover {
            live,
            plan,
            share: None,
            intent: None,
            paused: false,
            window,
            window_started: None,
            window_extended: 0,
            flip_only: false,
        }
    }

    /// For a backend that can only flip: the plan becomes `[100]` and partial shares are
    /// refused.
    pub fn flip_only(mut self) -> Cutover {
        self.flip_only = true;
        self.plan = Plan::new(&[100]).expect("a one-step plan is valid");
        self
    }

    /// Extends the running rollback window by `by`; returns the time left then, or `None`
    /// when no window is running.
    pub fn extend_window(&mut self, by: Millis, now: Millis) -> Option<Millis> {
        self.window_started?;
        self.window_extended = self.window_extended.saturating_add(by);
        self.window_remaining(now)
    }

    pub fn candidate(&self) -> Env {
        self.live.other()
    }

    /// Where the next step starts from: the latest intent, else the read-back share.
    pub fn base(&self) -> Option<u8> {
        self.intent.or(self.share)
    }

    /// What `cmd` means now. A breach, stale data or a candidate nothing has judged make a
    /// move towards it ask first; a hold refuses it. Rollback never asks.
    pub fn decide(&self, cmd: Command, doubts: Doubts) -> Decision {
        let forward = |share: u8, mut reasons: Vec<ConfirmReason>| {
            if let Some(hold) = doubts.hold {
                return Decision::Refused(Refusal::Hold(hold));
            }
            if doubts.breach {
                reasons.push(ConfirmReason::Breach);
            }
            if doubts.stale {
                reasons.push(ConfirmReason::Stale);
            } else if doubts.unjudged && !doubts.breach {
                reasons.push(ConfirmReason::Unjudged);
            }
            if share == 100 && !reasons.contains(&ConfirmReason::Promote) {
                reasons.insert(0, ConfirmReason::Promote);
            }
            if reasons.is_empty() {
                Decision::Apply {
                    share,
                    rollback: false,
                }
            } else {
                Decision::Confirm { share, reasons }
            }
        };
        match cmd {
            Command::Rollback => Decision::Apply {
                share: 0,
                rollback: true,
            },
            Command::TogglePause => Decision::Pause(!self.paused),
            Command::StepBack => match self.base() {
                None => Decision::Refused(Refusal::ShareUnknown),
                Some(0) => Decision::Refused(Refusal::AtZero),
                Some(base) => Decision::Apply {
                    share: self.plan.prev_before(base),
                    rollback: false,
                },
            },
            Command::StepForward => match self.base() {
                _ if self.paused => Decision::Refused(Refusal::Paused),
                None => Decision::Refused(Refusal::ShareUnknown),
                Some(base) => match self.plan.next_after(base) {
                    None => Decision::Refused(Refusal::AtEnd),
                    Some(next) => forward(next, Vec::new()),
                },
            },
            Command::Promote => match self.base() {
                _ if self.paused => Decision::Refused(Refusal::Paused),
                Some(100) => Decision::Refused(Refusal::AlreadyThere(100)),
                _ => forward(100, vec![ConfirmReason::Promote]),
            },
            Command::Jump(share) => {
                let share = share.min(100);
                match self.base() {
                    _ if self.flip_only && share > 0 && share < 100 => {
                        Decision::Refused(Refusal::FlipOnly(share))
                    }
                    Some(base) if base == share => Decision::Refused(Refusal::AlreadyThere(share)),
                    Some(base) if share < base => Decision::Confirm {
                        share,
                        reasons: vec![ConfirmReason::Jump],
                    },
                    _ if self.paused => Decision::Refused(Refusal::Paused),
                    _ => forward(share, vec![ConfirmReason::Jump]),
                }
            }
        }
    }

    /// Records that a write of `share` was issued.
    pub fn requested(&mut self, share: u8) {
        self.intent = Some(share);
    }

    /// Forgets the intent (the write failed or was superseded and read back otherwise).
    pub fn clear_intent(&mut self) {
        self.intent = None;
    }

    /// Feeds a read-back of the candidate's share.
    pub fn observe(&mut self, share: Option<u8>, now: Millis) {
        self.share = share;
        if share.is_some() && share == self.intent {
            self.intent = None;
        }
        match share {
            Some(100) => {
                self.window_started.get_or_insert(now);
            }
            Some(_) => {
                self.window_started = None;
                self.window_extended = 0;
            }
            None => {}
        }
    }

    /// Time left in the rollback window.
    pub fn window_remaining(&self, now: Millis) -> Option<Millis> {
        self.window_started.map(|start| {
            start
                .saturating_add(self.window)
                .saturating_add(self.window_extended)
                .saturating_sub(now)
        })
    }

    /// The rollback window has run out at 100 % with nothing in flight: the cutover may
    /// complete, if the candidate deserves it (the caller judges: a failing candidate holds
    /// the window at 0:00).
    pub fn window_due(&self, now: Millis) -> bool {
        self.share == Some(100) && self.intent.is_none() && self.window_remaining(now) == Some(0)
    }

    /// Completes the cutover: the candidate becomes the new live and the new candidate's
    /// share is 0. Returns the new live env.
    pub fn complete(&mut self) -> Env {
        self.live = self.candidate();
        self.share = Some(0);
        self.window_started = None;
        self.window_extended = 0;
        self.live
    }

    /// Advances the clock, completing the cutover when its window is due. Returns the new
    /// live env then.
    pub fn tick(&mut self, now: Millis) -> Option<Env> {
        self.window_due(now).then(|| self.complete())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConfirmReason as R;
    use Decision as D;

    fn cutover(share: Option<u8>, intent: Option<u8>, paused: bool) -> Cutover {
        let mut c = Cutover::new(Env::Blue, Plan::default(), 60_000);
        c.share = share;
        c.intent = intent;
        c.paused = paused;
        c
    }

    fn doubts(breach: bool, stale: bool) -> Doubts {
        Doubts {
            breach,
            stale,
            ..Doubts::default()
        }
    }

    fn apply(share: u8) -> Decision {
        D::Apply {
            share,
            rollback: false,
        }
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one scenario, told from start to end
    fn decision_table() {
        type Case = ((Option<u8>, Option<u8>, bool, bool), Command, Decision);
        let cases: Vec<Case> = vec![
            (
                (Some(0), None, false, false),
                Command::StepForward,
                apply(10),
            ),
            (
                (Some(10), None, false, false),
                Command::StepForward,
                apply(50),
            ),
            (
                (Some(10), Some(50), false, false),
                Command::StepForward,
                D::Confirm {
                    share: 100,
                    reasons: vec![R::Promote],
                },
            ),
            (
                (Some(50), None, false, false),
                Command::StepForward,
                D::Confirm {
                    share: 100,
                    reasons: vec![R::Promote],
                },
            ),
            (
                (Some(100), None, false, false),
                Command::StepForward,
                D::Refused(Refusal::AtEnd),
            ),
            (
                (Some(10), None, true, false),
                Command::StepForward,
                D::Refused(Refusal::Paused),
            ),
            (
                (None, None, false, false),
                Command::StepForward,
                D::Refused(Refusal::ShareUnknown),
            ),
            (
                (Some(10), None, false, true),
                Command::StepForward,
                D::Confirm {
                    share: 50,
                    reasons: vec![R::Breach],
                },
            ),
            (
                (Some(50), None, false, true),
                Command::StepForward,
                D::Confirm {
                    share: 100,
                    reasons: vec![R::Promote, R::Breach],
                },
            ),
            ((Some(50), None, false, false), Command::StepBack, apply(10)),
            ((Some(30), None, false, false), Command::StepBack, apply(10)),
            ((Some(10), None, true, false), Command::StepBack, apply(0)),
            (
                (Some(0), None, false, false),
                Command::StepBack,
                D::Refused(Refusal::AtZero),
            ),
            (
                (None, None, false, false),
                Command::StepBack,
                D::Refused(Refusal::ShareUnknown),
            ),
            (
                (Some(50), None, true, true),
                Command::Rollback,
                D::Apply {
                    share: 0,
                    rollback: true,
                },
            ),
            (
                (None, None, false, false),
                Command::Rollback,
                D::Apply {
                    share: 0,
                    rollback: true,
                },
            ),
            (
                (Some(10), None, false, false),
                Command::Jump(30),
                D::Confirm {
                    share: 30,
                    reasons: vec![R::Jump],
                },
            ),
            (
                (Some(50), None, true, false),
                Command::Jump(20),
                D::Confirm {
                    share: 20,
                    reasons: vec![R::Jump],
                },
            ),
            (
                (Some(10), None, true, false),
                Command::Jump(20),
                D::Refused(Refusal::Paused),
            ),
            (
                (Some(30), None, false, false),
                Command::Jump(30),
                D::Refused(Refusal::AlreadyThere(30)),
            ),
            (
                (Some(10), None, false, false),
                Command::Promote,
                D::Confirm {
                    share: 100,
                    reasons: vec![R::Promote],
                },
            ),
            (
                (Some(100), None, false, false),
                Command::Promote,
                D::Refused(Refusal::AlreadyThere(100)),
            ),
            (
                (Some(10), None, true, false),
                Command::Promote,
                D::Refused(Refusal::Paused),
            ),
            (
                (Some(10), None, false, false),
                Command::TogglePause,
                D::Pause(true),
            ),
            (
                (Some(10), None, true, false),
                Command::TogglePause,
                D::Pause(false),
            ),
        ];
        for ((share, intent, paused, breach), cmd, want) in cases {
            let c = cutover(share, intent, paused);
            assert_eq!(
                c.decide(cmd, doubts(breach, false)),
                want,
                "share {share:?} intent {intent:?} paused {paused} breach {breach} {cmd:?}"
            );
        }
    }

    #[test]
    fn stale_data_asks_before_moving_forward_never_before_rollback() {
        let c = cutover(Some(10), None, false);
        let want = D::Confirm {
            share: 50,
            reasons: vec![R::Stale],
        };
        assert_eq!(c.decide(Command::StepForward, doubts(false, true)), want);
        assert_eq!(c.decide(Command::StepBack, doubts(false, true)), apply(0));
        assert_eq!(
            c.decide(Command::Rollback, doubts(true, true)),
            D::Apply {
                share: 0,
                rollback: true
            }
        );
        assert_eq!(
            c.decide(Command::Promote, doubts(false, true)),
            D::Confirm {
                share: 100,
                reasons: vec![R::Promote, R::Stale]
            }
        );
    }

    #[test]
    fn unjudged_asks_a_hold_refuses_and_neither_touches_rollback_or_back() {
        let c = cutover(Some(10), None, false);
        let unjudged = Doubts {
            unjudged: true,
            ..Doubts::default()
        };
        assert_eq!(
            c.decide(Command::StepForward, unjudged),
            D::Confirm {
                share: 50,
                reasons: vec![R::Unjudged]
            }
        );
        let breach = Doubts {
            breach: true,
            ..unjudged
        };
        assert_eq!(
            c.decide(Command::StepForward, breach),
            D::Confirm {
                share: 50,
                reasons: vec![R::Breach]
            },
            "a breach says more than unjudged"
        );
        let hold = Hold::Bake { left: 4000 };
        let held = Doubts {
            hold: Some(hold),
            ..breach
        };
        for cmd in [Command::StepForward, Command::Promote, Command::Jump(90)] {
            assert_eq!(
                c.decide(cmd, held),
                D::Refused(Refusal::Hold(hold)),
                "{cmd:?}"
            );
        }
        assert_eq!(c.decide(Command::StepBack, held), apply(0));
        assert_eq!(
            c.decide(Command::Rollback, held),
            D::Apply {
                share: 0,
                rollback: true
            }
        );
    }

    #[test]
    fn both_directions() {
        for live in Env::ALL {
            let mut c = Cutover::new(live, Plan::default(), 1000);
            assert_eq!(c.candidate(), live.other());
            c.observe(Some(100), 0);
            assert_eq!(c.tick(999), None);
            assert_eq!(c.tick(1000), Some(live.other()), "window ran out");
            assert_eq!(c.live, live.other());
            assert_eq!(c.share, Some(0));
            assert_eq!(c.candidate(), live);
        }
    }

    #[test]
    fn window_table() {
        let mut c = Cutover::new(Env::Green, Plan::default(), 15 * 60_000);
        c.observe(Some(50), 0);
        assert_eq!(c.window_remaining(10), None, "no window before 100 %");
        c.observe(Some(100), 1000);
        c.observe(Some(100), 5000);
        assert_eq!(
            c.window_remaining(61_000),
            Some(15 * 60_000 - 60_000),
            "window starts at first read-back of 100"
        );
        c.observe(Some(0), 70_000);
        assert_eq!(c.window_remaining(71_000), None, "rollback ends the window");
        assert_eq!(c.live, Env::Green);
    }

    #[test]
    fn the_window_can_be_extended_while_it_runs() {
        let mut c = Cutover::new(Env::Blue, Plan::default(), 60_000);
        assert_eq!(c.extend_window(30_000, 0), None, "no window before 100 %");
        c.observe(Some(100), 0);
        assert_eq!(c.extend_window(30_000, 50_000), Some(40_000));
        assert_eq!(c.tick(60_000), None, "extended past the original end");
        assert_eq!(c.tick(90_000), Some(Env::Green));
        assert_eq!(
            c.window_extended, 0,
            "a new window starts from the configured length"
        );
    }

    #[test]
    fn read_back_clears_matching_intent_only() {
        let mut c = cutover(Some(0), None, false);
        c.requested(10);
        c.observe(Some(0), 1);
        assert_eq!(c.intent, Some(10), "older read-back keeps the intent");
        c.observe(Some(10), 2);
        assert_eq!(c.intent, None);
        assert_eq!(c.base(), Some(10));
    }
}
