//! A second person (`[approval]`): the driver's confirmed promotion or override is asked
//! in the cutover record and sent once someone else's `ok` is read there; another person's
//! request is said in the events and answered with `a` (approve, or decline with a reason).
//! The write itself is checked again where it begins (`record::begin`), so no cockpit and
//! no CLI gets round it. Rollback never waits for anyone and voids the request.

use super::keys::moved_while_asking;
use super::writes::issue;
use super::{ApprovalDone, Effect, RecordOp};
use crate::app::journal::{Phase, WriteAction};
use crate::app::keymap::{Action, KeyCode, Press};
use crate::app::state::{Answering, Level, PendingConfirm, Role, State, Waiting};
use crate::app::words::{approval_asked as asked_words, approval_what as what};
use crate::core::ConfirmReason;
use crate::core::approval::{self, Answer, Ask, Need, Rules};

/// The longest decline reason typed (the record keeps 40 characters).
const REASON_MAX: usize = 40;

/// Whether a confirmed move needs a second person, and as what. A revert (back the other
/// way after the window closed) never does: like a rollback, it is the way off a release.
pub(super) fn need(s: &State, c: &PendingConfirm, overrides: bool) -> Option<Need> {
    if c.action == WriteAction::Revert {
        return None;
    }
    Rules::need(
        s.settings.approval.as_ref(),
        &crate::app::words::recorded_rules(s),
        c.share,
        overrides,
    )
}

/// What our waiting request asks, in words.
fn waiting_words(s: &State, w: &Waiting) -> String {
    what(
        s,
        w.need,
        &w.confirm.action,
        w.confirm.from,
        w.confirm.share,
    )
}

/// The driver confirmed a move that needs a second person: ask for it in the record and
/// wait. Nothing is written to the traffic until someone else approves.
pub(super) fn ask(
    s: &mut State,
    c: PendingConfirm,
    notes: Vec<(Phase, String)>,
    need: Need,
) -> Vec<Effect> {
    let ttl = s
        .settings
        .approval
        .as_ref()
        .map_or(Rules::DEFAULT_TTL_MS, |r| r.ttl_ms);
    let until = s
        .wall_ms(s.now)
        .saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let text = what(s, need, &c.action, c.from, c.share);
    s.log(
        Level::Warn,
        format!(
            "waiting for approval (another person): {text}; they press {} in their cockpit or run `cutover approve`; {} withdraws; {} still rolls back",
            s.key(Action::Approve),
            s.key(Action::Cancel),
            s.key(Action::Rollback)
        ),
    );
    let (live, share, pos) = (c.live, c.share, s.cutover.share.unwrap_or(0));
    s.approval.waiting = Some(Waiting {
        confirm: c,
        notes,
        need,
        until,
        asked: false,
        missing: 0,
    });
    let rules = s
        .settings
        .approval
        .as_ref()
        .map(|r| r.required_for.clone())
        .unwrap_or_default();
    vec![Effect::Record(RecordOp::Ask {
        live,
        need,
        share,
        pos,
        until,
        rules,
    })]
}

/// A forward move asked while a request waits: refused, said why.
pub(super) fn refuse_while_waiting(s: &mut State) -> bool {
    let Some(w) = &s.approval.waiting else {
        return false;
    };
    let text = waiting_words(s, w);
    s.log(
        Level::Warn,
        format!(
            "still waiting for approval of {text}: nothing else moves forward meanwhile; {} withdraws it",
            s.key(Action::Cancel)
        ),
    );
    true
}

/// Our request withdrawn by the driver (`Esc`).
pub(super) fn withdraw(s: &mut State) -> Vec<Effect> {
    let Some(w) = s.approval.waiting.take() else {
        return Vec::new();
    };
    let text = waiting_words(s, &w);
    let reason = format!(
        "{} withdrew the request for approval: {text}",
        s.settings.driver
    );
    s.log(Level::Info, format!("{reason}: nothing sent"));
    vec![
        Effect::Record(RecordOp::Withdraw { until: w.until }),
        Effect::JournalNote {
            phase: Phase::ApprovalWithdrawn,
            reason,
        },
    ]
}

/// A rollback voids a waiting request (its record update clears the request).
pub(super) fn void_on_rollback(s: &mut State) -> Vec<Effect> {
    let Some(w) = s.approval.waiting.take() else {
        return Vec::new();
    };
    let text = waiting_words(s, &w);
    let reason = format!("the request for approval of {text} is void: rolled back");
    s.log(Level::Warn, reason.clone());
    vec![Effect::JournalNote {
        phase: Phase::ApprovalWithdrawn,
        reason,
    }]
}

