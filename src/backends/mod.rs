//! Traffic switches. One trait, one file per backend: reads, writes (verified by the
//! engine's read-back) and capabilities.

pub mod alb;
pub mod aws;
pub mod aws_http;
pub mod cloudwatch;
pub mod discover;
pub mod eb;
pub mod file_store;
pub mod haproxy;
pub mod kube;
pub mod nginx;
pub mod route53;
pub mod sim;

pub use crate::core::Slot;
pub use crate::shared::BackendError;
pub use crate::sim::SimClient;
pub use sim::SimBackend;

use crate::core::{Lease, Record, Weights};
use async_trait::async_trait;

/// What a backend can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Weighted (any share) or flip-only (0 or 100).
    pub weighted: bool,
    /// The backend's weight scale: a share of 100 % is this weight.
    pub scale: u32,
}

/// The read side of a traffic switch between blue and green: everything an observer or a
/// `--read-only` cutover may do.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The config `kind`, e.g. `sim`.
    fn kind(&self) -> &'static str;
    /// What it drives, for the header, e.g. `127.0.0.1:7070`.
    fn target(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    /// The weights the backend holds now.
    async fn read(&self) -> Result<Weights, BackendError>;
    /// Resolves when the backend saw its state change (a watch event), so it is read at
    /// once instead of at the next poll. Backends without a watch never resolve.
    async fn changed(&self) {
        std::future::pending::<()>().await;
    }
    /// The text stored in `slot` beside the backend; `None` when there is none.
    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError>;
    /// Where `slot` is kept, for messages: "annotation cutover/driver-lease on …".
    fn place(&self, slot: Slot) -> String;
    /// The driver lease as stored; `None` when nobody holds one. Text that is not a lease
    /// is an error, never "nobody drives".
    async fn lease(&self) -> Result<Option<Lease>, BackendError> {
        let raw = self.load(Slot::Lease).await?;
        lease_of(self.place(Slot::Lease), raw)
    }
    fn lease_place(&self) -> String {
        self.place(Slot::Lease)
    }
    /// The cutover record as stored; `None` when no cutover is recorded. A stored text that
    /// is not a record is an error, never a guess.
    async fn record(&self) -> Result<Option<Record>, BackendError> {
        let raw = self.load(Slot::Record).await?;
        record_of(self.place(Slot::Record), raw)
    }
    /// The record and the lease at once: both asked together, in one call where the two
    /// live in one place (an ALB's tags).
    async fn record_and_lease(
        &self,
    ) -> (
        Result<Option<Record>, BackendError>,
        Result<Option<Lease>, BackendError>,
    ) {
        futures::join!(self.record(), self.lease())
    }
    /// How long after a verified change clients may still see the old weights (a DNS
    /// record's TTL), as last read; `None`: the change takes effect at once.
    fn propagation(&self) -> Option<std::time::Duration> {
        None
    }
    /// What a write in flight waits for now, for the screen ("Route53 change PENDING 12 s",
    /// "swap in progress: green Updating 20 s"); `None`: nothing to say.
    fn progress(&self) -> Option<String> {
        None
    }
    /// What an operator should change before a cutover on this backend, read from it now
    /// (a DNS TTL above 60 s): said by `check` as warnings, never a failure.
    async fn advice(&self) -> Result<Vec<String>, BackendError> {
        Ok(Vec::new())
    }
}

/// A stored lease text (kept at `place`) as a lease: text that is not one is an error,
/// never "nobody drives".
pub fn lease_of(place: String, raw: Option<String>) -> Result<Option<Lease>, BackendError> {
    match raw {
        None => Ok(None),
        Some(t) => Lease::decode(&t)
            .map(Some)
            .ok_or_else(|| BackendError::Protocol {
                target: place,
                message: format!(
                    "the lease store holds \"{}\", which is not a driver lease",
                    crate::core::record::shorten(&t)
                ),
            }),
    }
}

/// A stored record text (kept at `place`) as a record: none when empty, an error (never a
/// guess) when it does not parse.
pub fn record_of(place: String, raw: Option<String>) -> Result<Option<Record>, BackendError> {
    match raw {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => Record::decode(&t)
            .map(Some)
            .ok_or_else(|| BackendError::Protocol {
                target: place,
                message: format!(
                    "the cutover record \"{}\" does not parse",
                    crate::core::record::shorten(&t)
                ),
            }),
    }
}

/// What `check` could prove about the write side, without changing traffic.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteCheck {
    /// Proven: what was checked.
    Proven(String),
    /// It cannot write: what to fix (the key or the permission).
    Denied(String),
    /// It cannot be proven without writing: said plainly.
    Unprovable(String),
}

/// The write side. Only a cutover that may write holds one: a `--read-only` cutover is
/// never given a `Switch`, so no key and no code path can write through it.
#[async_trait]
pub trait Switch: Backend {
    /// Sets both weights in one call.
    async fn write(&self, weights: Weights) -> Result<(), BackendError>;
    /// A rollback's write: the same call, retried harder where the backend retries.
    async fn write_urgent(&self, weights: Weights) -> Result<(), BackendError> {
        self.write(weights).await
    }
    /// Proves, without changing traffic, that writes (and the lease and record) can be
    /// made: for `check`.
    async fn check_write(&self) -> WriteCheck;
    /// Replaces the text in `slot` with `new` (or removes it) only if the stored text is
    /// exactly `expect` (`None`: nothing stored). `Ok(false)`: it changed meanwhile.
    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError>;
}
