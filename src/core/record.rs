//! The cutover record: what every cockpit and CLI on one backend must agree on, kept at the
//! backend beside the driver lease (same store, same compare-and-swap). Above all it names
//! the rollback target, so that no operator's journal, and no majority of a split, decides
//! where a rollback sends the traffic.
//!
//! Encoded as one line of `key=value` words that fits an AWS tag value (≤ 256 characters of
//! letters, digits, spaces and `_.:/=+-@`) and a Kubernetes annotation:
//! `v1 live=blue by=alice@bastion at=1700000000000 pos=50 last=bob@h:rollback:1700000000500
//!  flight=4242-3:0:1700000000400 end=1700000900000`.

use super::Env;
use super::approval::{Answer, Ask, Need};

/// The longest record: an AWS tag value holds 256 characters.
pub const RECORD_MAX: usize = 256;
/// Longest reason for a declined approval kept (spaces as `_`).
const REASON_MAX: usize = 40;

/// Longest `user@host` kept in a record; longer ones are cut (the tag limit is 256).
const HOLDER_MAX: usize = 36;
/// Longest action and write id kept.
const WORD_MAX: usize = 16;

/// A write in flight, as the record names it: it may have landed or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flight {
    /// The journal's write id, `PID-N`.
    pub id: String,
    /// The candidate's share it asked for.
    pub share: u8,
    /// Unix ms when it was issued.
    pub since: i64,
}

/// The last write made through the record, and by whom: lets every other cockpit say
/// "alice rolled back" instead of "external change".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastWrite {
    pub who: String,
    /// `step`, `set`, `promote`, `rollback`, …
    pub action: String,
    pub at: i64,
    /// The writer's process id, from the write id `PID-N`: tells one terminal of a user
    /// from the next.
    pub pid: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The rollback target: the env that served all traffic when the cutover began.
    pub live: Env,
    /// Who started the cutover (`user@host`), and when (unix ms).
    pub by: String,
    pub at: i64,
    /// The candidate's share last asked for: the plan position.
    pub pos: u8,
    pub last: Option<LastWrite>,
    pub flight: Option<Flight>,
    /// When the rollback window ends (unix ms), once promoted.
    pub end: Option<i64>,
    /// The schema the live env served on when the cutover began: the newest migration's
    /// rank or version (`core::schema::SchemaRead::baseline`), when a `[schema]` is watched.
    pub schema: Option<String>,
    /// A request for approval by a second person (`[approval]`), and its answer: both
    /// cleared by the next write, whatever it is.
    pub ask: Option<Ask>,
    pub answer: Option<Answer>,
    /// What needs a second person in this cutover (`[approval]` of whoever began it):
    /// every writer follows it, whatever its own config says.
    pub rules: Vec<Need>,
}

fn safe(s: &str) -> String {
    clean(s, HOLDER_MAX)
}

fn word(s: &str) -> String {
    clean(s, WORD_MAX)
}

fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-@+/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect()
}

impl Record {
    pub fn new(live: Env, by: &str, at: i64) -> Record {
        Record {
            live,
            by: safe(by),
            at,
            pos: 0,
            last: None,
            flight: None,
            end: None,
            schema: None,
            ask: None,
            answer: None,
            rules: Vec::new(),
        }
    }

    /// The record asking for approval of `need` to `share` by `who`, open until `until`
    /// (unix ms); any earlier request and its answer are replaced.
    pub fn with_ask(&self, need: Need, share: u8, who: &str, until: i64) -> Record {
        Record {
            ask: Some(Ask {
                need,
                share,
                who: safe(who),
                until,
            }),
            answer: None,
            ..self.clone()
        }
    }

    /// The record with its request answered by `who` at `at`.
    pub fn with_answer(&self, approved: bool, who: &str, at: i64, reason: Option<&str>) -> Record {
        Record {
            answer: Some(Answer {
                approved,
                who: safe(who),
                at,
                reason: reason
                    .map(|r| {
                        clean(r.trim(), REASON_MAX)
                            .replace('_', " ")
                            .trim()
                            .to_string()
                    })
                    .filter(|r| !r.is_empty()),
            }),
            ..self.clone()
        }
    }

    /// The record with `rules` for a second person.
    pub fn with_rules(&self, rules: &[Need]) -> Record {
        Record {
            rules: rules.to_vec(),
            ..self.clone()
        }
    }