/// Our request expired unanswered: nothing is sent, and it is taken back.
pub(super) fn expire(s: &mut State) -> Vec<Effect> {
    let wall = s.wall_ms(s.now);
    let Some(w) = s.approval.waiting.take_if(|w| wall > w.until) else {
        return Vec::new();
    };
    let text = waiting_words(s, &w);
    let reason = format!(
        "the request for approval of {text} expired unanswered at {}",
        s.hhmm(w.until)
    );
    s.log(
        Level::Warn,
        format!("{reason}: nothing sent; confirm again to ask again"),
    );
    vec![
        Effect::Record(RecordOp::Withdraw { until: w.until }),
        Effect::JournalNote {
            phase: Phase::ApprovalExpired,
            reason,
        },
    ]
}

/// What became of a change of the record for an approval.
pub(super) fn on_done(s: &mut State, done: ApprovalDone) -> Vec<Effect> {
    match done {
        ApprovalDone::Asked { until, result } => {
            let Some(w) = s.approval.waiting.as_mut().filter(|w| w.until == until) else {
                return Vec::new();
            };
            match result {
                Ok(()) => {
                    w.asked = true;
                    let (need, c) = (w.need, w.confirm.clone());
                    let text = what(s, need, &c.action, c.from, c.share);
                    vec![Effect::JournalNote {
                        phase: Phase::ApprovalAsked,
                        reason: format!(
                            "{} asked another person to approve {text} (until {})",
                            s.settings.driver,
                            s.hhmm(until)
                        ),
                    }]
                }
                Err(e) => {
                    s.approval.waiting = None;
                    s.log(
                        Level::Error,
                        format!("the request for approval was not made: {e}; nothing sent"),
                    );
                    Vec::new()
                }
            }
        }
        ApprovalDone::Answered {
            approve,
            ask,
            reason: why,
            result,
        } => {
            let text = asked_words(s, &ask);
            match result {
                Ok(()) => {
                    let (word, phase) = if approve {
                        ("approved", Phase::Approved)
                    } else {
                        ("declined", Phase::Declined)
                    };
                    let why =
                        why.map_or_else(String::new, |r| format!(": {}", crate::shared::flat(&r)));
                    let reason = format!(
                        "{} {word} {text}, asked by {}{why}",
                        s.settings.driver, ask.who
                    );
                    s.log(Level::Info, reason.clone());
                    vec![Effect::JournalNote { phase, reason }]
                }
                Err(e) => {
                    s.log(Level::Warn, format!("not answered: {e}"));
                    Vec::new()
                }
            }
        }
        ApprovalDone::Withdrawn { result } => {
            if let Err(e) = result {
                s.log(
                    Level::Warn,
                    format!("the request for approval could not be taken back: {e}; it lapses when it expires"),
                );
            }
            Vec::new()
        }
    }
}

