//! Webhook notifications: every write, every auto-rollback, every external change, sent off
//! the loop with a timeout. A failure is shown; it never blocks or delays a rollback.

use super::Clock;
use super::update::Event;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;

/// One webhook; the URL comes from an environment variable, never from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// The environment variable that held the URL, to name it in errors.
    pub name: String,
    pub url: String,
    /// Slack-compatible (`{"text": …}`) or the generic JSON body.
    pub slack: bool,
    pub timeout: Duration,
}

/// Something worth telling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// `write`, `auto-rollback`, `external-change`.
    pub event: String,
    pub text: String,
    pub cutover: String,
    pub who: String,
}

impl Webhook {
    pub fn body(&self, n: &Notice) -> serde_json::Value {
        if self.slack {
            serde_json::json!({ "text": format!("cutover {}: {}", n.cutover, n.text) })
        } else {
            serde_json::to_value(n).unwrap_or_default()
        }
    }

    /// Posts `n`, bounded by the timeout.
    pub async fn send(&self, http: &reqwest::Client, n: &Notice) -> Result<(), String> {
        // The URL is a credential: never in an error, named by its variable instead.
        let var = format!("${}", self.name);
        self.post(http, n).await.map_err(|e| {
            let e = crate::shared::scrub(&e, &self.url, &var);
            // A receiver may echo the path or the query back ("Cannot POST /T0/B1/xoxb…"):
            // the config registered those as secrets when it read the URL.
            crate::shared::hide_secrets(&e).into_owned()
        })
    }

    async fn post(&self, http: &reqwest::Client, n: &Notice) -> Result<(), String> {
        let r = http
            .post(&self.url)
            .json(&self.body(n))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!(
                        "no answer within {}",
                        crate::shared::seconds_text(self.timeout.as_secs_f64())
                    )
                } else {
                    crate::shared::root_cause(&e.without_url())
                }
            })?;
        let status = r.status();
        if status.is_success() {
            return Ok(());
        }
        Err(crate::shared::refusal_words(r).await)
    }
}

/// Starts the notifier; every notice goes to every webhook in its own task. Failures come
/// back to the loop as events.
pub fn spawn_notifier(
    hooks: Vec<Webhook>,
    events: mpsc::Sender<Event>,
    clock: Clock,
) -> mpsc::UnboundedSender<Notice> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notice>();
    let http = crate::shared::http_client_for(hooks.iter().map(|h| h.url.as_str()))
        .build()
        .expect("a plain HTTP client builds");
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            for h in &hooks {
                let (h, http, n, events) = (h.clone(), http.clone(), n.clone(), events.clone());
                tokio::spawn(async move {
                    if let Err(error) = h.send(&http, &n).await {
                        let _ = events
                            .send(Event::NotifyFailed {
                                hook: h.name.clone(),
                                error,
                                now: clock.now(),
                            })
                            .await;
                    }
                });
            }
        }
    });
    tx
}
