//! `[schema]`: the database whose migrations the schema guard watches, and each env's
//! `schema-max`. The URL comes from an environment variable or a file, never inline; its
//! password is registered as a secret as it is read.

use super::bounds;
use super::file::SchemaFile;
pub use crate::signals::schema::{Contract, SchemaMax, SchemaSettings, SchemaTool};
use std::time::Duration;

use crate::signals::schema::DEFAULT_CONTRACT;

/// `[schema]` and each env's `schema-max`, checked together: a `schema-max` needs the
/// section, and a pointer needs a health probe to point into.
pub(super) fn section(
    f: Option<SchemaFile>,
    envs: &crate::core::EnvPair<super::EnvConfig>,
) -> Result<Option<SchemaSettings>, String> {
    use crate::core::Env;
    let schema = f.map(schema_settings).transpose()?;
    if schema.is_none()
        && let Some(e) = Env::ALL
            .into_iter()
            .find(|e| envs.get(*e).schema_max.is_some())
    {
        return Err(format!(
            "key `envs.{e}.schema-max`: given without a `[schema]` section: expected `[schema]` naming the database it is judged against"
        ));
    }
    for e in Env::ALL {
        if matches!(envs.get(e).schema_max, Some(SchemaMax::Pointer(_)))
            && envs.get(e).health.is_empty()
        {
            return Err(format!(
                "key `envs.{e}.schema-max-pointer`: {e} has no `health` probe whose answer it could point into: expected `health` on envs.{e}, or `schema-max`"
            ));
        }
    }
    Ok(schema)
}

fn schema_settings(f: SchemaFile) -> Result<SchemaSettings, String> {
    match f.kind.as_deref() {
        None | Some("postgres") => {}
        Some(k) => {
            return Err(format!(
                "key `schema.kind`: value {}: expected \"postgres\"",
                bounds::echo(k)
            ));
        }
    }
    let url = url(&f)?;
    let tool = match (f.tool.as_deref(), f.query) {
        (Some(_), Some(_)) => {
            return Err(
                "keys `schema.tool` and `schema.query`: both given: expected one of them".into(),
            );
        }
        (None, None) => {
            return Err(format!(
                "key `schema.tool`: missing: expected one of {} (or `query`)",
                SchemaTool::NAMES.join(", ")
            ));
        }
        (None, Some(q)) => {
            bounds::text(
                "schema.query",
                &q.replace('\n', " "),
                4000,
                "a read-only SQL query",
            )?;
            SchemaTool::Query(q)
        }
        (Some(t), None) => match t {
            "flyway" => SchemaTool::Flyway,
            "liquibase" => SchemaTool::Liquibase,
            "golang-migrate" => SchemaTool::GolangMigrate,
            "rails" => SchemaTool::Rails,
            "alembic" => SchemaTool::Alembic,
            "django" => SchemaTool::Django,
            other => {
                return Err(format!(
                    "key `schema.tool`: value {}: expected one of {}",
                    bounds::echo(other),
                    SchemaTool::NAMES.join(", ")
                ));
            }
        },
    };
    let table = table(f.table, &tool)?;
    let pattern = f.contract.unwrap_or_else(|| DEFAULT_CONTRACT.to_string());
    let contract = regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            format!(
                "key `schema.contract`: value {}: expected a regular expression ({})",
                bounds::echo(&pattern),
                crate::shared::one_line(&e.to_string(), 200)
            )
        })?;
    let interval = bounds::duration(
        "schema.interval",
        f.interval,
        Duration::from_secs(10),
        (Duration::from_secs(1), Duration::from_secs(3600)),
        "how often the migration history is read",
    )?;
    let timeout = bounds::duration(
        "schema.timeout",
        f.timeout,
        Duration::from_secs(5),
        (Duration::from_millis(100), Duration::from_secs(60)),
        "a connection or query slower than this leaves the schema unknown",
    )?;
    if let Some(p) = &f.ca_file {
        bounds::path("schema.ca-file", p)?;
        let text = crate::shared::read_small_file(p, crate::shared::SMALL_FILE_MAX).map_err(|e| {
            format!(
                "key `schema.ca-file`: value {:?}: {e}; expected a readable PEM file of CA certificates",
                p.display().to_string()
            )
        })?;
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!(
                "key `schema.ca-file`: value {:?}: no PEM certificate in it; expected a PEM file of CA certificates",
                p.display().to_string()
            ));
        }
    }
    Ok(SchemaSettings {
        url,
        tool,
        table,
        contract: Contract(contract),
        interval,
        timeout,
        ca_file: f.ca_file,
    })
}

