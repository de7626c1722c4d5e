//! What every AWS backend shares: SDK errors in an operator's words, the profile that no
//! AWS file has, the SDK's configuration (the capped HTTP client, timeouts, retries,
//! region, profile, endpoint, static credentials for emulators).

use super::BackendError;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// `attempts` tries, the waits between them from 100 ms doubling to at most 1 s (the SDK's
/// own start at 1 s and reach 20 s): a refusal is said within the poll timeout instead of
/// "did not answer", and a rollback's eight tries take seconds, not a minute.
pub fn retry(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(1))
}

/// Where and as whom an AWS backend calls.
#[derive(Clone, Debug, PartialEq)]
pub struct Access<'a> {
    pub region: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub endpoint_url: Option<&'a str>,
    /// Static credentials, for tests against an emulator; never from the config file.
    pub static_credentials: Option<(&'a str, &'a str)>,
    /// One attempt's timeout.
    pub timeout: Duration,
    /// Attempts by default (a call may ask for more).
    pub attempts: u32,
    /// The most attempts any call makes: the whole operation's timeout allows them.
    pub max_attempts: u32,
}

impl<'a> Access<'a> {
    /// An access from a backend's settings: `(region, profile, endpoint_url)`, the static
    /// credentials of a test, one attempt's timeout, and `(attempts, max_attempts)`.
    pub fn of(
        (region, profile, endpoint_url): (Option<&'a str>, Option<&'a str>, Option<&'a str>),
        static_credentials: Option<&'a (String, String)>,
        timeout: Duration,
        (attempts, max_attempts): (u32, u32),
    ) -> Access<'a> {
        Access {
            region,
            profile,
            endpoint_url,
            static_credentials: static_credentials.map(|(id, s)| (id.as_str(), s.as_str())),
            timeout,
            attempts,
            max_attempts,
        }
    }
}

/// The SDK's configuration for `a`, and the region it resolved (or "no region"). Credentials
/// a peer may echo back in a refusal are registered as secrets first.
pub async fn sdk_config(a: &Access<'_>) -> (SdkConfig, String) {
    for var in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECURITY_TOKEN",
    ] {
        if let Ok(v) = std::env::var(var) {
            crate::shared::register_secret(&v);
        }
    }
    if let Some((id, secret)) = a.static_credentials {
        crate::shared::register_secret(id);
        crate::shared::register_secret(secret);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::aws_http::capped_client(super::aws_http::MAX_ANSWER))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(a.timeout)
                .operation_timeout(a.timeout * (a.max_attempts + 1))
                .build(),
        )
        .retry_config(retry(a.attempts));
    if let Some(r) = a.region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = a.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = a.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some((id, secret)) = a.static_credentials {
        loader =
            loader.credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
                id, secret, None, None, "static",
            ));
    }
    let sdk = loader.load().await;
    let region = sdk
        .region()
        .map_or_else(|| "no region".to_string(), std::string::ToString::to_string);
    (sdk, region)
}

/// Where `init --discover` looks: region, profile, endpoint, as the user gave them.
#[derive(Clone, Debug, Default)]
pub struct Where {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Where {
    /// The SDK's configuration for read-only discovery calls (three tries each), in
    /// `default_region` when none was given.
    pub async fn sdk_config(
        &self,
        default_region: Option<&str>,
        timeout: Duration,
    ) -> (SdkConfig, String) {
        sdk_config(&Access::of(
            (
                self.region.as_deref().or(default_region),
                self.profile.as_deref(),
                self.endpoint_url.as_deref(),
            ),
            None,
            timeout,
            (3, 3),
        ))
        .await
    }
}

/// What no credentials in the SDK's chain is said as: what was tried, what to do.
const NO_CREDENTIALS: &str = "no AWS credentials found (environment, profile, SSO, web identity, container or instance role): set AWS_PROFILE or `profile` in [backend], or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// An SDK error in one readable line: the chain of its messages (not the SDK's debug
/// dump), or what to do about missing credentials.
pub fn sdk_words<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let full = DisplayErrorContext(e).to_string();
    if full.contains("no credentials found") || full.contains("CredentialsNotLoaded") {
        return NO_CREDENTIALS.to_string();
    }
    let mut words: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        let t = c.to_string();
        let t = t.lines().next().unwrap_or("").trim().to_string();
        if !t.is_empty() && !words.iter().any(|w| w.contains(&t)) {
            words.push(t);
        }
        cur = c.source();
    }
    // The SDK's kind words say nothing to an operator when a cause follows them.
    while words.len() > 1 && matches!(words[0].as_str(), "dispatch failure" | "other" | "io") {
        words.remove(0);
    }
    let line = words.join(": ");
    if line.chars().count() > 300 {
        line.chars().take(300).collect::<String>() + "…"
    } else {
        line
    }
}