/// The record as just read: our request approved (sent now), declined or gone; someone
/// else's request said once; a dialog on a request no longer open closed.
pub(super) fn on_record(s: &mut State) -> Vec<Effect> {
    let rec = s.traffic.record.clone();
    let ask = rec.as_ref().and_then(|r| r.ask.clone());
    let answer = rec.as_ref().and_then(|r| r.answer.clone());
    let mut effects = Vec::new();
    if let Some(w) = s.approval.waiting.clone().filter(|w| w.asked) {
        match (&ask, &answer) {
            (Some(a), Some(ans)) if a.until == w.until => {
                s.approval.waiting = None;
                let wall = s.wall_ms(s.now);
                let check = approval::approved(
                    Some(a),
                    Some(ans),
                    (w.need, w.confirm.share, &s.settings.driver),
                    wall,
                );
                effects.extend(match check {
                    Ok(_) => approved(s, w, ans),
                    Err(_) if !ans.approved => declined(s, &w, ans),
                    Err(why) => {
                        s.log(Level::Error, format!("{why}; nothing sent"));
                        vec![Effect::JournalNote {
                            phase: Phase::ApprovalWithdrawn,
                            reason: format!("not an approval: {why}; nothing sent"),
                        }]
                    }
                });
            }
            (Some(a), None) if a.until == w.until => {
                if let Some(w) = s.approval.waiting.as_mut() {
                    w.missing = 0;
                }
            }
            _ => {
                // Twice in a row: a read begun before the request was stored says nothing.
                if let Some(w) = s.approval.waiting.as_mut() {
                    w.missing += 1;
                }
                if w.missing >= 1 {
                    s.approval.waiting = None;
                    let text = waiting_words(s, &w);
                    s.log(
                        Level::Warn,
                        format!(
                            "the request for approval of {text} is gone from the cutover record (another write or request replaced it): nothing sent"
                        ),
                    );
                }
            }
        }
    }
    effects.extend(follow_others(s, ask.as_ref(), answer.as_ref()));
    let wall = s.wall_ms(s.now);
    if let Some(a) = &ask
        && answer.is_none()
        && wall <= a.until
        && !approval::same_person(&a.who, &s.settings.driver)
        && crate::app::words::asker_drives(s, a)
        && s.approval.announced != Some(a.until)
    {
        s.approval.announced = Some(a.until);
        let text = asked_words(s, a);
        let how = if s.lease.role == Role::ReadOnly {
            "this cockpit is --read-only: `cutover approve` answers from a shell".to_string()
        } else {
            format!("{} looks and answers", s.key(Action::Approve))
        };
        s.log(
            Level::Warn,
            format!(
                "{} asks for approval: {text} (until {}); {how}",
                crate::shared::printable(&a.who),
                s.hhmm(a.until)
            ),
        );
    }
    if s.approval
        .answering
        .as_ref()
        .is_some_and(|d| ask.as_ref().map(|a| a.until) != Some(d.ask.until) || answer.is_some())
    {
        s.approval.answering = None;
        s.log(
            Level::Info,
            "the request you were looking at was answered, withdrawn or replaced",
        );
    }
    effects
}

/// Someone else's request said before: its answer, or that it went, said once.
fn follow_others(s: &mut State, ask: Option<&Ask>, answer: Option<&Answer>) -> Vec<Effect> {
    let Some(until) = s.approval.announced else {
        return Vec::new();
    };
    match (ask.filter(|a| a.until == until), answer) {
        (Some(_), None) => {}
        (Some(a), Some(x)) => {
            s.approval.announced = None;
            let what = asked_words(s, a);
            let line = if x.approved {
                format!("{} approved {}'s {what}", x.who, a.who)
            } else {
                format!(
                    "{} declined {}'s {what}: {}",
                    x.who,
                    a.who,
                    x.reason.as_deref().unwrap_or("no reason given")
                )
            };
            s.log(Level::Info, crate::shared::printable(&line).into_owned());
        }
        (None, _) => {
            s.approval.announced = None;
            s.log(
                Level::Info,
                "the request for approval was withdrawn, expired, replaced or consumed by a write",
            );
        }
    }
    Vec::new()
}

/// Someone else approved our request: sent now, unless traffic moved or the candidate
/// turned doubtful since it was asked (then they approved another move than this one).
fn approved(s: &mut State, w: Waiting, ans: &Answer) -> Vec<Effect> {
    let c = w.confirm;
    let text = what(s, w.need, &c.action, c.from, c.share);
    let who = crate::shared::printable(&ans.who).into_owned();
    if s.lease.role != Role::Driver {
        s.log(
            Level::Warn,
            format!("{who} approved {text}, but this cockpit no longer drives: nothing sent"),
        );
        return Vec::new();
    }
    if let Some(why) = moved_while_asking(s, &c) {
        s.log(Level::Warn, format!("{who} approved {text}, but {why}"));
        return Vec::new();
    }
    let d = s.doubts();
    let mut since = Vec::new();
    if d.breach && !c.reasons.contains(&ConfirmReason::Breach) {
        since.push(
            s.candidate_failing()
                .unwrap_or_else(|| "the candidate breaches a guardrail".into()),
        );
    }
    if d.stale && !c.reasons.contains(&ConfirmReason::Stale) {
        since.push(format!("{}'s data is STALE", s.candidate()));
    }
    if d.unjudged && !c.reasons.contains(&ConfirmReason::Unjudged) {
        since.push(s.unjudged().unwrap_or_else(|| "nothing judges it".into()));
    }
    if !since.is_empty() {
        s.log(
            Level::Warn,
            format!(
                "{who} approved {text}, but since it was asked: {}; nothing sent: what they approved is not what moving now would be; confirm again to ask again",
                since.join("; ")
            ),
        );
        return Vec::new();
    }
    s.log(Level::Info, format!("{who} approved {text}: sending"));
    for (_, reason) in &w.notes {
        s.log(Level::Warn, format!("{reason} (approved by {who})"));
    }
    let mut effects = issue(s, c.share, false, c.action);
    for e in &mut effects {
        if let Effect::Write(o) = e {
            o.notes.clone_from(&w.notes);
            o.approval = Some(w.need);
        }
    }
    effects
}

