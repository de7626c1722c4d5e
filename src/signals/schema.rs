//! The schema guard's reader: a migration tool's history in PostgreSQL, read with one
//! read-only query (a read-only session, a statement timeout, at most a few hundred rows),
//! over TLS (rustls) when the URL asks for it (`sslmode=require`). Each tool is read from
//! its own table; `query` reads whatever the operator's query returns. Rows come back as
//! JSON (`to_jsonb`), so any column type reads the same way.

use crate::core::schema::{Migration, SchemaRead};
use crate::shared::one_line;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_postgres::Client;

/// The default contract pattern: a migration that drops, renames or changes a column's
/// type breaks the version that still reads it.
pub const DEFAULT_CONTRACT: &str = r"(?i)\b(drop|rename|alter column .* type)\b";

/// Which migration tool keeps the history, each read with its own read-only query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaTool {
    Flyway,
    Liquibase,
    GolangMigrate,
    Rails,
    Alembic,
    Django,
    /// `query = '…'`: rows with `version` and optionally `rank`, `description`, `script`,
    /// `applied_at`, `success`/`failed`/`dirty`, oldest first.
    Query(String),
}

impl SchemaTool {
    pub const NAMES: [&'static str; 6] = [
        "flyway",
        "liquibase",
        "golang-migrate",
        "rails",
        "alembic",
        "django",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            SchemaTool::Flyway => "flyway",
            SchemaTool::Liquibase => "liquibase",
            SchemaTool::GolangMigrate => "golang-migrate",
            SchemaTool::Rails => "rails",
            SchemaTool::Alembic => "alembic",
            SchemaTool::Django => "django",
            SchemaTool::Query(_) => "query",
        }
    }

    /// The history table the tool keeps by default.
    pub fn default_table(&self) -> &'static str {
        match self {
            SchemaTool::Flyway => "flyway_schema_history",
            SchemaTool::Liquibase => "databasechangelog",
            SchemaTool::GolangMigrate | SchemaTool::Rails => "schema_migrations",
            SchemaTool::Alembic => "alembic_version",
            SchemaTool::Django => "django_migrations",
            SchemaTool::Query(_) => "",
        }
    }

    /// The query, newest rows first for the tools that keep many (read back oldest
    /// first). `table` is an identifier checked at load.
    fn sql(&self, table: &str) -> (String, bool) {
        let (inner, newest_first) = match self {
            SchemaTool::Flyway => (
                format!(
                    "SELECT installed_rank AS rank, coalesce(version, 'R') AS version, description, script, \
                     (extract(epoch FROM installed_on::timestamptz) * 1000)::bigint AS applied_at, \
                     NOT success AS failed FROM {table} ORDER BY installed_rank DESC LIMIT 200"
                ),
                true,
            ),
            SchemaTool::Liquibase => (
                format!(
                    "SELECT orderexecuted AS rank, id AS version, concat_ws(' ', description, comments) AS description, \
                     filename AS script, (extract(epoch FROM dateexecuted::timestamptz) * 1000)::bigint AS applied_at, \
                     exectype = 'FAILED' AS failed FROM {table} ORDER BY orderexecuted DESC LIMIT 200"
                ),
                true,
            ),
            SchemaTool::GolangMigrate => (
                format!(
                    "SELECT version AS rank, version::text AS version, dirty AS failed FROM {table} LIMIT 10"
                ),
                false,
            ),
            SchemaTool::Rails => (
                format!("SELECT version FROM {table} ORDER BY version DESC LIMIT 200"),
                true,
            ),
            SchemaTool::Alembic => (
                format!("SELECT version_num AS version FROM {table} LIMIT 10"),
                false,
            ),
            SchemaTool::Django => (
                format!(
                    "SELECT id AS rank, app || '.' || name AS version, name AS description, \
                     (extract(epoch FROM applied) * 1000)::bigint AS applied_at \
                     FROM {table} ORDER BY id DESC LIMIT 200"
                ),
                true,
            ),
            SchemaTool::Query(q) => (q.trim().trim_end_matches(';').trim().to_string(), false),
        };
        (
            format!("SELECT to_jsonb(q)::text FROM ({inner}) q LIMIT {ROWS_MAX}"),
            newest_first,
        )
    }
}