    /// The record with no request for approval.
    pub fn without_ask(&self) -> Record {
        Record {
            ask: None,
            answer: None,
            ..self.clone()
        }
    }

    pub fn candidate(&self) -> Env {
        self.live.other()
    }

    /// The record with a write of `share` in flight, by `who`.
    pub fn with_flight(&self, id: &str, share: u8, who: &str, action: &str, now: i64) -> Record {
        Record {
            pos: share,
            flight: Some(Flight {
                id: word(id),
                share,
                since: now,
            }),
            last: Some(LastWrite {
                who: safe(who),
                action: word(action),
                at: now,
                pid: id.split('-').next().and_then(|p| p.parse().ok()),
            }),
            // A write consumes or voids any request for approval.
            ask: None,
            answer: None,
            ..self.clone()
        }
    }

    /// The record once the write in flight ended (landed, failed or unknown: the weights
    /// at the backend say which).
    pub fn landed(&self) -> Record {
        Record {
            flight: None,
            ..self.clone()
        }
    }

    /// Whether the window has run out at `now` (unix ms): the cutover is over and the
    /// candidate is the new live once it holds all the traffic.
    pub fn window_over(&self, now: i64) -> bool {
        self.end.is_some_and(|e| now >= e)
    }

    /// Whether the candidate at `share` % is what this record describes: at the position
    /// it names, at the share of its write in flight, or — its window run out — at 100 %.
    fn agrees(&self, share: u8, now: i64) -> bool {
        share == self.pos
            || self.flight.as_ref().is_some_and(|f| f.share == share)
            || (share == 100 && self.window_over(now))
    }

    /// Whether the weights read back are what this record describes ([`Record::agrees`]),
    /// or its live env holds everything (a rollback whose record update is still on its
    /// way). A record that does not (rewritten by hand, by a faulty writer) is never
    /// followed: the next `r` would send everything where it says. Both weights at 0 say
    /// nothing either way.
    pub fn agrees_with(&self, w: super::Weights, now: i64) -> bool {
        w.all_on() == Some(self.live)
            || w.share_of(self.candidate())
                .is_none_or(|s| self.agrees(s, now))
    }

    /// What a record that does not agree with `w` says, against what was read.
    pub fn disagreement(&self, w: super::Weights) -> String {
        let cand = self.candidate();
        let flight = self.flight.as_ref().map_or_else(String::new, |f| {
            format!(", a write to {} % in flight", f.share)
        });
        format!(
            "the cutover record says {} is live with {cand} at {} %{flight} (started by {}), but the backend reads {} ({w}): the record does not agree with the traffic and is not followed",
            self.live,
            self.pos,
            self.by,
            match w.share_of(cand) {
                Some(s) => format!("{cand} at {s} %"),
                None => "no traffic at all".to_string(),
            }
        )
    }

    /// The record as stored: at most [`RECORD_MAX`] characters. A record that would be
    /// longer gives up, in this order, the decline's reason past 16 characters, the last
    /// writer's pid, every name past 16 characters, the last write, the reason, and the
    /// starter's name past 8: never the live env, the position, a flight, the window's
    /// end, the schema baseline or the request.
    pub fn encode(&self) -> String {
        let mut r = self.clone();
        for step in 0.. {
            let text = r.encode_all();
            if text.len() <= RECORD_MAX {
                return text;
            }
            let cut = |s: &mut String, n: usize| *s = s.chars().take(n).collect();
            match step {
                0 => {
                    if let Some(reason) = r.answer.as_mut().and_then(|a| a.reason.as_mut()) {
                        cut(reason, 16);
                    }
                }
                1 => {
                    if let Some(l) = r.last.as_mut() {
                        l.pid = None;
                    }
                }
                2 => {
                    cut(&mut r.by, 16);
                    if let Some(l) = r.last.as_mut() {
                        cut(&mut l.who, 16);
                    }
                    if let Some(a) = r.ask.as_mut() {
                        cut(&mut a.who, 16);
                    }
                    if let Some(a) = r.answer.as_mut() {
                        cut(&mut a.who, 16);
                    }
                }
                3 => r.last = None,
                4 => {
                    if let Some(a) = r.answer.as_mut() {
                        a.reason = None;
                    }
                }
                5 => cut(&mut r.by, 8),
                _ => return text,
            }
        }
        unreachable!("the loop returns")
    }

