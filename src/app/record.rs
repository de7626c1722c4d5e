//! Keeping the cutover record at the backend around writes. Forward writes fail closed: no
//! record written, no write. A rollback fails open: its record update comes after the
//! traffic moved, and a failure is said, never a reason to wait.

use super::journal::WriteAction;
use crate::backends::{Backend, BackendError, Slot, Switch};
use crate::core::approval::{self, Ask, Need};
use crate::core::{Env, Record};

/// The stored text and the record it holds.
pub async fn stored(b: &dyn Backend) -> Result<(Option<String>, Option<Record>), BackendError> {
    let raw = b.load(Slot::Record).await?;
    let rec = match raw.as_deref() {
        None => None,
        Some(t) => Some(Record::decode(t).ok_or_else(|| BackendError::Protocol {
            target: b.place(Slot::Record),
            message: format!(
                "the cutover record \"{}\" does not parse",
                crate::core::record::shorten(t)
            ),
        })?),
    };
    Ok((raw, rec))
}

/// A write about to be made, as the record names it.
#[derive(Clone, Debug)]
pub struct Intent<'a> {
    pub live: Env,
    pub who: &'a str,
    pub action: &'a WriteAction,
    /// The operator named `live` just now (`rollback --to`), over what the record says.
    pub chosen: bool,
    /// The journal's write id.
    pub id: &'a str,
    pub share: u8,
    pub now: i64,
    /// When the write began: a rollback recorded after it wins over it.
    pub begun: i64,
    /// The schema baseline to record when this write begins a cutover.
    pub schema: Option<&'a str>,
    /// This forward write needs another person's approval (`[approval]`): the record must
    /// hold this very request, approved by someone else in time. Consumed by the write.
    pub approval: Option<Need>,
    /// This writer's `[approval]` rules: recorded when this write begins a cutover, for
    /// everyone in it. The record's own rules are followed whatever these say.
    pub rules: &'a [Need],
    /// This forward write overrides a failed pre-flight, a breach, stale data or a
    /// candidate nothing judged.
    pub overrides: bool,
}

/// A request answered: who asked, who approved, when.
#[derive(Clone, Debug, PartialEq)]
pub struct Approved {
    pub need: Need,
    pub asked_by: String,
    pub approved_by: String,
    pub at: i64,
}

/// Why a forward write was refused by the record.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordError {
    Store(String),
    /// Another cutover, the other way, is recorded.
    OtherWay(Box<Record>),
    /// The record kept changing under us.
    Contended,
    /// It needs another person's approval, and the record does not hold one.
    NotApproved(String),
    /// A rollback left the candidate above 0 (a cold rollback's ramp under way, or one that
    /// did not finish): nothing moves forward until it is done.
    RollingBack(String),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Store(e) => write!(f, "the cutover record could not be written: {e}"),
            RecordError::OtherWay(r) => write!(
                f,
                "the cutover record says {} is live (a cutover to {} started by {}): roll back or finish that one first",
                r.live,
                r.candidate(),
                r.by
            ),
            RecordError::Contended => {
                f.write_str("the cutover record kept changing: another cutover is writing")
            }
            RecordError::NotApproved(why) | RecordError::RollingBack(why) => f.write_str(why),
        }
    }
}

/// The record with `i` in flight, from what is stored (`None`: nothing).
fn next(cur: Option<&Record>, i: &Intent) -> Result<Record, RecordError> {
    let action = i.action.as_str();
    // The rules for a second person carry over from the record this one replaces (a
    // rollback back to 0 keeps them): one person's config without `[approval]` does not
    // shed them by starting again.
    let mut rules: Vec<Need> = cur.map(|r| r.rules.clone()).unwrap_or_default();
    for n in i.rules {
        if !rules.contains(n) {
            rules.push(*n);
        }
    }
    let fresh = || Record {
        schema: i.schema.map(str::to_string),
        rules: rules.clone(),
        ..Record::new(i.live, i.who, i.now).with_flight(i.id, i.share, i.who, action, i.now)
    };
    match cur {
        None => Ok(fresh()),
        Some(r) if r.live != i.live => {
            // Over when its window ran out: a new cutover the other way starts.
            if r.end.is_some_and(|e| i.now >= e) {
                Ok(fresh())
            } else {
                Err(RecordError::OtherWay(Box::new(r.clone())))
            }
        }
        // Back at 0 with nothing in flight: this write starts a new cutover.
        Some(r) if r.pos == 0 && r.flight.is_none() && i.share > 0 => Ok(fresh()),
        Some(r) => Ok(r.with_flight(i.id, i.share, i.who, action, i.now)),
    }
}