/// At most this many rows are read (a query that returns more is cut, newest kept for the
/// tools; the operator's query is asked for oldest first and cut at the end).
const ROWS_MAX: usize = 1000;

/// The contract pattern, compared by its text (a compiled regex has no equality).
#[derive(Clone, Debug)]
pub struct Contract(pub regex::Regex);

impl PartialEq for Contract {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// The highest schema version an env was proven on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaMax {
    /// `schema-max = "42"`.
    Fixed(String),
    /// `schema-max-pointer = "/build/schema"`: read from the env's first health probe's
    /// JSON answer.
    Pointer(String),
}

/// `[schema]` as the guard uses it.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaSettings {
    /// The connection URL (`postgres://…`); a secret: never shown.
    pub url: String,
    pub tool: SchemaTool,
    pub table: String,
    pub contract: Contract,
    pub interval: Duration,
    pub timeout: Duration,
    /// Extra CA certificates (PEM) trusted for a TLS connection (`sslmode=require`).
    pub ca_file: Option<PathBuf>,
}

impl SchemaSettings {
    /// `postgres 127.0.0.1:5432/app (flyway_schema_history)`: where, never who or the
    /// password.
    pub fn place(&self) -> String {
        let Ok(c) = self.url.parse::<tokio_postgres::Config>() else {
            return "postgres".into();
        };
        let host = c.get_hosts().first().map_or_else(
            || "localhost".to_string(),
            |h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            },
        );
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let db = c.get_dbname().unwrap_or("");
        let what = match &self.tool {
            SchemaTool::Query(_) => "the configured query".to_string(),
            t => format!("{} {}", t.name(), self.table),
        };
        one_line(&format!("postgres {host}:{port}/{db} ({what})"), 200)
    }
}

/// Reads the history, keeping one connection open between reads (made again when it
/// closed or a read failed).
pub struct SchemaReader {
    settings: SchemaSettings,
    client: Mutex<Option<Client>>,
}

impl SchemaReader {
    pub fn new(settings: SchemaSettings) -> Arc<SchemaReader> {
        Arc::new(SchemaReader {
            settings,
            client: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &SchemaSettings {
        &self.settings
    }

    /// One read, within the configured timeout; an error says what failed in one line,
    /// never the URL's password.
    pub async fn read(&self) -> Result<SchemaRead, String> {
        let limit = self.settings.timeout;
        match tokio::time::timeout(limit, self.read_unbounded()).await {
            Ok(r) => r,
            Err(_) => {
                *self.client.lock().await = None;
                Err(format!(
                    "{} did not answer within {}",
                    self.settings.place(),
                    crate::shared::seconds_text(limit.as_secs_f64())
                ))
            }
        }
    }

    async fn read_unbounded(&self) -> Result<SchemaRead, String> {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = Some(self.connect().await?);
        }
        let client = slot.as_ref().expect("connected just above");
        let (sql, newest_first) = self.settings.tool.sql(&self.settings.table);
        let rows = match client.query(sql.as_str(), &[]).await {
            Ok(rows) => rows,
            Err(e) => {
                *slot = None;
                return Err(format!(
                    "{}: the history could not be read: {}",
                    self.settings.place(),
                    pg_error(&e)
                ));
            }
        };
        let mut migrations = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().take(ROWS_MAX).enumerate() {
            let text: String = row.try_get(0).map_err(|e| pg_error(&e))?;
            migrations.push(
                migration(&text)
                    .map_err(|why| format!("{}: row {}: {why}", self.settings.place(), i + 1))?,
            );
        }
        if newest_first {
            migrations.reverse();
        }
        if migrations.iter().all(|m| m.rank.is_some()) {
            migrations.sort_by_key(|m| m.rank);
        }
        Ok(SchemaRead {
            migrations,
            tool: self.settings.tool.name().to_string(),
        })
    }

    async fn connect(&self) -> Result<Client, String> {
        let place = self.settings.place();
        let mut cfg: tokio_postgres::Config = self
            .settings
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| format!("{place}: {}", pg_error(&e)))?;
        // Read-only: whatever the query says, this session cannot change the database.
        let ms = self.settings.timeout.as_millis().max(100);
        cfg.application_name("cutover")
            .connect_timeout(self.settings.timeout)
            .options(format!(
                "-c default_transaction_read_only=on -c statement_timeout={ms}"
            ));
        let client = if cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            let tls = tls::connector(self.settings.ca_file.as_deref())
                .map_err(|e| format!("{place}: TLS: {e}"))?;
            let (client, conn) = cfg
                .connect(tls)
                .await
                .map_err(|e| format!("{place}: cannot connect: {}", pg_error(&e)))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        } else {
            let (client, conn) = cfg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("{place}: cannot connect: {}", pg_error(&e)))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        };
        Ok(client)
    }
}