    fn encode_all(&self) -> String {
        let mut s = format!(
            "v1 live={} by={} at={} pos={}",
            self.live, self.by, self.at, self.pos
        );
        if let Some(l) = &self.last {
            s.push_str(&format!(" last={}:{}:{}", l.who, l.action, l.at));
            if let Some(p) = l.pid {
                s.push_str(&format!(" lastpid={p}"));
            }
        }
        if let Some(f) = &self.flight {
            s.push_str(&format!(" flight={}:{}:{}", f.id, f.share, f.since));
        }
        if let Some(e) = self.end {
            s.push_str(&format!(" end={e}"));
        }
        if let Some(b) = &self.schema {
            s.push_str(&format!(" schema={b}"));
        }
        // One letter each (`p` promote, `o` override): the tag is short.
        if !self.rules.is_empty() {
            let letters: String = self.rules.iter().map(|n| rule_letter(*n)).collect();
            s.push_str(&format!(" need={letters}"));
        }
        if let Some(a) = &self.ask {
            s.push_str(&format!(
                " ask={}:{}:{}:{}",
                a.need, a.share, a.who, a.until
            ));
        }
        if let Some(a) = &self.answer {
            if a.approved {
                s.push_str(&format!(" ok={}:{}", a.who, a.at));
            } else {
                s.push_str(&format!(
                    " no={}:{}:{}",
                    a.who,
                    a.at,
                    a.reason.as_deref().unwrap_or("").replace(' ', "_")
                ));
            }
        }
        s
    }

    /// Parses a stored record; `None` for anything that is not one (never a guess).
    pub fn decode(s: &str) -> Option<Record> {
        let mut words = s.split_whitespace();
        if words.next()? != "v1" {
            return None;
        }
        let (mut live, mut by, mut at, mut pos) = (None, None, None, None);
        let (mut last, mut flight, mut end, mut lastpid) = (None, None, None, None);
        let (mut schema, mut ask, mut answer) = (None, None, None);
        let mut rules = Vec::new();
        for w in words {
            let (k, v) = w.split_once('=')?;
            match k {
                "live" => live = Some(v.parse::<Env>().ok()?),
                "by" => by = Some(v.to_string()),
                "at" => at = Some(v.parse::<i64>().ok()?),
                "pos" => pos = Some(v.parse::<u8>().ok().filter(|p| *p <= 100)?),
                "last" => {
                    let mut p = v.rsplitn(3, ':');
                    let at = p.next()?.parse().ok()?;
                    let action = p.next()?.to_string();
                    let who = p.next()?.to_string();
                    last = Some(LastWrite {
                        who,
                        action,
                        at,
                        pid: None,
                    });
                }
                "flight" => {
                    let mut p = v.rsplitn(3, ':');
                    let since = p.next()?.parse().ok()?;
                    let share = p.next()?.parse::<u8>().ok().filter(|p| *p <= 100)?;
                    let id = p.next()?.to_string();
                    flight = Some(Flight { id, share, since });
                }
                "end" => end = Some(v.parse::<i64>().ok()?),
                "lastpid" => lastpid = v.parse::<u32>().ok(),
                "schema" => {
                    let ok = !v.is_empty()
                        && v.len() <= 40
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                    schema = Some(v.to_string()).filter(|_| ok);
                }
                // A request or an answer that does not parse is none: never approved.
                "ask" => ask = decode_ask(v),
                // A name this version does not know is no rule it can follow.
                "need" => rules = v.chars().filter_map(rule_of_letter).collect(),
                "ok" | "no" => answer = decode_answer(k == "ok", v),
                _ => {} // a newer version's field: ignored, never fatal
            }
        }
        if let Some(l) = last.as_mut() {
            l.pid = lastpid;
        }
        Some(Record {
            live: live?,
            by: by?,
            at: at?,
            pos: pos?,
            last,
            flight,
            end,
            schema,
            answer: answer.filter(|_| ask.is_some()),
            ask,
            rules,
        })
    }
}

fn rule_letter(n: Need) -> char {
    match n {
        Need::Promote => 'p',
        Need::Override => 'o',
    }
}

fn rule_of_letter(c: char) -> Option<Need> {
    match c {
        'p' => Some(Need::Promote),
        'o' => Some(Need::Override),
        _ => None,
    }
}