/// The database URL, from its variable or file; its password registered as a secret.
fn url(f: &SchemaFile) -> Result<String, String> {
    let url_from = match (&f.url_env, &f.url_file) {
        (Some(v), None) => format!("${v}"),
        (None, Some(p)) => p.display().to_string(),
        (None, None) => {
            return Err(
                "key `schema.url-env` or `schema.url-file`: missing: expected the name of an environment variable, or a file, holding the database URL (never the URL itself: it holds a password)".into(),
            );
        }
        (Some(_), Some(_)) => String::new(),
    };
    let url = super::http::secret("schema.url", &f.url_env, &f.url_file)?
        .ok_or("key `schema.url-env`: missing")?;
    let key = if f.url_env.is_some() { "env" } else { "file" };
    // A password with a bare `@` splits the URL where it should not: the rest of it would
    // be read as the host, and shown. Said, never echoed.
    if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority.matches('@').count() > 1 {
            let (userinfo, _) = authority.rsplit_once('@').unwrap_or((authority, ""));
            crate::shared::register_secret(userinfo);
            return Err(format!(
                "key `schema.url-{key}`: {url_from} holds a URL with more than one `@` before its host: percent-encode an `@` in the user or password as %40"
            ));
        }
    }
    let pg: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
        format!(
            "key `schema.url-{}`: {url_from} does not hold a PostgreSQL URL ({}): expected postgres://user:password@host:port/database[?sslmode=require]",
            key,
            crate::shared::one_line(&e.to_string(), 200)
        )
    })?;
    if let Some(p) = pg.get_password() {
        crate::shared::register_secret(&String::from_utf8_lossy(p));
    }
    crate::shared::register_url_secrets(&url, false);
    Ok(url)
}

/// The history table: an identifier, optionally schema-qualified (it goes into SQL).
fn table(table: Option<String>, tool: &SchemaTool) -> Result<String, String> {
    Ok(match table {
        Some(t) if matches!(tool, SchemaTool::Query(_)) => {
            return Err(format!(
                "key `schema.table`: value {}: `query` names its own tables",
                bounds::echo(&t)
            ));
        }
        Some(t) => {
            // It goes into SQL: an identifier, optionally schema-qualified, nothing else.
            let ok = t.split('.').count() <= 2
                && t.split('.').all(|p| {
                    p.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                && t.len() <= 127;
            if !ok {
                return Err(format!(
                    "key `schema.table`: value {}: expected a table name such as \"flyway_schema_history\" or \"app.flyway_schema_history\"",
                    bounds::echo(&t)
                ));
            }
            t
        }
        None => tool.default_table().to_string(),
    })
}

/// `[envs.X] schema-max` or `schema-max-pointer`.
pub(super) fn schema_max(
    env: crate::core::Env,
    fixed: Option<String>,
    pointer: Option<String>,
) -> Result<Option<SchemaMax>, String> {
    match (fixed, pointer) {
        (Some(_), Some(_)) => Err(format!(
            "keys `envs.{env}.schema-max` and `envs.{env}.schema-max-pointer`: both given: expected one of them"
        )),
        (Some(v), None) => {
            bounds::ident(
                &format!("envs.{env}.schema-max"),
                &v,
                "._-",
                100,
                "a migration version such as \"42\" or \"2.3.1\"",
            )?;
            Ok(Some(SchemaMax::Fixed(v)))
        }
        (None, Some(p)) => {
            if !p.starts_with('/') || p.chars().any(char::is_control) || p.len() > 200 {
                return Err(format!(
                    "key `envs.{env}.schema-max-pointer`: value {}: expected a JSON pointer such as \"/build/schema\" into the env's health answer",
                    bounds::echo(&p)
                ));
            }
            Ok(Some(SchemaMax::Pointer(p)))
        }
        (None, None) => Ok(None),
    }
}