/// A PostgreSQL error in one line: the server's own message where there is one, else the
/// cause (`connection refused`).
fn pg_error(e: &tokio_postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let root = crate::shared::root_cause(e);
            let mut t = if root.contains(&e.to_string()) {
                root
            } else {
                format!("{e} ({root})")
            };
            if t.contains("UnknownIssuer") {
                t.push_str(": no trusted root signed the server's certificate (`schema.ca-file` names the CA that did)");
            }
            t
        }
    };
    one_line(&text, 300)
}

/// One row's JSON as a migration.
fn migration(text: &str) -> Result<Migration, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not a row: {e}"))?;
    let obj = v.as_object().ok_or("not a row")?;
    let s = |k: &str| -> Option<String> {
        match obj.get(k)? {
            serde_json::Value::String(s) => Some(one_line(s, 200)),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let version = s("version").ok_or(
        "no `version` column (the query must return `version`, and may return `rank`, `description`, `script`, `applied_at`, `success`, `failed`, `dirty`)",
    )?;
    let rank = obj
        .get("rank")
        .and_then(|r| r.as_i64().or_else(|| r.as_str()?.parse().ok()))
        .or_else(|| version.parse().ok());
    let flag = |k: &str| obj.get(k).and_then(serde_json::Value::as_bool);
    let failed = flag("failed").unwrap_or(false)
        || flag("dirty").unwrap_or(false)
        || flag("success") == Some(false);
    let applied_at = obj.get("applied_at").and_then(|a| match a {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|d| d.and_utc().timestamp_millis())
            }),
        _ => None,
    });
    Ok(Migration {
        rank,
        version,
        description: s("description"),
        script: s("script"),
        applied_at,
        failed,
    })
}

/// Where an env's `schema-max` comes from, as the feed reads it.
#[derive(Clone, Debug)]
pub enum MaxSource {
    Fixed(String),
    /// A JSON pointer into this health probe's answer.
    Pointer(crate::signals::health::Probe, String),
}

/// The history and each env's `schema-max`, read together every interval.
pub struct SchemaFeed {
    pub reader: Arc<SchemaReader>,
    pub max: crate::core::EnvPair<Option<MaxSource>>,
}

/// One env's `schema-max` as last read (`None`: none configured).
pub type MaxRead = Option<Result<String, String>>;

impl SchemaFeed {
    /// One read of everything, each part within the configured timeout.
    pub async fn poll(&self) -> (Result<SchemaRead, String>, crate::core::EnvPair<MaxRead>) {
        let limit = self.reader.settings().timeout;
        let one = |m: Option<MaxSource>| async move {
            match m? {
                MaxSource::Fixed(v) => Some(Ok(v)),
                MaxSource::Pointer(probe, ptr) => Some(
                    match tokio::time::timeout(limit, schema_max_from(&probe, &ptr)).await {
                        Ok(r) => r,
                        Err(_) => Err(format!(
                            "its health did not answer within {}",
                            crate::shared::seconds_text(limit.as_secs_f64())
                        )),
                    },
                ),
            }
        };
        let (read, blue, green) = tokio::join!(
            self.reader.read(),
            one(self.max.blue.clone()),
            one(self.max.green.clone())
        );
        (read, crate::core::EnvPair::new(blue, green))
    }
}