fn decode_ask(v: &str) -> Option<Ask> {
    let mut p = v.split(':');
    let need = Need::from_name(p.next()?)?;
    let share = p.next()?.parse::<u8>().ok().filter(|s| *s <= 100)?;
    let who = p.next().filter(|w| !w.is_empty())?.to_string();
    let until = p.next()?.parse().ok()?;
    p.next().is_none().then_some(Ask {
        need,
        share,
        who,
        until,
    })
}

fn decode_answer(approved: bool, v: &str) -> Option<Answer> {
    let mut p = v.split(':');
    let who = p.next().filter(|w| !w.is_empty())?.to_string();
    let at = p.next()?.parse().ok()?;
    let reason = if approved {
        None
    } else {
        p.next()
            .filter(|r| !r.is_empty())
            .map(|r| r.replace('_', " "))
    };
    p.next().is_none().then_some(Answer {
        approved,
        who,
        at,
        reason,
    })
}

/// At most 80 characters of a stored text, for messages.
pub fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// Where the rollback target came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveFrom {
    Config,
    Record,
    /// The env holding all the traffic (100/0 or 0/100).
    AllTraffic,
    /// The operator said where all traffic goes (a split with no record).
    Chosen,
}

impl LiveFrom {
    pub fn words(self) -> &'static str {
        match self {
            LiveFrom::Config => "`live` in the config",
            LiveFrom::Record => "the cutover record at the backend",
            LiveFrom::AllTraffic => "it holds all the traffic",
            LiveFrom::Chosen => "the operator chose it",
        }
    }
}

/// Who is live, the rollback target: `live` in the config, else the cutover record, else —
/// only when one env holds all the traffic — that env. Never the majority of a split: with
/// a split and no record this is `None`, and the caller asks (cockpit) or wants `--to`
/// (CLI). A record whose window has run out while the candidate holds everything is over:
/// the candidate is the new live. A record that does not agree with the weights read
/// ([`Record::agrees_with`]) names nothing, and neither do the weights: nothing guesses.
pub fn resolve_live(
    configured: Option<Env>,
    record: Option<&Record>,
    weights: Option<super::Weights>,
    now_unix_ms: i64,
) -> Option<(Env, LiveFrom)> {
    if let Some(e) = configured {
        return Some((e, LiveFrom::Config));
    }
    let all = weights.and_then(|w| w.all_on());
    if let Some(r) = record {
        let over = r.window_over(now_unix_ms) && all == Some(r.candidate());
        if !over {
            if weights.is_some_and(|w| !r.agrees_with(w, now_unix_ms)) {
                return None;
            }
            return Some((r.live, LiveFrom::Record));
        }
    }
    all.map(|e| (e, LiveFrom::AllTraffic))
}

/// What cutover keeps beside the backend, each in its own place with compare-and-swap: the
/// driver lease (who may step forward) and the cutover record (who is live, what is in
/// flight). Both are one line of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Lease,
    Record,
}

impl Slot {
    pub const ALL: [Slot; 2] = [Slot::Lease, Slot::Record];

