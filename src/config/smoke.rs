//! `[[smoke]]`: the checks run against the candidate with `s` and before the first step,
//! each turned into a [`SmokeCheck`] holding one probe per env.

use super::envs::{EnvConfig, probe_of};
use super::file::ProbeFile;
use crate::core::{Env, EnvPair};
use crate::signals::smoke::SmokeCheck;
use std::time::Duration;

/// Every `[[smoke]]` table, in order; the first bad one is the error.
pub(super) fn smoke_checks(
    tables: Vec<toml::Value>,
    envs: &EnvPair<EnvConfig>,
    timeout: Duration,
) -> Result<Vec<SmokeCheck>, String> {
    tables
        .into_iter()
        .enumerate()
        .map(|(i, t)| smoke_check(i, t, envs, timeout))
        .collect()
}

/// One `[[smoke]]` table: `name`, `path` (under each env's `address`) or `url` (with
/// `{env}`), `method`, `max-latency`, and the probe keys (status, body, JSON, headers).
fn smoke_check(
    i: usize,
    t: toml::Value,
    envs: &EnvPair<EnvConfig>,
    timeout: Duration,
) -> Result<SmokeCheck, String> {
    let key = format!("smoke[{i}]");
    let toml::Value::Table(mut t) = t else {
        return Err(format!("key `{key}`: expected a table"));
    };
    let mut take = |k: &str| t.remove(k);
    let text = |k: &str, v: Option<toml::Value>| -> Result<Option<String>, String> {
        match v {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("key `{key}.{k}`: value {other}: expected a string")),
        }
    };
    let name = text("name", take("name"))?.unwrap_or_else(|| format!("check {}", i + 1));
    super::bounds::text(&format!("{key}.name"), &name, 100, "the check's name")?;
    let path = text("path", take("path"))?;
    let url = text("url", take("url"))?;
    let method = text("method", take("method"))?.unwrap_or_else(|| "GET".into());
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).map_err(|_| {
        format!("key `{key}.method`: value {method:?}: expected an HTTP method such as \"GET\"")
    })?;
    let max_latency = match text("max-latency", take("max-latency"))? {
        None => None,
        Some(d) => match humantime::parse_duration(&d) {
            Ok(v) if (Duration::from_millis(1)..=Duration::from_secs(600)).contains(&v) => Some(v),
            _ => {
                return Err(format!(
                    "key `{key}.max-latency`: value {}: expected a duration from \"1ms\" to \"10m\", such as \"500ms\"",
                    super::bounds::echo(&d)
                ));
            }
        },
    };
    let urls = match (path, url) {
        (Some(p), None) => {
            if !p.starts_with('/') {
                return Err(format!(
                    "key `{key}.path`: value {p:?}: expected a path such as \"/api/cart\""
                ));
            }
            let at = |env: Env| -> Result<String, String> {
                envs.get(env)
                    .address
                    .as_ref()
                    .map(|a| format!("{a}{p}"))
                    .ok_or_else(|| {
                        format!(
                            "key `{key}.path` needs `envs.{env}.address`, the env's own base URL"
                        )
                    })
            };
            EnvPair::new(at(Env::Blue)?, at(Env::Green)?)
        }
        (None, Some(u)) => EnvPair::new(
            u.replace("{env}", &envs.blue.label),
            u.replace("{env}", &envs.green.label),
        ),
        _ => {
            return Err(format!(
                "keys `{key}.path` and `{key}.url`: expected exactly one of them"
            ));
        }
    };
    t.insert("url".into(), toml::Value::String(urls.blue.clone()));
    let file: ProbeFile = toml::Value::Table(t)
        .try_into()
        .map_err(|e: toml::de::Error| format!("key `{key}`: {}", e.message()))?;
    let mut blue = probe_of(&key, file, timeout)?;
    blue.method = method;
    let mut green = blue.clone();
    green.url = urls.green;
    crate::shared::register_url_secrets(&green.url, false);
    super::http::http_url(
        &format!("{key}.url"),
        &green.url,
        "an http:// or https:// URL",
    )?;
    Ok(SmokeCheck {
        name,
        probes: EnvPair::new(blue, green),
        max_latency,
    })
}
