//! Traffic switches. One trait, one file per backend: reads, writes (verified by the
//! engine's read-back) and capabilities.

pub mod alb;
pub mod file_lease;
pub mod haproxy;
pub mod kube;
pub mod nginx;
pub mod sim;

pub use sim::{SimBackend, SimClient};

use crate::core::{Lease, Weights};
use async_trait::async_trait;

/// What a backend can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Weighted (any share) or flip-only (0 or 100).
    pub weighted: bool,
    /// The backend's weight scale: a share of 100 % is this weight.
    pub scale: u32,
}

/// A failure talking to a backend, said plainly.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum BackendError {
    #[error("cannot reach {target}: {message}")]
    Unreachable { target: String, message: String },
    #[error("{target} refused: {message}")]
    Rejected { target: String, message: String },
    #[error("{target} answered something unexpected: {message}")]
    Protocol { target: String, message: String },
    #[error("{target} did not answer within {seconds:.1} s")]
    Timeout { target: String, seconds: f64 },
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
        std::future::pending::<()>().await
    }
    /// The driver lease as stored beside the backend; `None` when nobody holds one.
    async fn lease(&self) -> Result<Option<Lease>, BackendError>;
    /// Where the lease is kept, for messages: "annotation cutover/driver-lease on …".
    fn lease_place(&self) -> String;
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
    /// Replaces the stored lease with `new` (or removes it) only if the stored one's token
    /// is `expect` (`None`: no lease stored). `Ok(false)`: someone else's lease is there.
    async fn swap_lease(
        &self,
        expect: Option<&str>,
        new: Option<&Lease>,
    ) -> Result<bool, BackendError>;
}
