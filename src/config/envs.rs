//! `[envs.blue]` and `[envs.green]`: each env's version, label, address and health probes
//! turned into [`EnvConfig`]; and the probe table shared with `[[smoke]]` checks.

use super::bounds;
use super::file::{EnvFile, ProbeFile};
use super::http::{header, secret};
use crate::core::Env;
use crate::signals::health::Probe;
use std::collections::BTreeMap;
use std::time::Duration;

/// One env's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvConfig {
    pub version: Option<String>,
    pub address: Option<String>,
    /// The env's value of the env label in queries (`{env}`).
    pub label: String,
    pub health: Vec<Probe>,
    /// The highest schema version the env was proven on (`schema-max`), or where its
    /// health answer says it.
    pub schema_max: Option<super::schema::SchemaMax>,
}

/// A probe (health or smoke) from its table, checked.
pub(super) fn probe_of(key: &str, p: ProbeFile, timeout: Duration) -> Result<Probe, String> {
    super::http::http_url(&format!("{key}.url"), &p.url, "an http:// or https:// URL")?;
    crate::shared::register_url_secrets(&p.url, false);
    let mut headers = Vec::new();
    for (k, v) in &p.headers {
        header(&format!("{key}.headers"), k, v, false)?;
        headers.push((k.clone(), v.clone()));
    }
    if let Some(token) = secret(
        &format!("{key}.bearer-token"),
        &p.bearer_token_env,
        &p.bearer_token_file,
    )? {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    let expect_json = match (p.json_pointer, p.json_value) {
        (None, None) => None,
        (Some(ptr), Some(v)) => {
            if !ptr.starts_with('/') {
                return Err(format!(
                    "key `{key}.json-pointer`: value {ptr:?}: expected a JSON pointer such as \"/status\""
                ));
            }
            Some((
                ptr,
                serde_json::to_value(v).map_err(|e| format!("key `{key}.json-value`: {e}"))?,
            ))
        }
        _ => {
            return Err(format!(
                "key `{key}`: expected json-pointer and json-value together"
            ));
        }
    };
    let expect_status = p
        .expect_status
        .map(|s| {
            bounds::whole(
                &format!("{key}.expect-status"),
                s,
                (100, 599),
                "an HTTP status",
            )
        })
        .transpose()?;
    let timeout = bounds::duration(
        &format!("{key}.timeout"),
        p.timeout,
        timeout,
        (Duration::from_millis(10), Duration::from_secs(300)),
        "a probe slower than this fails",
    )?;
    Ok(Probe {
        url: p.url,
        expect_status,
        expect_body: p.expect_body,
        expect_json,
        headers,
        timeout,
        method: reqwest::Method::GET,
    })
}

pub(super) fn env_config(
    env: Env,
    f: Option<EnvFile>,
    timeout: Duration,
) -> Result<EnvConfig, String> {
    let f = f.unwrap_or_default();
    let mut health = Vec::new();
    for (i, entry) in f.health.into_iter().enumerate() {
        let key = format!("envs.{env}.health[{i}]");
        let p: ProbeFile = match entry {
            toml::Value::String(url) => ProbeFile {
                url,
                expect_status: None,
                expect_body: None,
                json_pointer: None,
                json_value: None,
                headers: BTreeMap::new(),
                bearer_token_env: None,
                bearer_token_file: None,
                timeout: None,
            },
            toml::Value::Table(t) => toml::Value::Table(t)
                .try_into()
                .map_err(|e: toml::de::Error| format!("key `{key}`: {}", e.message()))?,
            other => {
                return Err(format!(
                    "key `{key}`: value {other}: expected a URL or a table with `url`"
                ));
            }
        };
        health.push(probe_of(&key, p, timeout)?);
    }
    if let Some(a) = &f.address {
        super::http::http_url(
            &format!("envs.{env}.address"),
            a,
            "the env's own base URL, e.g. \"http://10.0.2.16:8080\"",
        )?;
    }
    if let Some(v) = &f.version {
        super::bounds::text(&format!("envs.{env}.version"), v, 100, "a version to show")?;
    }
    if let Some(l) = &f.label {
        super::bounds::text(
            &format!("envs.{env}.label"),
            l,
            200,
            "the env's label value",
        )?;
        // The value goes inside a PromQL string: a quote or a backslash would end it or
        // change the query (`g"} or vector(0) #`).
        if l.contains(['"', '\\', '`', '\'']) {
            return Err(format!(
                "key `envs.{env}.label`: value {}: expected a label value without quotes or backslashes (it is put inside a PromQL string)",
                super::bounds::echo(l)
            ));
        }
    }
    Ok(EnvConfig {
        version: f.version,
        address: f.address.map(|a| a.trim_end_matches('/').to_string()),
        label: f.label.unwrap_or_else(|| env.name().to_string()),
        health,
        schema_max: super::schema::schema_max(env, f.schema_max, f.schema_max_pointer)?,
    })
}
