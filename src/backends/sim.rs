//! The simulator as a backend: in-process for `cutover demo`, or over HTTP against the
//! control server of `cutover sim serve`.

use super::Slot;
use super::{Backend, BackendError, Capabilities, Switch};
use crate::core::Weights;
use crate::sim::{SimClient, SimHandle, WEIGHT_SCALE};
use async_trait::async_trait;

/// The simulator backend.
#[derive(Clone)]
pub enum SimBackend {
    Local(SimHandle),
    Remote(SimClient),
}

#[async_trait]
impl Backend for SimBackend {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn target(&self) -> String {
        match self {
            SimBackend::Local(h) => format!("in-process · {}", h.lock().scenario().name),
            SimBackend::Remote(c) => c.base().trim_start_matches("http://").to_string(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: true,
            scale: WEIGHT_SCALE,
        }
    }

    async fn read(&self) -> Result<Weights, BackendError> {
        match self {
            SimBackend::Local(h) => Ok(h.lock().weights()),
            SimBackend::Remote(c) => c.weights().await,
        }
    }

    async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        match self {
            SimBackend::Local(h) => Ok(h.load(slot)),
            SimBackend::Remote(c) => c.load(slot).await,
        }
    }

    fn place(&self, slot: Slot) -> String {
        match self {
            SimBackend::Local(_) => "this process (the in-process simulator)".into(),
            SimBackend::Remote(c) => format!("{}/control/{}", c.base(), slot.name()),
        }
    }
}

#[async_trait]
impl Switch for SimBackend {
    async fn check_write(&self) -> super::WriteCheck {
        // The control API that answered the read takes writes; the record must be readable.
        match self.load(Slot::Record).await {
            Ok(_) => super::WriteCheck::Proven(format!(
                "the control API takes writes; lease and record at {}",
                self.place(Slot::Record)
            )),
            Err(e) => super::WriteCheck::Denied(format!("the cutover record: {e}")),
        }
    }

    async fn write(&self, weights: Weights) -> Result<(), BackendError> {
        match self {
            SimBackend::Local(h) => {
                h.write_weights(weights).await;
                Ok(())
            }
            SimBackend::Remote(c) => c.set_weights(weights).await.map(|_| ()),
        }
    }

    async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        match self {
            SimBackend::Local(h) => Ok(h.swap(slot, expect, new)),
            SimBackend::Remote(c) => c.swap(slot, expect, new).await,
        }
    }
}