/// Before a forward write: records it as in flight (creating the record when a cutover
/// starts), consuming the approval it needs. Compare-and-swap, retried; any failure
/// refuses the write.
pub async fn begin(
    b: &dyn Switch,
    i: &Intent<'_>,
) -> Result<(Record, Option<Approved>), RecordError> {
    for _ in 0..4 {
        let (raw, cur) = stored(b)
            .await
            .map_err(|e| RecordError::Store(e.to_string()))?;
        // What this cutover's record asks for, whatever the writer's config says.
        let r = cur.as_ref().filter(|r| r.live == i.live);
        if let Some(r) = r
            && let Some(l) = r.last.as_ref()
            && r.pos > 0
            && r.flight.is_none()
            && WriteAction::from(l.action.as_str()).is_rollback()
        {
            return Err(RecordError::RollingBack(format!(
                "{}'s rollback left {} at {} % (a cold rollback under way, or one that did not finish): nothing moves forward until it is done; a rollback sends all to {}",
                l.who,
                r.candidate(),
                r.pos,
                r.live
            )));
        }
        let recorded = r.map_or(&[][..], |r| r.rules.as_slice());
        let needed = i
            .approval
            .or_else(|| approval::need_of(recorded, i.share, i.overrides));
        let approved = match needed {
            None => None,
            Some(need) => {
                let (ask, ans) = approval::approved(
                    r.and_then(|r| r.ask.as_ref()),
                    r.and_then(|r| r.answer.as_ref()),
                    (need, i.share, i.who),
                    i.now,
                )
                .map_err(RecordError::NotApproved)?;
                Some(Approved {
                    need,
                    asked_by: ask.who.clone(),
                    approved_by: ans.who.clone(),
                    at: ans.at,
                })
            }
        };
        let new = next(cur.as_ref(), i)?;
        if b.swap(Slot::Record, raw.as_deref(), Some(&new.encode()))
            .await
            .map_err(|e| RecordError::Store(e.to_string()))?
        {
            return Ok((new, approved));
        }
    }
    Err(RecordError::Contended)
}

/// Asks for approval of `need` to `share` by `who`, open until `until` (unix ms), in the
/// record naming `live` (one with the position `pos` is made when there is none). A
/// record naming the other env, or a write in flight, refuses it.
pub async fn ask(
    b: &dyn Switch,
    live: Env,
    (need, share, pos): (Need, u8, u8),
    (who, rules): (&str, &[Need]),
    (now, until): (i64, i64),
) -> Result<Record, String> {
    for _ in 0..4 {
        let (raw, cur) = stored(b).await.map_err(|e| e.to_string())?;
        let base = match cur {
            Some(r) if r.live != live && !r.window_over(now) => {
                return Err(RecordError::OtherWay(Box::new(r)).to_string());
            }
            Some(r) if r.live == live => r,
            _ => Record {
                pos,
                rules: rules.to_vec(),
                ..Record::new(live, who, now)
            },
        };
        if let Some(f) = &base.flight {
            return Err(format!(
                "a write to {} % is in flight: ask again once it reads back",
                f.share
            ));
        }
        let new = base.with_ask(need, share, who, until);
        if b.swap(Slot::Record, raw.as_deref(), Some(&new.encode()))
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(new);
        }
    }
    Err("the cutover record kept changing".into())
}