/// Reads `pointer` from the first health probe's JSON answer: the schema version an env
/// says it runs on.
pub async fn schema_max_from(
    probe: &crate::signals::health::Probe,
    pointer: &str,
) -> Result<String, String> {
    let http = crate::shared::http_client_for([probe.url.as_str()])
        .timeout(probe.timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = http.get(&probe.url);
    for (k, v) in &probe.headers {
        req = req.header(k, v);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| one_line(&crate::shared::root_cause(&e), 200))?;
    if !resp.status().is_success() {
        return Err(format!(
            "its health answered HTTP {}",
            resp.status().as_u16()
        ));
    }
    let body = crate::shared::read_capped(resp, 64 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| "its health answer is not JSON".to_string())?;
    let v = match v.pointer(pointer) {
        Some(serde_json::Value::String(s)) => s.trim().to_string(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err(format!("its health answer has no version at {pointer}")),
    };
    // As `schema-max` in the config: letters, digits and `._-`.
    let ok = !v.is_empty()
        && v.len() <= 100
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(v)
    } else {
        Err(format!(
            "its health answer at {pointer} is not a version (\"{}\"): expected letters, digits and ._- such as \"42\" or \"1.4.2\"",
            one_line(&v, 40).escape_debug()
        ))
    }
}

mod tls {
    //! rustls for tokio-postgres: the server's certificate checked against the system's
    //! roots and the configured `ca-file`.
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

    #[derive(Clone)]
    pub struct Rustls(Arc<rustls::ClientConfig>);

    pub fn connector(ca_file: Option<&std::path::Path>) -> Result<Rustls, String> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(c);
        }
        if let Some(p) = ca_file {
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(p)
                .map_err(|e| format!("`schema.ca-file` {}: {e}", p.display()))?;
            let mut n = 0;
            for c in certs {
                let c = c.map_err(|e| format!("`schema.ca-file` {}: {e}", p.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("`schema.ca-file` {}: {e}", p.display()))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!(
                    "`schema.ca-file` {}: no PEM certificate in it",
                    p.display()
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Rustls(Arc::new(config)))
    }

    pub struct Connect {
        config: Arc<rustls::ClientConfig>,
        name: rustls_pki_types::ServerName<'static>,
    }

    impl<S> MakeTlsConnect<S> for Rustls
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = Stream<S>;
        type TlsConnect = Connect;
        type Error = rustls::Error;

        fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, rustls::Error> {
            let name = rustls_pki_types::ServerName::try_from(domain.to_string())
                .map_err(|_| rustls::Error::General(format!("{domain:?} is not a host name")))?;
            Ok(Connect {
                config: self.0.clone(),
                name,
            })
        }
    }

    impl<S> TlsConnect<S> for Connect
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = Stream<S>;
        type Error = std::io::Error;
        type Future = Pin<Box<dyn Future<Output = std::io::Result<Stream<S>>> + Send>>;

        fn connect(self, stream: S) -> Self::Future {
            Box::pin(async move {
                let c = tokio_rustls::TlsConnector::from(self.config);
                c.connect(self.name, stream).await.map(Stream)
            })
        }
    }

    pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

    impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
        fn channel_binding(&self) -> ChannelBinding {
            ChannelBinding::none()
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_any_column_type_read_as_migrations() {
        let m = migration(r#"{"rank":3,"version":"43","description":"drop column orders total","script":"V43__drop.sql","applied_at":1700000000000,"failed":false}"#).unwrap();
        assert_eq!(
            (m.rank, m.version.as_str(), m.failed),
            (Some(3), "43", false)
        );
        // golang-migrate: bigint version, dirty flag.
        let m = migration(r#"{"rank":20240101,"version":"20240101","failed":true}"#).unwrap();
        assert!(m.failed && m.description.is_none());
        // A query's own columns: success, a timestamptz, a numeric version as a number.
        let m = migration(
            r#"{"version":7,"success":false,"applied_at":"2026-11-27T05:30:00.5+00:00"}"#,
        )
        .unwrap();
        assert_eq!(
            (m.rank, m.failed, m.applied_at),
            (Some(7), true, Some(1_795_757_400_500))
        );
        let e = migration(r#"{"id":1}"#).unwrap_err();
        assert!(e.contains("`version`"), "{e}");
    }
}