/// An SDK error as a [`BackendError`]: a timeout, an unreachable endpoint, AWS's refusal
/// (its code and message), or an answer that is no AWS API's (said with its status and
/// first words, asking whether `endpoint-url` is `api`).
pub fn error<E>(api: &str, what: &str, target: &str, e: SdkError<E, HttpResponse>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let target = target.to_string();
    // An answer that is no AWS API's (a proxy's page, a server that is not the ELB API):
    // said with its status and first words, never the XML parser's debug dump.
    let foreign = e.raw_response().filter(|_| e.code().is_none()).map(|r| {
        let body = r
            .body()
            .bytes()
            .map(|b| crate::shared::first_line(&String::from_utf8_lossy(b)))
            .unwrap_or_default();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| crate::shared::one_line(v, 120))
        };
        let code = r.status().as_u16();
        if (300..400).contains(&code) {
            return format!(
                "{what}: HTTP {code} redirect to {} (not followed): is `endpoint-url` {api}?",
                header("location").map_or_else(
                    || "nowhere (no Location header)".to_string(),
                    |l| crate::shared::redact_url(&l)
                )
            );
        }
        format!(
            "{what}: HTTP {code}{} that is not an AWS API answer ({}): is `endpoint-url` {api}?",
            header("retry-after").map_or_else(String::new, |v| format!(" (Retry-After {v})")),
            if body.is_empty() {
                "empty"
            } else {
                body.as_str()
            }
        )
    });
    if let Some(message) = foreign {
        return BackendError::Protocol { target, message };
    }
    match &e {
        SdkError::TimeoutError(_) => BackendError::Timeout {
            target,
            seconds: 0.0,
        },
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => BackendError::Unreachable {
            target,
            message: format!("{what}: {}", sdk_words(&e)),
        },
        _ => match (e.code(), e.message()) {
            (Some(code), msg) => BackendError::Rejected {
                target,
                message: format!(
                    "{what}: AWS {}: {}",
                    crate::shared::one_line(code, 80),
                    crate::shared::one_line(msg.unwrap_or(""), 300)
                ),
            },
            _ => BackendError::Protocol {
                target,
                message: format!("{what}: {}", sdk_words(&e)),
            },
        },
    }
}

/// The AWS profile named (`profile` at config key `key`, else `AWS_PROFILE`) when neither the
/// shared config file nor the credentials file has it: the key that named it, the name,
/// and where it was looked for. (The SDK would say only that no credentials were found.)
pub fn missing_profile(profile: Option<&str>, key: &str) -> Option<(String, String, String)> {
    let (key, name) = match profile {
        Some(p) => (format!("key `{key}`"), p.to_string()),
        None => (
            "AWS_PROFILE".to_string(),
            std::env::var("AWS_PROFILE").ok()?,
        ),
    };
    if name == "default" && profile.is_none() {
        return None;
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, rel: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(rel)))
    };
    let files: Vec<std::path::PathBuf> = [
        file("AWS_CONFIG_FILE", ".aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let named = |text: &str| {
        text.lines().any(|l| {
            let l = l.trim();
            l.strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .map(|h| h.trim().strip_prefix("profile ").unwrap_or(h.trim()).trim())
                == Some(name.as_str())
        })
    };
    let found = files.iter().any(|f| {
        crate::shared::read_small_file(f, crate::shared::SMALL_FILE_MAX).is_ok_and(|t| named(&t))
    });
    if found {
        return None;
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Some((key, name, looked.join(" and ")))
}