/// Answers the request in the record: only someone other than who asked, in time, once;
/// and only the very request `seen` (the one the answerer looked at, by who asked and
/// until when), never one made since. The record as written.
pub async fn answer(
    b: &dyn Switch,
    seen: Option<&Ask>,
    who: &str,
    (approve, reason): (bool, Option<&str>),
    now: i64,
) -> Result<Record, String> {
    for _ in 0..4 {
        let (raw, cur) = stored(b).await.map_err(|e| e.to_string())?;
        let Some(r) = cur else {
            return Err("there is no cutover record, so no request to answer".into());
        };
        approval::may_answer(r.ask.as_ref(), r.answer.as_ref(), who, now)?;
        if let (Some(seen), Some(ask)) = (seen, r.ask.as_ref())
            && (seen.who != ask.who || seen.until != ask.until || seen.need != ask.need)
        {
            return Err(format!(
                "the request changed while you looked: it is now {} to {} % by {}; look again",
                ask.need, ask.share, ask.who
            ));
        }
        let new = r.with_answer(approve, who, now, reason);
        if b.swap(Slot::Record, raw.as_deref(), Some(&new.encode()))
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(new);
        }
    }
    Err("the cutover record kept changing".into())
}

/// Takes back the request `until` (withdrawn, expired): only that one, if still there.
pub async fn withdraw(b: &dyn Switch, until: i64) -> Result<(), String> {
    for _ in 0..4 {
        let (raw, cur) = stored(b).await.map_err(|e| e.to_string())?;
        let Some(r) = cur.filter(|r| r.ask.as_ref().is_some_and(|a| a.until == until)) else {
            return Ok(());
        };
        if b.swap(
            Slot::Record,
            raw.as_deref(),
            Some(&r.without_ask().encode()),
        )
        .await
        .map_err(|e| e.to_string())?
        {
            return Ok(());
        }
    }
    Err("the cutover record kept changing".into())
}