    /// `lease` or `record`: in file names, URLs, tag and annotation keys.
    pub fn name(self) -> &'static str {
        match self {
            Slot::Lease => "lease",
            Slot::Record => "record",
        }
    }

    /// Whether `text` is a valid value for this slot (stores refuse anything else).
    pub fn valid(self, text: &str) -> bool {
        match self {
            Slot::Lease => crate::core::Lease::decode(text).is_some(),
            Slot::Record => Record::decode(text).is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Weights;

    #[test]
    fn round_trips_and_fits_a_tag() {
        let r = Record::new(Env::Green, "alice smith@bastion-1", 1_000)
            .with_flight("4242-3", 50, "bob@h", "step", 2_000);
        let r = Record {
            end: Some(9_000),
            ..r
        };
        let text = r.encode();
        assert_eq!(
            text,
            "v1 live=green by=alice_smith@bastion-1 at=1000 pos=50 last=bob@h:step:2000 lastpid=4242 flight=4242-3:50:2000 end=9000"
        );
        assert_eq!(Record::decode(&text), Some(r.clone()));
        assert_eq!(Record::decode(&r.landed().encode()), Some(r.landed()));
        let long = Record::new(Env::Blue, &"x".repeat(500), i64::MAX).with_flight(
            &format!("{}-{}", u32::MAX, "9".repeat(300)),
            100,
            &"y".repeat(300),
            &"z".repeat(300),
            i64::MAX,
        );
        let long = Record {
            end: Some(i64::MAX),
            ..long
        };
        assert!(long.encode().len() <= 256, "{}", long.encode().len());
        assert!(
            long.encode()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c))
        );
        assert_eq!(Record::decode(&long.encode()), Some(long));
    }

    #[test]
    fn a_request_and_its_answer_round_trip_and_the_worst_record_still_fits_a_tag() {
        let base = Record::new(Env::Blue, "alice@h", 1_000)
            .with_flight("1-1", 50, "alice@h", "step", 2_000)
            .landed();
        let asked = base.with_ask(Need::Promote, 100, "alice@h", 9_000);
        let text = asked.encode();
        assert!(text.ends_with(" ask=promote:100:alice@h:9000"), "{text}");
        assert_eq!(Record::decode(&text), Some(asked.clone()));
        let no = asked.with_answer(false, "bob@h2", 3_000, Some("p99: 900 ms on green"));
        assert!(
            no.encode()
                .ends_with(" no=bob@h2:3000:p99__900_ms_on_green"),
            "{}",
            no.encode()
        );
        let back = Record::decode(&no.encode()).unwrap();
        assert_eq!(
            back.answer.as_ref().unwrap().reason.as_deref(),
            Some("p99  900 ms on green")
        );
        assert_eq!(Record::decode(&back.encode()), Some(back.clone()));
        let ok = asked.with_answer(true, "bob@h2", 3_000, None);
        assert!(ok.encode().ends_with(" ok=bob@h2:3000"));
        assert_eq!(Record::decode(&ok.encode()), Some(ok.clone()));
        // The next write, whatever it is, consumes the request.
        let f = ok.with_flight("1-2", 100, "alice@h", "promote", 4_000);
        assert_eq!((f.ask.as_ref(), f.answer.as_ref()), (None, None));
        // An answer without a request, or one that does not parse, is none.
        assert_eq!(
            Record::decode("v1 live=blue by=a at=1 pos=0 ok=bob:5")
                .unwrap()
                .answer,
            None
        );
        for bad in [
            "ask=promote:100:a",
            "ask=ship:100:a:5",
            "ask=promote:101:a:5",
            "ask=promote:100::5",
            "ask=promote:100:a:5:6",
        ] {
            let r = Record::decode(&format!("v1 live=blue by=a at=1 pos=0 {bad} ok=b:2")).unwrap();
            assert_eq!((r.ask, r.answer), (None, None), "{bad}");
        }
        // Every field at its longest, with 13-digit times: still one tag, and what it
        // gave up is never the live env, the flight, the schema or the request.
        let t = 1_799_999_999_999;
        let long = Record {
            end: Some(t),
            schema: Some("9".repeat(40)),
            ..Record::new(Env::Green, &"x".repeat(99), t).with_flight(
                &format!("{}-{}", u32::MAX, "9".repeat(30)),
                100,
                &"y".repeat(99),
                "z",
                t,
            )
        }
        .with_ask(Need::Override, 100, &format!("{}@host", "u".repeat(40)), t)
        .with_rules(&[Need::Promote, Need::Override])
        .with_answer(false, &"v".repeat(60), t, Some(&"w ".repeat(40)));
        let text = long.encode();
        assert!(text.len() <= RECORD_MAX, "{} {text}", text.len());
        let back = Record::decode(&text).expect("parses");
        assert_eq!(
            (back.live, back.pos, back.end, back.schema.clone()),
            (long.live, long.pos, long.end, long.schema.clone())
        );
        assert_eq!(back.flight, long.flight);
        assert_eq!(back.rules, [Need::Promote, Need::Override]);
        let ask = back.ask.clone().expect("the request is kept");
        assert_eq!((ask.need, ask.share, ask.until), (Need::Override, 100, t));
        assert!(crate::core::approval::same_person(
            &ask.who,
            &format!("{}@elsewhere", "u".repeat(40))
        ));
        assert!(back.answer.is_some());
    }

    #[test]
    fn a_record_agrees_with_its_position_its_flight_or_its_live_holding_everything() {
        let r = Record::new(Env::Blue, "a@h", 0).with_flight("1-1", 50, "a@h", "step", 10);
        let r = Record { pos: 10, ..r };
        let w = Weights::new;
        assert!(r.agrees_with(w(90, 10), 20), "the position");
        assert!(r.agrees_with(w(50, 50), 20), "the write in flight");
        assert!(
            r.agrees_with(w(100, 0), 20),
            "a rollback's record update on its way"
        );
        assert!(!r.agrees_with(w(0, 100), 20));
        assert!(!r.agrees_with(w(80, 20), 20));
        assert!(
            !r.agrees_with(w(999, 1), 20),
            "rounds to 0 %, not all on blue"
        );
        assert!(r.agrees_with(w(0, 0), 20), "no traffic says nothing");
        let done = Record {
            end: Some(100),
            flight: None,
            ..r.clone()
        };
        assert!(!done.agrees_with(w(0, 100), 50), "window still open");
        assert!(done.agrees_with(w(0, 100), 100), "window over");
        assert!(
            r.disagreement(w(0, 100)).starts_with(
                "the cutover record says blue is live with green at 10 %, a write to 50 % in flight (started by a@h), but the backend reads green at 100 % (blue 0 / green 100)"
            ),
            "{}",
            r.disagreement(w(0, 100))
        );
    }

    #[test]
    fn garbage_is_no_record() {
        for s in [
            "",
            "v2 live=blue by=a at=1 pos=0",
            "v1 live=purple by=a at=1 pos=0",
            "v1 by=a at=1 pos=0",
            "v1 live=blue by=a at=1 pos=101",
            "v1 live=blue by=a at=x pos=0",
            "alice@h 1 2 tok",
        ] {
            assert_eq!(Record::decode(s), None, "{s:?}");
        }
        // A field from a newer version is ignored.
        assert!(Record::decode("v1 live=blue by=a at=1 pos=0 color=red").is_some());
    }

    #[test]
    fn live_is_never_the_majority_of_a_split() {
        use Env::{Blue, Green};
        use LiveFrom::{AllTraffic, Config};
        const REC: LiveFrom = LiveFrom::Record;
        let w = |b, g| Some(Weights::new(b, g));
        let rec = |live, end| super::Record {
            end,
            ..super::Record::new(live, "a@h", 0)
        };
        let blue = rec(Blue, None);
        let at80 = super::Record {
            pos: 80,
            ..blue.clone()
        };
        let over = super::Record {
            pos: 100,
            ..rec(Blue, Some(100))
        };
        let over_split = super::Record {
            pos: 50,
            ..over.clone()
        };
        // Rewritten to name green live while blue holds everything at position 50.
        let forged = super::Record {
            pos: 50,
            ..rec(Green, None)
        };
        let promoted = super::Record {
            pos: 100,
            ..rec(Green, Some(9_000))
        };
        type Case<'a> = (
            Option<Env>,
            Option<&'a super::Record>,
            Option<Weights>,
            Option<(Env, LiveFrom)>,
        );
        let cases: Vec<Case> = vec![
            (Some(Green), Some(&blue), w(100, 0), Some((Green, Config))),
            (None, Some(&at80), w(20, 80), Some((Blue, REC))),
            (None, Some(&blue), w(100, 0), Some((Blue, REC))),
            // A record that does not agree with the traffic names nothing.
            (None, Some(&blue), w(20, 80), None),
            (None, Some(&blue), w(0, 100), None),
            (None, Some(&forged), w(100, 0), None),
            (None, Some(&forged), w(50, 50), Some((Green, REC))),
            (None, Some(&forged), None, Some((Green, REC))),
            // Blue promoted, green the rollback target: blue holds everything.
            (None, Some(&promoted), w(100, 0), Some((Green, REC))),
            (None, Some(&promoted), w(0, 100), Some((Green, REC))),
            (None, None, w(20, 80), None),
            (None, None, w(80, 20), None),
            (None, None, w(50, 50), None),
            (None, None, w(0, 0), None),
            (None, None, None, None),
            (None, Some(&blue), None, Some((Blue, REC))),
            (None, None, w(100, 0), Some((Blue, AllTraffic))),
            (None, None, w(0, 256), Some((Green, AllTraffic))),
            // The window ran out with green holding everything: green is live now.
            (None, Some(&over), w(0, 100), Some((Green, AllTraffic))),
            // …but not while the traffic is still split.
            (None, Some(&over_split), w(50, 50), Some((Blue, REC))),
            (None, Some(&over), w(50, 50), None),
        ];
        for (configured, record, weights, want) in cases {
            assert_eq!(
                resolve_live(configured, record, weights, 1_000),
                want,
                "{configured:?} {record:?} {weights:?}"
            );
        }
    }
}