fn declined(s: &mut State, w: &Waiting, ans: &Answer) -> Vec<Effect> {
    let text = waiting_words(s, w);
    let reason = format!(
        "{} DECLINED {text}: {}",
        crate::shared::printable(&ans.who),
        crate::shared::printable(ans.reason.as_deref().unwrap_or("no reason given"))
    );
    s.log(Level::Error, format!("{reason}; nothing sent"));
    vec![Effect::JournalNote {
        phase: Phase::Declined,
        reason: format!("{reason} (asked by {})", s.settings.driver),
    }]
}

/// `a`: look at someone else's request, to answer it.
pub(super) fn open(s: &mut State) {
    let wall = s.wall_ms(s.now);
    let rec = s.traffic.record.as_ref();
    let (ask, answer) = (
        rec.and_then(|r| r.ask.clone()),
        rec.and_then(|r| r.answer.as_ref()),
    );
    if let Err(why) = approval::may_answer(ask.as_ref(), answer, &s.settings.driver, wall) {
        s.log(Level::Info, why);
        return;
    }
    if let Some(a) = ask
        .as_ref()
        .filter(|a| !crate::app::words::asker_drives(s, a))
    {
        s.log(
            Level::Info,
            format!(
                "{} asked, but does not drive now (their cockpit or shell is gone, or someone took over): approving it would send nothing; it lapses at {}",
                crate::shared::printable(&a.who),
                s.hhmm(a.until)
            ),
        );
        return;
    }
    if s.lease.role == Role::ReadOnly {
        s.log(
            Level::Info,
            "this cockpit is --read-only and writes nothing, answers neither: `cutover approve` or `cutover decline` answers from a shell",
        );
        return;
    }
    if let Some(ask) = ask {
        s.approval.answering = Some(Answering { ask, reason: None });
    }
}

/// A key while the answer dialog is open: `y` approves, `n` asks for a reason (typed,
/// Enter sends it), Esc closes. `None`: the dialog is not open, or it closed for the key
/// to act (rollback, when no reason is being typed).
pub(super) fn answer_key(s: &mut State, press: Press) -> Option<Vec<Effect>> {
    let d = s.approval.answering.as_mut()?;
    let code = press.key.map(|k| (k.code, k.ctrl));
    let Some(text) = d.reason.as_mut() else {
        return match press.dialog {
            Some(Action::Confirm) => Some(send(s, true, None)),
            Some(Action::Cancel) if code.is_some_and(|(c, _)| c != KeyCode::Esc) => {
                d.reason = Some(String::new());
                Some(Vec::new())
            }
            _ => {
                s.approval.answering = None;
                if press.main == Some(Action::Rollback) || press.main == Some(Action::Quit) {
                    return None;
                }
                s.log(Level::Info, "closed: the request is still open");
                Some(Vec::new())
            }
        };
    };
    match code {
        Some((KeyCode::Enter, _)) => {
            let reason = text.trim().to_string();
            if reason.is_empty() {
                s.log(
                    Level::Info,
                    "a decline says why: type a reason, Enter sends it, Esc goes back",
                );
                return Some(Vec::new());
            }
            return Some(send(s, false, Some(reason)));
        }
        Some((KeyCode::Esc, _)) => d.reason = None,
        Some((KeyCode::Backspace, _)) => {
            text.pop();
        }
        // Ctrl and a key leaves the text: the key acts (Ctrl-C quits).
        Some((_, true)) => {
            s.approval.answering = None;
            return None;
        }
        Some((KeyCode::Char(c), false)) if !c.is_control() && text.chars().count() < REASON_MAX => {
            text.push(c);
        }
        _ => {}
    }
    Some(Vec::new())
}