/// After a write: nothing is in flight any more (its outcome is in the weights); a verified
/// promotion starts the window (`end`), a verified move below 100 clears it. A rollback
/// records here who made it and that live is its target, whatever was stored (it fails
/// open: a garbage or other-way record is replaced).
pub async fn finish(
    b: &dyn Switch,
    i: &Intent<'_>,
    rollback: bool,
    landed: Option<u8>,
    window_end: Option<i64>,
) -> Result<(), String> {
    for _ in 0..4 {
        let raw = b.load(Slot::Record).await.map_err(|e| e.to_string())?;
        let cur = raw.as_deref().and_then(Record::decode);
        if raw.is_some() && cur.is_none() && !rollback {
            return Err("the cutover record does not parse".into());
        }
        let base = match cur {
            Some(r) if r.live == i.live => r,
            // `rollback --to` named the other env: once all traffic reads back there, that
            // env is live, and a record saying otherwise would turn everyone's next `r`
            // back onto the release just rolled back from. Until the read-back, nothing.
            Some(_) if rollback && i.chosen && landed == Some(0) => {
                Record::new(i.live, i.who, i.now)
            }
            Some(_) if rollback && i.chosen && landed.is_none() => return Ok(()),
            // Another operator's running cutover names the other env and only a config
            // (perhaps stale) said otherwise: this rollback went where the config said, but
            // it does not rewrite what everyone else reads.
            Some(r) if rollback => {
                return Err(format!(
                    "the cutover record names {} as live (started by {}); this rollback sent all traffic to {}, which this terminal took for live, and left the record as it is",
                    r.live, r.by, i.live
                ));
            }
            _ if rollback => Record::new(i.live, i.who, i.now),
            // A forward write's record was replaced meanwhile: not ours to change.
            Some(_) => return Ok(()),
            None => Record::new(i.live, i.who, i.now),
        };
        let action = i.action.as_str();
        let rolled_back_since = base
            .last
            .as_ref()
            .is_some_and(|l| WriteAction::from(l.action.as_str()).is_rollback() && l.at >= i.begun);
        let mut new = if rollback {
            base.with_flight(i.id, 0, i.who, action, i.now).landed()
        } else if rolled_back_since {
            // Someone rolled back meanwhile: their rollback stays the last word.
            base.landed()
        } else {
            base.with_flight(i.id, i.share, i.who, action, i.now)
                .landed()
        };
        // What this write read back is older than that rollback's read-back: the
        // position and the window stay as the rollback left them.
        let landed = landed.filter(|_| rollback || !rolled_back_since);
        match landed {
            Some(100) => new.end = new.end.or(window_end),
            Some(_) => new.end = None,
            None => {}
        }
        if let Some(p) = landed {
            new.pos = p;
        }
        match b
            .swap(Slot::Record, raw.as_deref(), Some(&new.encode()))
            .await
        {
            Ok(true) => return Ok(()),
            Ok(false) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the cutover record kept changing".into())
}

/// Moves the window's end (`None`: held, no end) while `live` is what the record names.
pub async fn set_end(b: &dyn Switch, live: Env, end: Option<i64>) -> Result<(), String> {
    for _ in 0..4 {
        let (raw, cur) = stored(b).await.map_err(|e| e.to_string())?;
        let Some(r) = cur.filter(|r| r.live == live) else {
            return Ok(());
        };
        let new = Record { end, ..r };
        if b.swap(Slot::Record, raw.as_deref(), Some(&new.encode()))
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(());
        }
    }
    Err("the cutover record kept changing".into())
}

/// Clears the record when the rollback window completed (the candidate is the new live)
/// and `live` is still what it names.
pub async fn complete(b: &dyn Switch, old_live: Env) -> Result<(), String> {
    let (raw, cur) = stored(b).await.map_err(|e| e.to_string())?;
    if cur.is_some_and(|r| r.live == old_live) {
        b.swap(Slot::Record, raw.as_deref(), None)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::SimBackend;
    use crate::sim::{Scenario, SimHandle, Simulator};

    fn sim() -> SimBackend {
        let s = Scenario::load("happy").unwrap();
        SimBackend::Local(SimHandle::new(Simulator::new(s, None)))
    }

    fn intent(live: Env, who: &str, share: u8, now: i64) -> Intent<'_> {
        Intent {
            live,
            who,
            action: &WriteAction::Step,
            chosen: false,
            id: "1-1",
            share,
            now,
            begun: now,
            schema: Some("42"),
            approval: None,
            rules: &[],
            overrides: false,
        }
    }

    #[tokio::test]
    async fn a_cutover_is_recorded_and_the_other_way_is_refused_until_it_ends() {
        let b = sim();
        let (r, _) = begin(&b, &intent(Env::Blue, "alice@h", 10, 1_000))
            .await
            .unwrap();
        assert_eq!((r.live, r.pos, r.by.as_str()), (Env::Blue, 10, "alice@h"));
        assert_eq!(r.flight.as_ref().map(|f| f.share), Some(10));
        finish(
            &b,
            &intent(Env::Blue, "alice@h", 10, 1_100),
            false,
            Some(10),
            None,
        )
        .await
        .unwrap();
        let r = b.record().await.unwrap().unwrap();
        assert_eq!((r.flight, r.pos), (None, 10));
        // The schema baseline taken when the cutover began survives its writes.
        assert_eq!(r.schema.as_deref(), Some("42"));
        // Bob's config believes green is live: his forward write is refused.
        let e = begin(&b, &intent(Env::Green, "bob@h", 50, 2_000))
            .await
            .unwrap_err();
        assert!(matches!(e, RecordError::OtherWay(_)), "{e}");
        assert!(e.to_string().contains("says blue is live"), "{e}");
        // Promoted: the window's end is recorded; once over, the other way may start.
        begin(&b, &intent(Env::Blue, "alice@h", 100, 3_000))
            .await
            .unwrap();
        finish(
            &b,
            &intent(Env::Blue, "alice@h", 100, 3_100),
            false,
            Some(100),
            Some(9_000),
        )
        .await
        .unwrap();
        assert_eq!(b.record().await.unwrap().unwrap().end, Some(9_000));
        assert!(
            begin(&b, &intent(Env::Green, "bob@h", 10, 8_999))
                .await
                .is_err()
        );
        let (r, _) = begin(&b, &intent(Env::Green, "bob@h", 10, 9_000))
            .await
            .unwrap();
        assert_eq!((r.live, r.by.as_str()), (Env::Green, "bob@h"));
    }

    #[tokio::test]
    async fn nothing_moves_forward_while_a_rollback_left_the_candidate_above_zero() {
        let b = sim();
        begin(&b, &intent(Env::Blue, "alice@h", 100, 1_000))
            .await
            .unwrap();
        finish(
            &b,
            &intent(Env::Blue, "alice@h", 100, 1_100),
            false,
            Some(100),
            None,
        )
        .await
        .unwrap();
        // Bob's cold rollback read back its first step, 50 %.
        let mut rb = intent(Env::Blue, "bob@h", 50, 2_000);
        rb.action = &WriteAction::Rollback;
        finish(&b, &rb, true, Some(50), None).await.unwrap();
        let e = begin(&b, &intent(Env::Blue, "alice@h", 90, 2_500))
            .await
            .unwrap_err();
        assert!(matches!(e, RecordError::RollingBack(_)), "{e}");
        assert!(
            e.to_string()
                .starts_with("bob@h's rollback left green at 50 %"),
            "{e}"
        );
        // Once it is done (0 %), a new cutover may begin.
        let mut done = intent(Env::Blue, "bob@h", 0, 3_000);
        done.action = &WriteAction::Rollback;
        finish(&b, &done, true, Some(0), None).await.unwrap();
        assert!(
            begin(&b, &intent(Env::Blue, "alice@h", 10, 4_000))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_rollback_replaces_garbage_and_names_who_did_it() {
        let b = sim();
        assert!(
            b.swap(Slot::Record, None, Some("not a record"))
                .await
                .unwrap()
        );
        assert!(b.record().await.is_err());
        assert!(matches!(
            begin(&b, &intent(Env::Blue, "alice@h", 10, 1_000)).await,
            Err(RecordError::Store(_))
        ));
        let mut i = intent(Env::Blue, "carol@h", 0, 2_000);
        i.action = &WriteAction::Rollback;
        finish(&b, &i, true, Some(0), None).await.unwrap();
        let r = b.record().await.unwrap().unwrap();
        assert_eq!(r.live, Env::Blue);
        let last = r.last.unwrap();
        assert_eq!(
            (last.who.as_str(), last.action.as_str()),
            ("carol@h", "rollback")
        );
        complete(&b, Env::Blue).await.unwrap();
        assert_eq!(b.record().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_step_settling_after_a_rollback_leaves_its_position_and_window() {
        // Alice's promotion to 100 read back at 1_000 (begun at 900), then Carol's
        // rollback read back 0 and was recorded first; Alice's record update comes late.
        let b = sim();
        let mut step = intent(Env::Blue, "alice@h", 100, 900);
        begin(&b, &step).await.unwrap();
        let mut rb = intent(Env::Blue, "carol@h", 0, 1_050);
        rb.action = &WriteAction::Rollback;
        rb.id = "2-1";
        finish(&b, &rb, true, Some(0), None).await.unwrap();
        step.now = 1_100;
        finish(&b, &step, false, Some(100), Some(60_000))
            .await
            .unwrap();
        let r = b.record().await.unwrap().unwrap();
        assert_eq!(
            (r.pos, r.end, r.flight.is_none()),
            (0, None, true),
            "the rollback's position stands, no window runs: {r:?}"
        );
        assert_eq!(r.last.unwrap().who, "carol@h");
    }
}
