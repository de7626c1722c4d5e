//! The driver lease: who may write to this cutover's backend. One driver holds it, renews it
//! while running and releases it on quit; a dead driver's lease expires by itself. Stored
//! where the backend lives, in one compact line that fits an AWS tag value and a
//! Kubernetes annotation: `HOLDER SINCE_MS EXPIRES_MS TOKEN PID`. The PID names the holder's
//! process, so a lease whose process is gone on the same host is free at once: the same
//! person restarting after a crash gets the seat back without waiting for it to lapse.

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
    /// The holder's process id on its host; `None` in leases written before it was kept.
    pub pid: Option<u32>,
}

/// Characters an AWS tag value allows; anything else in a holder becomes `_`.
fn tag_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.:/=+-@".contains(c)
}

impl Lease {
    pub fn new(holder: &str, token: &str, now: i64, ttl: Millis) -> Lease {
        Lease::with_pid(holder, token, now, ttl, None)
    }

    pub fn with_pid(holder: &str, token: &str, now: i64, ttl: Millis, pid: Option<u32>) -> Lease {
        Lease {
            holder: holder
                .chars()
                .map(|c| if tag_safe(c) { c } else { '_' })
                .collect(),
            token: token.chars().filter(char::is_ascii_alphanumeric).collect(),
            since: now,
            expires: expiry(now, ttl),
            pid,
        }
    }

    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires
    }

    /// The host part of `user@host`.
    pub fn host(&self) -> &str {
        self.holder.rsplit_once('@').map_or("", |(_, h)| h)
    }

    /// Whether the lease is free for a cutover on `my_host` at `now`: lapsed, or held by a
    /// process of this same host that `alive` says is gone.
    pub fn free_for(&self, my_host: &str, now: i64, alive: impl Fn(u32) -> bool) -> bool {
        self.expired(now) || (self.host() == my_host && self.pid.is_some_and(|p| !alive(p)))
    }

    /// The same lease, renewed until `now + ttl`.
    pub fn renewed(&self, now: i64, ttl: Millis) -> Lease {
        Lease {
            expires: expiry(now, ttl),
            ..self.clone()
        }
    }

    pub fn encode(&self) -> String {
        let mut s = format!(
            "{} {} {} {}",
            self.holder, self.since, self.expires, self.token
        );
        if let Some(p) = self.pid {
            s.push_str(&format!(" {p}"));
        }
        s
    }

    pub fn decode(s: &str) -> Option<Lease> {
        let mut it = s.split_whitespace();
        let lease = Lease {
            holder: it.next()?.to_string(),
            since: it.next()?.parse().ok()?,
            expires: it.next()?.parse().ok()?,
            token: it.next()?.to_string(),
            pid: match it.next() {
                None => None,
                Some(p) => Some(p.parse().ok()?),
            },
        };
        it.next().is_none().then_some(lease)
    }
}

/// `now + ttl`, saturating: a huge ttl never wraps into the past.
fn expiry(now: i64, ttl: Millis) -> i64 {
    now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX))
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
        assert_eq!(Lease::decode("a 1 2 t notapid"), None);
        assert_eq!(Lease::decode("a 1 2 t 7 extra"), None);
    }

    #[test]
    fn a_dead_process_on_this_host_frees_it_and_time_never_wraps() {
        let l = Lease::with_pid("alice@bastion", "t", 1_000, 15_000, Some(4242));
        assert_eq!(Lease::decode(&l.encode()), Some(l.clone()));
        assert_eq!(l.host(), "bastion");
        let dead = |_| false;
        let alive = |_| true;
        assert!(!l.free_for("bastion", 2_000, alive));
        assert!(l.free_for("bastion", 2_000, dead));
        // Another host cannot see the process: only time frees it.
        assert!(!l.free_for("laptop", 2_000, dead));
        assert!(l.free_for("laptop", 16_000, dead));
        // A lease without a pid (an older cutover) waits for its time.
        assert!(!Lease::new("alice@bastion", "t", 1_000, 15_000).free_for("bastion", 2_000, dead));
        let huge = Lease::new("a@h", "t", 1_000, u64::MAX);
        assert_eq!(huge.expires, i64::MAX);
        assert!(!huge.expired(i64::MAX - 1));
        assert_eq!(huge.renewed(5, u64::MAX).expires, i64::MAX);
    }
}
