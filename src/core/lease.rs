//! The driver lease: who may write to this cutover's backend. One driver holds it, renews it
//! while running and releases it on quit; a dead driver's lease expires by itself. Stored
//! where the backend lives, in one compact line that fits an AWS tag value and a
//! Kubernetes annotation: `HOLDER SINCE_MS EXPIRES_MS TOKEN`.

use super::Millis;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// `user@host` of the driver.
    pub holder: String,
    /// Unique to one running cutover: tells its own lease from another's.
    pub token: String,
    /// Unix time in ms when the holder took it.
    pub since: i64,
    /// Unix time in ms when it lapses unless renewed.
    pub expires: i64,
}

/// Characters an AWS tag value allows; anything else in a holder becomes `_`.
fn tag_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.:/=+-@".contains(c)
}

impl Lease {
    pub fn new(holder: &str, token: &str, now: i64, ttl: Millis) -> Lease {
        Lease {
            holder: holder
                .chars()
                .map(|c| if tag_safe(c) { c } else { '_' })
                .collect(),
            token: token.chars().filter(char::is_ascii_alphanumeric).collect(),
            since: now,
            expires: now + ttl as i64,
        }
    }

    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires
    }

    /// The same lease, renewed until `now + ttl`.
    pub fn renewed(&self, now: i64, ttl: Millis) -> Lease {
        Lease {
            expires: now + ttl as i64,
            ..self.clone()
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.holder, self.since, self.expires, self.token
        )
    }

    pub fn decode(s: &str) -> Option<Lease> {
        let mut it = s.split_whitespace();
        let lease = Lease {
            holder: it.next()?.to_string(),
            since: it.next()?.parse().ok()?,
            expires: it.next()?.parse().ok()?,
            token: it.next()?.to_string(),
        };
        it.next().is_none().then_some(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_tag_safe() {
        let l = Lease::new("alice smith@bastion-1", "ab{c}1", 1_000, 15_000);
        assert_eq!(l.holder, "alice_smith@bastion-1");
        assert_eq!(l.token, "abc1");
        assert_eq!(l.encode(), "alice_smith@bastion-1 1000 16000 abc1");
        assert_eq!(Lease::decode(&l.encode()), Some(l.clone()));
        assert!(l.encode().chars().all(|c| c == ' ' || tag_safe(c)));
        assert!(!l.expired(15_999));
        assert!(l.expired(16_000));
        assert_eq!(l.renewed(10_000, 15_000).expires, 25_000);
        assert_eq!(Lease::decode("garbage"), None);
        assert_eq!(Lease::decode("a 1 2 t extra"), None);
    }
}
