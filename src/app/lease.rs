//! Taking, renewing, handing over and releasing the driver lease through the backend. The
//! lease decides who may write; the `Switch` decides who can.

use crate::backends::{Backend, BackendError, Slot, Switch};
use crate::core::{Lease, Millis};

/// Unix time in ms, the lease's clock.
pub fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A random token for this process.
pub fn token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

/// Whether process `pid` of this host still runs.
pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Who this cutover is, for the lease.
#[derive(Clone, Debug)]
pub struct Me {
    pub holder: String,
    pub token: String,
    pub ttl: Millis,
    /// This process, named in the lease so that a crash frees it at once on this host.
    pub pid: u32,
}

impl Me {
    pub fn new(holder: &str, ttl: Millis) -> Me {
        Me {
            holder: holder.into(),
            token: token(),
            ttl,
            pid: std::process::id(),
        }
    }

    fn lease(&self, now: i64) -> Lease {
        Lease::with_pid(&self.holder, &self.token, now, self.ttl, Some(self.pid))
    }

    pub fn owns(&self, l: &Lease) -> bool {
        l.token == self.token
    }

    fn host(&self) -> &str {
        self.holder.rsplit_once('@').map_or("", |(_, h)| h)
    }

    /// Someone else's lease that still binds: not lapsed, and not left by a dead process
    /// of this host (the same person restarting after a crash).
    fn binds(&self, l: &Lease, now: i64) -> bool {
        !self.owns(l) && !l.free_for(self.host(), now, process_alive)
    }
}

/// Where the lease stands after a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Standing {
    /// This cutover holds it (until `expires`).
    Mine(Lease),
    /// Someone else holds a live lease.
    Theirs(Lease),
    /// Nobody holds a live one.
    Free,
}

/// Longest a lease may run from now: the longest `lease-ttl` and a minute of clock skew.
/// Anything longer was not written by a cutover and is not trusted.
pub const LONGEST_MS: i64 = 3_600_000 + 60_000;

/// The stored text and the lease it holds. Text that is not a lease, or a lease running
/// longer than any cutover writes, is an error: the store answered nonsense, so nobody can
/// say who drives, and forward writes fail closed (a deliberate take-over replaces it).
async fn stored(
    b: &dyn Backend,
    now: i64,
) -> Result<(Option<String>, Option<Lease>), BackendError> {
    let raw = b.load(Slot::Lease).await?;
    let lease = match raw.as_deref() {
        None => None,
        Some(t) => {
            let bad = |why: String| BackendError::Protocol {
                target: b.place(Slot::Lease),
                message: format!("{why}; take over with T, or remove it"),
            };
            let l = Lease::decode(t).ok_or_else(|| {
                bad(format!(
                    "the lease store holds \"{}\", which is not a driver lease",
                    crate::core::record::shorten(t)
                ))
            })?;
            if l.expires > now.saturating_add(LONGEST_MS) {
                return Err(bad(format!(
                    "{}'s lease runs until {}, longer than any cutover writes (lease-ttl is at most 1 h)",
                    l.holder,
                    chrono::DateTime::from_timestamp_millis(l.expires)
                        .map_or_else(|| "?".into(), |t| t.to_rfc3339())
                )));
            }
            Some(l)
        }
    };
    Ok((raw, lease))
}

/// The lease as stored, seen from `me` at `now`.
pub async fn look(b: &dyn Backend, me: &Me, now: i64) -> Result<Standing, BackendError> {
    Ok(match stored(b, now).await?.1 {
        Some(l) if me.owns(&l) => Standing::Mine(l),
        Some(l) if me.binds(&l, now) => Standing::Theirs(l),
        _ => Standing::Free,
    })
}

/// Takes the lease if it is free, expired or already ours (renewing it); otherwise says
/// who holds it.
pub async fn acquire(b: &dyn Switch, me: &Me, now: i64) -> Result<Standing, BackendError> {
    for _ in 0..3 {
        let (raw, cur) = stored(b, now).await?;
        let new = match &cur {
            Some(l) if me.owns(l) => l.renewed(now, me.ttl),
            Some(l) if me.binds(l, now) => return Ok(Standing::Theirs(l.clone())),
            _ => me.lease(now),
        };
        if b.swap(Slot::Lease, raw.as_deref(), Some(&new.encode()))
            .await?
        {
            return Ok(Standing::Mine(new));
        }
    }
    look(b, me, now).await
}

