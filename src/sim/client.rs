//! The HTTP client of a `sim serve` control server: weights, the lease and record slots and
//! the statistics, for the sim backend and the sim signal source alike.

use super::server::ControlStats;
use crate::core::Slot;
use crate::core::Weights;
use crate::shared::BackendError;
use std::time::Duration;

/// The largest answer of a control server read (weights, a record, statistics).
const BODY_MAX: usize = 1024 * 1024;

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
        let http = crate::shared::http_client_for([base.as_str()])
            .timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        SimClient {
            timeout,
            base,
            http,
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
                message: crate::shared::root_cause(&e.without_url()),
            }
        }
    }

    async fn check(&self, r: reqwest::Response) -> Result<reqwest::Response, BackendError> {
        if r.status().is_success() {
            return Ok(r);
        }
        let redirect = r.status().is_redirection();
        let message = crate::shared::refusal_words(r).await;
        Err(if redirect {
            BackendError::Protocol {
                target: self.base.clone(),
                message,
            }
        } else {
            BackendError::Rejected {
                target: self.base.clone(),
                message,
            }
        })
    }

    /// Sends `req` and decodes the JSON answer; failures become [`BackendError`]s.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let r = req.send().await.map_err(|e| self.err(e))?;
        let r = self.check(r).await?;
        let body = match crate::shared::read_capped(r, BODY_MAX).await {
            Ok(b) => b,
            // The answer had begun: the call arrived, its outcome is not known.
            Err(crate::shared::BodyError::TimedOut) => {
                return Err(BackendError::Timeout {
                    target: self.base.clone(),
                    seconds: self.timeout.as_secs_f64(),
                });
            }
            Err(crate::shared::BodyError::Read(message)) => {
                return Err(BackendError::Unreachable {
                    target: self.base.clone(),
                    message,
                });
            }
            Err(e) => {
                return Err(BackendError::Protocol {
                    target: self.base.clone(),
                    message: e.to_string(),
                });
            }
        };
        serde_json::from_slice(&body).map_err(|e| BackendError::Protocol {
            target: self.base.clone(),
            message: format!("not a control server's answer: {e}"),
        })
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
        let body = super::server::SlotSwap {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A control server that takes the connection and never answers: the client's own
    /// sub-second timeout is said as it is, not rounded to "0.0 s" or "0.2 s".
    #[tokio::test]
    async fn a_sub_second_timeout_says_its_real_duration() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let client = SimClient::new(&addr.to_string(), Duration::from_millis(250));
        let e = client.weights().await.unwrap_err();
        assert!(matches!(e, BackendError::Timeout { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("http://{addr} did not answer within 0.25 s")
        );
        let client = SimClient::new(&addr.to_string(), Duration::from_millis(20));
        let e = client.weights().await.unwrap_err();
        assert!(e.to_string().ends_with("within 0.02 s"), "{e}");
        drop(silent);
    }
}
