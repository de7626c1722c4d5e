//! `[[notify]]`: the webhooks told of every write, auto-rollback and external change, their
//! URLs read from environment variables (URLs carry secrets).

use super::file::NotifyFile;
use crate::app::notify::Webhook;
use std::time::Duration;

/// Every `[[notify]]` table, in order; the first bad one is the error.
pub(super) fn webhooks(notify: &[NotifyFile]) -> Result<Vec<Webhook>, String> {
    let mut hooks = Vec::new();
    for (i, n) in notify.iter().enumerate() {
        let key = format!("notify[{i}]");
        let url = std::env::var(&n.url_env).ok().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            format!(
                "key `{key}.url-env`: value {:?}: the environment variable is not set; expected it to hold the webhook URL",
                n.url_env
            )
        })?;
        // The whole URL is a credential: hidden wherever it would be shown, its path too.
        crate::shared::register_secret(&url);
        crate::shared::register_url_secrets(&url, true);
        // Trimmed of the line break an `export HOOK=$(cat file)` or a secrets file leaves;
        // a space or a control character inside is no URL (never shown: it is a secret).
        let url = url.trim().to_string();
        if super::http::http_url(&key, &url, "").is_err() {
            return Err(format!(
                "key `{key}.url-env`: ${} does not hold an http(s) URL with a host, no spaces or control characters, at most 2048 characters",
                n.url_env
            ));
        }
        let slack = match n.format.as_deref() {
            None | Some("slack") => true,
            Some("json") => false,
            Some(other) => {
                return Err(format!(
                    "key `{key}.format`: value {other:?}: expected \"slack\" or \"json\""
                ));
            }
        };
        hooks.push(Webhook {
            name: n.url_env.clone(),
            url,
            slack,
            timeout: super::bounds::duration(
                &format!("{key}.timeout"),
                n.timeout,
                Duration::from_secs(3),
                (Duration::from_millis(100), Duration::from_secs(60)),
                "a webhook slower than this is given up",
            )?,
        });
    }
    Ok(hooks)
}