/// Renews our lease; `Theirs` or `Free` when it was taken from us meanwhile.
pub async fn renew(b: &dyn Switch, me: &Me, now: i64) -> Result<Standing, BackendError> {
    let (raw, cur) = stored(b, now).await?;
    match cur {
        Some(l) if me.owns(&l) => {
            let new = l.renewed(now, me.ttl);
            if b.swap(Slot::Lease, raw.as_deref(), Some(&new.encode()))
                .await?
            {
                Ok(Standing::Mine(new))
            } else {
                look(b, me, now).await
            }
        }
        Some(l) if me.binds(&l, now) => Ok(Standing::Theirs(l)),
        // Lapsed (we were too slow to renew) or removed: take it again if nobody has.
        _ => acquire(b, me, now).await,
    }
}

/// Takes the lease whoever holds it: a deliberate take-over, confirmed by the operator.
/// Returns the lease taken over, if there was a live one.
pub async fn take_over(
    b: &dyn Switch,
    me: &Me,
    now: i64,
) -> Result<(Standing, Option<Lease>), BackendError> {
    for _ in 0..3 {
        // Whatever is stored, garbage included: a deliberate take-over replaces it.
        let raw = b.load(Slot::Lease).await?;
        let cur = raw.as_deref().and_then(Lease::decode);
        let new = me.lease(now);
        if b.swap(Slot::Lease, raw.as_deref(), Some(&new.encode()))
            .await?
        {
            let previous = cur.filter(|l| me.binds(l, now));
            return Ok((Standing::Mine(new), previous));
        }
    }
    Ok((look(b, me, now).await?, None))
}

/// Gives the lease back if we hold it.
pub async fn release(b: &dyn Switch, me: &Me) -> Result<bool, BackendError> {
    match stored(b, wall_ms()).await? {
        (raw, Some(l)) if me.owns(&l) => b.swap(Slot::Lease, raw.as_deref(), None).await,
        _ => Ok(false),
    }
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

    #[tokio::test]
    async fn one_driver_renews_releases_and_expires() {
        let b = sim();
        // Two hosts: neither can see the other's process, only time frees a lease.
        let alice = Me::new("alice@h1", 15_000);
        let bob = Me::new("bob@h2", 15_000);
        let Standing::Mine(l) = acquire(&b, &alice, 1_000).await.unwrap() else {
            panic!()
        };
        assert_eq!((l.since, l.expires), (1_000, 16_000));
        assert_eq!(
            acquire(&b, &bob, 2_000).await.unwrap(),
            Standing::Theirs(l.clone())
        );
        let Standing::Mine(r) = renew(&b, &alice, 10_000).await.unwrap() else {
            panic!()
        };
        assert_eq!((r.since, r.expires), (1_000, 25_000));
        // Alice dies: at 25 s her lease lapses and Bob gets it.
        assert!(matches!(
            acquire(&b, &bob, 24_999).await.unwrap(),
            Standing::Theirs(_)
        ));
        assert!(matches!(
            acquire(&b, &bob, 25_000).await.unwrap(),
            Standing::Mine(_)
        ));
        // Alice comes back: she sees Bob's lease, cannot release it.
        assert!(matches!(
            renew(&b, &alice, 26_000).await.unwrap(),
            Standing::Theirs(_)
        ));
        assert!(!release(&b, &alice).await.unwrap());
        // She takes over, deliberately: Bob's next renewal finds out.
        let (s, prev) = take_over(&b, &alice, 27_000).await.unwrap();
        assert!(matches!(s, Standing::Mine(_)));
        assert_eq!(prev.map(|l| l.holder), Some("bob@h2".to_string()));
        assert!(matches!(
            renew(&b, &bob, 28_000).await.unwrap(),
            Standing::Theirs(_)
        ));
        assert!(release(&b, &alice).await.unwrap());
        assert_eq!(look(&b, &bob, 29_000).await.unwrap(), Standing::Free);
    }

    #[tokio::test]
    async fn a_crashed_process_on_this_host_leaves_the_seat_free() {
        let b = sim();
        let mut dead = Me::new("alice@bastion", 60_000);
        dead.pid = u32::MAX; // no such process
        let again = Me::new("alice@bastion", 60_000);
        assert!(matches!(
            acquire(&b, &dead, 1_000).await.unwrap(),
            Standing::Mine(_)
        ));
        // Long before it lapses, the restarted cutover of the same host takes it.
        assert!(matches!(
            acquire(&b, &again, 2_000).await.unwrap(),
            Standing::Mine(_)
        ));
        // A live process of this host still binds.
        let other = Me::new("bob@bastion", 60_000);
        assert!(matches!(
            acquire(&b, &other, 3_000).await.unwrap(),
            Standing::Theirs(_)
        ));
    }
}