fn send(s: &mut State, approve: bool, reason: Option<String>) -> Vec<Effect> {
    let Some(d) = s.approval.answering.take() else {
        return Vec::new();
    };
    let text = asked_words(s, &d.ask);
    let word = if approve { "approving" } else { "declining" };
    s.log(
        Level::Info,
        format!(
            "{word} {text}, asked by {} …",
            crate::shared::printable(&d.ask.who)
        ),
    );
    vec![Effect::Record(RecordOp::Answer {
        seen: d.ask,
        approve,
        reason,
    })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::testkit::*;
    use crate::app::update::{ApprovalDone, update};
    use crate::core::Record;

    const TTL: u64 = 300_000;

    /// Alice drives at `share` % under `[approval]` for promote and override.
    fn driving(share: u8) -> State {
        let mut s = state(share);
        s.settings.driver = "alice@h1".into();
        s.settings.approval = Some(Rules {
            required_for: vec![Need::Promote, Need::Override],
            ttl_ms: TTL,
        });
        s
    }

    fn record_read(s: &mut State, r: Record) -> Vec<Effect> {
        let now = s.now + 10;
        update(
            s,
            Event::RecordRead {
                now,
                result: Ok(Some(r)),
            },
        )
    }

    /// Promote confirmed: the request, stored; the record that holds it.
    fn asked(s: &mut State) -> Record {
        assert!(key(s, KeyCode::Right).is_empty(), "asks to confirm first");
        let e = key(s, KeyCode::Char('y'));
        let [
            Effect::Record(RecordOp::Ask {
                need, share, until, ..
            }),
        ] = e.as_slice()
        else {
            panic!("asks, writes nothing: {e:?}")
        };
        assert_eq!((*need, *share), (Need::Promote, 100));
        let until = *until;
        let e = update(
            s,
            Event::Approval {
                now: s.now + 5,
                done: ApprovalDone::Asked {
                    until,
                    result: Ok(()),
                },
            },
        );
        assert!(
            matches!(
                e.as_slice(),
                [Effect::JournalNote {
                    phase: Phase::ApprovalAsked,
                    ..
                }]
            ),
            "{e:?}"
        );
        let r =
            Record::new(Env::Blue, "alice@h1", 0).with_ask(Need::Promote, 100, "alice@h1", until);
        assert!(record_read(s, r.clone()).is_empty(), "still waiting");
        assert!(s.approval.waiting.is_some());
        r
    }

    #[test]
    fn a_promotion_waits_and_goes_out_on_another_persons_ok() {
        let mut s = driving(50);
        let r = asked(&mut s);
        // Nothing else moves forward meanwhile.
        assert!(key(&mut s, KeyCode::Right).is_empty());
        assert!(
            s.last_event().starts_with("still waiting for approval"),
            "{}",
            s.last_event()
        );
        let e = record_read(&mut s, r.with_answer(true, "bob@h2", 1, None));
        let [Effect::Write(o)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(
            (o.share, o.rollback, o.approval),
            (100, false, Some(Need::Promote))
        );
        assert!(s.approval.waiting.is_none());
        assert!(s.said("bob@h2 approved promote green 50 → 100 %: sending"));
    }

    #[test]
    fn the_same_person_on_another_host_a_decline_and_expiry_send_nothing() {
        let mut s = driving(50);
        let r = asked(&mut s);
        let e = record_read(&mut s, r.with_answer(true, "alice@laptop", 1, None));
        assert!(
            matches!(
                e.as_slice(),
                [Effect::JournalNote {
                    phase: Phase::ApprovalWithdrawn,
                    ..
                }]
            ),
            "no write, and the attempt journaled: {e:?}"
        );
        assert!(s.said("the same person who asked"), "{:?}", s.last_event());
        assert!(s.approval.waiting.is_none());

        let mut s = driving(50);
        let r = asked(&mut s);
        let e = record_read(
            &mut s,
            r.with_answer(false, "bob@h2", 1, Some("p99 creeping up")),
        );
        assert!(
            matches!(
                e.as_slice(),
                [Effect::JournalNote {
                    phase: Phase::Declined,
                    ..
                }]
            ),
            "{e:?}"
        );
        assert!(s.said("bob@h2 DECLINED promote green 50 → 100 %: p99 creeping up; nothing sent"));

        let mut s = driving(50);
        asked(&mut s);
        let later = s.now + TTL + 1_000;
        let e = update(&mut s, Event::Tick { now: later });
        assert!(
            matches!(
                e.as_slice(),
                [
                    Effect::Record(RecordOp::Withdraw { .. }),
                    Effect::JournalNote {
                        phase: Phase::ApprovalExpired,
                        ..
                    }
                ]
            ),
            "{e:?}"
        );
        assert!(s.approval.waiting.is_none());
        assert!(s.last_event().contains("expired unanswered"));
    }

    #[test]
    fn a_take_over_takes_the_request_with_it_and_an_ok_then_sends_nothing() {
        let mut s = driving(50);
        let r = asked(&mut s);
        let bob = crate::core::Lease {
            holder: "bob@h2".into(),
            token: "b".into(),
            since: 0,
            expires: i64::MAX,
            pid: None,
        };
        let now = s.now + 10;
        let e = update(
            &mut s,
            Event::Lease {
                now,
                role: Role::Observer,
                holder: Some(bob),
                took_over: None,
                error: None,
            },
        );
        assert!(
            e.iter()
                .any(|e| matches!(e, Effect::Record(RecordOp::Withdraw { .. }))),
            "{e:?}"
        );
        assert!(s.approval.waiting.is_none());
        assert!(record_read(&mut s, r.with_answer(true, "carol@h3", 1, None)).is_empty());
    }

    #[test]
    fn rollback_never_waits_and_voids_the_request() {
        let mut s = driving(50);
        asked(&mut s);
        let e = key(&mut s, KeyCode::Char('r'));
        assert_eq!(shares(&e), [(0, true)]);
        assert!(e.iter().any(|e| matches!(
            e,
            Effect::JournalNote {
                phase: Phase::ApprovalWithdrawn,
                ..
            }
        )));
        assert!(s.approval.waiting.is_none());
        // Withdrawn by hand: n.
        let mut s = driving(50);
        asked(&mut s);
        let e = key(&mut s, KeyCode::Char('n'));
        assert!(
            matches!(
                e.as_slice(),
                [
                    Effect::Record(RecordOp::Withdraw { .. }),
                    Effect::JournalNote {
                        phase: Phase::ApprovalWithdrawn,
                        ..
                    }
                ]
            ),
            "{e:?}"
        );
    }

    #[test]
    fn an_approval_of_a_calm_promotion_does_not_carry_a_breach_that_came_since() {
        let mut s = driving(50);
        let r = asked(&mut s);
        let t = s.now;
        green_errors(&mut s, t + 1_000, 0.2);
        green_errors(&mut s, t + 40_000, 0.2);
        assert!(s.breach(), "green breaches now");
        assert!(record_read(&mut s, r.with_answer(true, "bob@h2", 1, None)).is_empty());
        assert!(s.said("but since it was asked"), "{}", s.last_event());
    }

    #[test]
    fn an_observer_sees_the_request_and_answers_it_with_a_typed_reason() {
        let mut s = state(50);
        s.settings.driver = "bob@h2".into();
        s.lease.role = Role::Observer;
        s.lease.holder = Some(crate::core::Lease {
            holder: "alice@h1".into(),
            token: "t".into(),
            since: 0,
            expires: i64::MAX,
            pid: None,
        });
        let r = Record::new(Env::Blue, "alice@h1", 0).with_ask(
            Need::Promote,
            100,
            "alice@h1",
            s.wall_ms(s.now) + TTL as i64,
        );
        record_read(&mut s, r.clone());
        assert!(
            s.said("alice@h1 asks for approval: promote green 50 → 100 %"),
            "{}",
            s.last_event()
        );
        key(&mut s, KeyCode::Char('a'));
        assert!(s.approval.answering.is_some());
        key(&mut s, KeyCode::Char('n'));
        for c in "no, p99".chars() {
            key(&mut s, KeyCode::Char(c));
        }
        key(&mut s, KeyCode::Backspace);
        let e = key(&mut s, KeyCode::Enter);
        let [
            Effect::Record(RecordOp::Answer {
                approve,
                reason,
                seen,
            }),
        ] = e.as_slice()
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            (*approve, reason.as_deref(), seen.who.as_str()),
            (false, Some("no, p9"), "alice@h1")
        );
        // Alice herself, in another cockpit, cannot.
        let mut s = state(50);
        s.settings.driver = "alice@h9".into();
        s.lease.role = Role::Observer;
        record_read(&mut s, r);
        key(&mut s, KeyCode::Char('a'));
        assert!(s.approval.answering.is_none());
        assert!(
            s.last_event().contains("approval needs another person"),
            "{}",
            s.last_event()
        );
    }
}
