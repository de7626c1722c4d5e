//! HTTP pieces shared by the health probes, the smoke checks and Prometheus: secrets read
//! from an environment variable or a file, header names and values checked, and base64 for
//! basic auth.

use reqwest::header::{HeaderName, HeaderValue};
use std::path::PathBuf;

/// A secret from an environment variable or a file; never from the config itself.
pub(super) fn secret(
    key: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    let v = secret_text(key, env, file)?;
    if let Some(s) = &v {
        crate::shared::register_secret(s);
    }
    // A secret travels in a header: a control character there would fail every request
    // later, with a message naming no key. Said here, never echoed.
    if let Some(s) = &v
        && s.chars().any(char::is_control)
    {
        let from = match (env, file) {
            (Some(var), _) => format!("${var}"),
            (_, Some(p)) => p.display().to_string(),
            _ => String::new(),
        };
        return Err(format!(
            "key `{key}-{}`: {from} holds a control character (a line break?); a header cannot carry it",
            if env.is_some() { "env" } else { "file" }
        ));
    }
    Ok(v)
}

fn secret_text(
    key: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    match (env, file) {
        (Some(_), Some(_)) => Err(format!("keys `{key}-env` and `{key}-file`: expected one of them, not both")),
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!(
                "key `{key}-env`: value {var:?}: the environment variable is not set; expected it to hold the secret"
            )),
        },
        (None, Some(path)) => crate::shared::read_small_file(path, crate::shared::SMALL_FILE_MAX)
            .map(|v| Some(v.trim().to_string()))
            .map_err(|e| format!("key `{key}-file`: value {:?}: {e}; expected a readable file holding the secret", path.display().to_string())),
        (None, None) => Ok(None),
    }
}

/// The longest URL a config may hold (browsers and proxies agree on about this).
const URL_MAX: usize = 2048;

/// `url` as an `http://` or `https://` URL that parses, at most `URL_MAX` characters, no
/// spaces or control characters; else the key, the value (its secrets hidden, cut short)
/// and `expected`.
pub(super) fn http_url(key: &str, url: &str, expected: &str) -> Result<(), String> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= URL_MAX
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
    if ok {
        return Ok(());
    }
    Err(format!(
        "key `{key}`: value {}: expected {expected} (at most {URL_MAX} characters)",
        super::bounds::echo(&crate::shared::redact_url(url))
    ))
}

pub(super) fn header(
    key: &str,
    name: &str,
    value: &str,
    sensitive: bool,
) -> Result<(HeaderName, HeaderValue), String> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("key `{key}`: {name:?} is not a header name"))?;
    let lower = name.to_ascii_lowercase();
    if sensitive
        || ["auth", "token", "key", "cookie", "secret", "password"]
            .iter()
            .any(|w| lower.contains(w))
    {
        crate::shared::register_secret(value);
        if let Some((_, credential)) = value.split_once(' ') {
            crate::shared::register_secret(credential);
        }
    }
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| format!("key `{key}`: the value of {name:?} is not a valid header value"))?;
    v.set_sensitive(sensitive);
    Ok((n, v))
}

/// An AWS region (`eu-west-1`) and API endpoint, when given: a region is lower-case
/// letters, digits and hyphens; an endpoint an http(s) URL (an emulator, a VPC endpoint).
/// `table` is `backend` or `cloudwatch`.
pub(super) fn aws_place(
    table: &str,
    region: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<(), String> {
    if let Some(r) = region {
        let ok = !r.is_empty()
            && r.len() <= 32
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !r.starts_with('-')
            && !r.ends_with('-');
        if !ok {
            return Err(format!(
                "key `{table}.region`: value {}: expected an AWS region such as \"eu-west-1\"",
                super::bounds::echo(r)
            ));
        }
    }
    if let Some(u) = endpoint_url {
        http_url(
            &format!("{table}.endpoint-url"),
            u,
            "an http:// or https:// URL of the API (an emulator or a VPC endpoint)",
        )?;
    }
    Ok(())
}
