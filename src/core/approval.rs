//! A second person for promotion: a request in the cutover record (`ask=`), answered there
//! by someone else (`ok=` or `no=`), checked where the write begins (the record's
//! compare-and-swap) so that no cockpit and no CLI gets round it. Rollback never needs one.
//!
//! "Someone else" is another login name: the part of `user@host` before the host. The same
//! person on another host is not a second person. cutover does not authenticate people: the
//! name is the one each process reports (`$USER`), as in the journal and the lease.

use std::fmt;

/// What may need a second person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    /// All traffic to the candidate.
    Promote,
    /// A move over a failed pre-flight, a breached guardrail, stale data or a candidate
    /// nothing has judged.
    Override,
}

impl Need {
    pub fn name(self) -> &'static str {
        match self {
            Need::Promote => "promote",
            Need::Override => "override",
        }
    }

    pub fn from_name(s: &str) -> Option<Need> {
        match s {
            "promote" => Some(Need::Promote),
            "override" => Some(Need::Override),
            _ => None,
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[approval]`: what needs a second person, and how long a request stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub required_for: Vec<Need>,
    pub ttl_ms: u64,
}

impl Rules {
    pub const DEFAULT_TTL_MS: u64 = 5 * 60_000;

    /// Whether a forward move to `share` that overrides something (`overrides`) needs a
    /// second person, and as what, under these rules or the ones the cutover record
    /// carries (`recorded`: those of whoever began the cutover hold for everyone in it,
    /// whatever their own config says).
    pub fn need(
        rules: Option<&Rules>,
        recorded: &[Need],
        share: u8,
        overrides: bool,
    ) -> Option<Need> {
        let mut all: Vec<Need> = recorded.to_vec();
        if let Some(r) = rules {
            all.extend(&r.required_for);
        }
        need_of(&all, share, overrides)
    }
}

/// What a move needs under `required`: an override before a promotion (it says more).
pub fn need_of(required: &[Need], share: u8, overrides: bool) -> Option<Need> {
    if overrides && required.contains(&Need::Override) {
        Some(Need::Override)
    } else if share == 100 && required.contains(&Need::Promote) {
        Some(Need::Promote)
    } else {
        None
    }
}

/// A request for approval, as the record keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub need: Need,
    /// The candidate's share the move goes to.
    pub share: u8,
    /// Who asks (`user@host`, cut to fit).
    pub who: String,
    /// Unix ms after which it is no longer answered.
    pub until: i64,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub approved: bool,
    pub who: String,
    pub at: i64,
    /// Why it was declined (spaces kept as `_` in the record).
    pub reason: Option<String>,
}

/// The login name in `user@host`.
pub fn user_of(who: &str) -> &str {
    who.rsplit_once('@').map_or(who, |(u, _)| u)
}

/// The person in `user@host`: the login name as a record keeps it (its characters
/// cleaned, its first 16), so that a name cut to fit the record is still the same person.
pub fn person(who: &str) -> String {
    user_of(who)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-@+/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(16)
        .collect()
}

/// Whether `a` and `b` are the same person (the same login name, whatever the host).
pub fn same_person(a: &str, b: &str) -> bool {
    person(a) == person(b)
}

/// What a write that needs `need` to `share`, asked by `asker`, finds in the record at
/// `now`: `Ok` with the approval when someone else approved this very request in time.
pub fn approved<'a>(
    ask: Option<&'a Ask>,
    answer: Option<&'a Answer>,
    (need, share, asker): (Need, u8, &str),
    now: i64,
) -> Result<(&'a Ask, &'a Answer), String> {
    let what = format!("{need} to {share} %");
    let Some(ask) = ask else {
        return Err(format!(
            "{what} needs approval by another person, and no request is in the cutover record"
        ));
    };
    if ask.need != need || ask.share != share || !same_person(&ask.who, asker) {
        return Err(format!(
            "{what} needs approval by another person; the request in the cutover record is {} to {} % by {}",
            ask.need, ask.share, ask.who
        ));
    }
    match answer {
        None if now > ask.until => Err(format!("the request to {what} expired unanswered")),
        None => Err(format!("{what} is still waiting for approval")),
        Some(a) if !a.approved => Err(format!(
            "{} declined {what}{}",
            a.who,
            a.reason
                .as_deref()
                .map_or_else(String::new, |r| format!(": {r}"))
        )),
        Some(a) if same_person(&a.who, &ask.who) => Err(format!(
            "{what} was approved by {}, the same person who asked: it needs another person",
            a.who
        )),
        Some(a) if a.at > ask.until => Err(format!(
            "the request to {what} expired before it was approved"
        )),
        Some(a) => Ok((ask, a)),
    }
}

/// Whether `who` may answer `ask` at `now`: not their own, not expired, not answered.
pub fn may_answer(
    ask: Option<&Ask>,
    answer: Option<&Answer>,
    who: &str,
    now: i64,
) -> Result<(), String> {
    let Some(ask) = ask else {
        return Err("no request for approval is in the cutover record".into());
    };
    if same_person(&ask.who, who) {
        return Err(format!(
            "{} asked for this: approval needs another person (another login name, not the same one on another host)",
            ask.who
        ));
    }
    if now > ask.until {
        return Err(format!(
            "the request by {} to {} to {} % expired: they must ask again",
            ask.who, ask.need, ask.share
        ));
    }
    if let Some(a) = answer {
        return Err(format!(
            "{} already {} it",
            a.who,
            if a.approved { "approved" } else { "declined" }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask() -> Ask {
        Ask {
            need: Need::Promote,
            share: 100,
            who: "alice@h1".into(),
            until: 10_000,
        }
    }

    fn ans(approved: bool, who: &str, at: i64) -> Answer {
        Answer {
            approved,
            who: who.into(),
            at,
            reason: (!approved).then(|| "p99 too high".to_string()),
        }
    }

    #[test]
    fn only_another_person_approves_in_time() {
        let a = ask();
        let need = (Need::Promote, 100, "alice@h2");
        assert!(approved(Some(&a), Some(&ans(true, "bob@h1", 9_000)), need, 12_000).is_ok());
        fn e<T: std::fmt::Debug>(r: Result<T, String>) -> String {
            r.unwrap_err()
        }
        assert!(e(approved(None, None, need, 1)).contains("no request"));
        assert!(e(approved(Some(&a), None, need, 1)).contains("still waiting"));
        assert!(e(approved(Some(&a), None, need, 10_001)).contains("expired unanswered"));
        assert!(
            e(approved(Some(&a), Some(&ans(true, "alice@h9", 1)), need, 2))
                .contains("the same person who asked")
        );
        assert!(
            e(approved(
                Some(&a),
                Some(&ans(true, "bob@h", 10_001)),
                need,
                10_002
            ))
            .contains("before it was approved")
        );
        assert_eq!(
            e(approved(Some(&a), Some(&ans(false, "bob@h", 5)), need, 6)),
            "bob@h declined promote to 100 %: p99 too high"
        );
        // Another request, another asker, another share: not this one's approval.
        let other = (Need::Override, 100, "alice@h2");
        assert!(
            e(approved(Some(&a), Some(&ans(true, "bob@h", 5)), other, 6))
                .contains("is promote to 100 % by alice@h1")
        );
        let carol = (Need::Promote, 100, "carol@h2");
        assert!(approved(Some(&a), Some(&ans(true, "bob@h", 5)), carol, 6).is_err());
    }

    #[test]
    fn an_answer_is_another_persons_once_in_time() {
        let a = ask();
        assert!(may_answer(Some(&a), None, "bob@h1", 9_999).is_ok());
        assert!(
            may_answer(Some(&a), None, "alice@other-host", 1)
                .unwrap_err()
                .contains("another person")
        );
        assert!(
            may_answer(Some(&a), None, "bob@h1", 10_001)
                .unwrap_err()
                .contains("expired")
        );
        assert!(
            may_answer(Some(&a), Some(&ans(true, "carol@h", 3)), "bob@h1", 4)
                .unwrap_err()
                .contains("carol@h already approved")
        );
        assert!(may_answer(None, None, "bob@h1", 4).is_err());
        assert_eq!(user_of("a@b@host"), "a@b");
        assert_eq!(user_of("nohost"), "nohost");
    }
}
