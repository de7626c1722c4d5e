//! Traffic switches. One trait, one file per backend: reads, writes (verified by the
//! engine's read-back) and capabilities.

pub mod alb;
pub mod haproxy;
pub mod kube;
pub mod nginx;
pub mod sim;

pub use sim::{SimBackend, SimClient};

use crate::core::Weights;
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

/// A traffic switch between blue and green.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The config `kind`, e.g. `sim`.
    fn kind(&self) -> &'static str;
    /// What it drives, for the header, e.g. `127.0.0.1:7070`.
    fn target(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    /// The weights the backend holds now.
    async fn read(&self) -> Result<Weights, BackendError>;
    /// Sets both weights in one call.
    async fn write(&self, weights: Weights) -> Result<(), BackendError>;
    /// A rollback's write: the same call, retried harder where the backend retries.
    async fn write_urgent(&self, weights: Weights) -> Result<(), BackendError> {
        self.write(weights).await
    }
    /// Resolves when the backend saw its state change (a watch event), so it is read at
    /// once instead of at the next poll. Backends without a watch never resolve.
    async fn changed(&self) {
        std::future::pending::<()>().await
    }
}
