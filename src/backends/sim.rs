//! The simulator as a backend: in-process for `cutover demo`, or over HTTP against the
//! control server of `cutover sim serve`.

use super::Slot;
use super::{Backend, BackendError, Capabilities, Switch};
use crate::core::Weights;
use crate::sim::server::ControlStats;
use crate::sim::{SimHandle, WEIGHT_SCALE};
use async_trait::async_trait;
use std::time::Duration;

/// An HTTP client of a `sim serve` control server.
#[derive(Clone)]
pub struct SimClient {
    /// The whole-request timeout, for messages.
    timeout: Duration,
    base: String,
    http: reqwest::Client,
}

impl SimClient {
    /// `control` is `host:port` or a URL.
    pub fn new(control: &str, timeout: Duration) -> SimClient {
        let base = if control.starts_with("http://") || control.starts_with("https://") {
            control.trim_end_matches('/').to_string()
        } else {
            format!("http://{control}")
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        SimClient {
            base,
            http,
            timeout,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn err(&self, e: reqwest::Error) -> BackendError {
        if e.is_timeout() {
            BackendError::Timeout {
                target: self.base.clone(),
                seconds: self.timeout.as_secs_f64(),
            }
        } else if e.is_decode() {
            BackendError::Protocol {
                target: self.base.clone(),
                message: e.to_string(),
            }
        } else {
            BackendError::Unreachable {
                target: self.base.clone(),
                message: crate::shared::root_cause(&e),
            }
        }
    }

    async fn check(&self, r: reqwest::Response) -> Result<reqwest::Response, BackendError> {
        if r.status().is_success() {
            return Ok(r);
        }
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        Err(BackendError::Rejected {
            target: self.base.clone(),
            message: format!("HTTP {status}: {}", body.trim()),
        })
    }

    /// Sends `req` and decodes the JSON answer; failures become [`BackendError`]s.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let r = req.send().await.map_err(|e| self.err(e))?;
        self.check(r).await?.json().await.map_err(|e| self.err(e))
    }

    pub async fn weights(&self) -> Result<Weights, BackendError> {
        self.call(self.http.get(format!("{}/control/weights", self.base)))
            .await
    }

    pub async fn set_weights(&self, w: Weights) -> Result<Weights, BackendError> {
        self.call(
            self.http
                .put(format!("{}/control/weights", self.base))
                .json(&w),
        )
        .await
    }

    pub async fn load(&self, slot: Slot) -> Result<Option<String>, BackendError> {
        self.call(
            self.http
                .get(format!("{}/control/{}", self.base, slot.name())),
        )
        .await
    }

    pub async fn swap(
        &self,
        slot: Slot,
        expect: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, BackendError> {
        let body = crate::sim::server::SlotSwap {
            expect: expect.map(String::from),
            value: new.map(String::from),
        };
        self.call(
            self.http
                .put(format!("{}/control/{}", self.base, slot.name()))
                .json(&body),
        )
        .await
    }

    pub async fn stats(&self) -> Result<ControlStats, BackendError> {
        self.call(self.http.get(format!("{}/control/stats", self.base)))
            .await
    }
}

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
