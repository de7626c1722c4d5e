//! Small helpers every layer may use, importing nothing of the crate: the error
//! vocabulary of the pollers ([`SignalError`]) and of anything that can time out
//! ([`TimedOut`], [`with_timeout`]), the innermost message of an error chain, a timeout's
//! seconds in words, and the wall-clock timestamp written to the journal and to nginx's
//! reload-pending mark; and [`BackendError`], the switches' vocabulary (re-exported by
//! `backends`), here so that the simulator's client can speak it without importing
//! `backends`.

use std::future::Future;
use std::time::Duration;

/// Something did not answer in time.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{target} did not answer within {}", seconds_text(*seconds))]
pub struct TimedOut {
    pub target: String,
    pub seconds: f64,
}

/// Runs `f` for at most `limit`; past it, `target` did not answer ([`TimedOut`], turned
/// into the caller's error type).
pub async fn with_timeout<T, E: From<TimedOut>>(
    target: &str,
    limit: Duration,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(E::from(TimedOut {
            target: target.to_string(),
            seconds: limit.as_secs_f64(),
        })),
    }
}

/// A failure talking to a backend, said plainly.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum BackendError {
    #[error("cannot reach {target}: {message}")]
    Unreachable { target: String, message: String },
    #[error("{target} refused: {message}")]
    Rejected { target: String, message: String },
    #[error("{target} answered something unexpected: {message}")]
    Protocol { target: String, message: String },
    #[error("{target} did not answer within {}", seconds_text(*seconds))]
    Timeout { target: String, seconds: f64 },
    /// The outcome of a write, or the state, cannot be known: it may or may not have landed.
    #[error("{target}: {message}")]
    Unknown { target: String, message: String },
}

impl From<TimedOut> for BackendError {
    fn from(t: TimedOut) -> Self {
        BackendError::Timeout {
            target: t.target,
            seconds: t.seconds,
        }
    }
}

impl BackendError {
    /// A write that failed this way may still land (it was sent and not answered).
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            BackendError::Timeout { .. } | BackendError::Unknown { .. }
        )
    }
}

/// Why a signal source's poll gave nothing: no answer in time, or any other failure, in
/// words for the operator.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SignalError {
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
    #[error("{0}")]
    Failed(String),
}

impl From<String> for SignalError {
    fn from(s: String) -> Self {
        SignalError::Failed(s)
    }
}

impl From<&str> for SignalError {
    fn from(s: &str) -> Self {
        SignalError::Failed(s.to_string())
    }
}

/// The innermost message of an error chain: "Connection refused" rather than
/// "error sending request".
/// An answer's `Retry-After`, as " (Retry-After 7)", cut to a few words; empty without one.
pub fn retry_after(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| {
            format!(
                " (Retry-After {})",
                one_line(&String::from_utf8_lossy(v.as_bytes()), 40)
            )
        })
        .unwrap_or_default()
}

/// The innermost cause alone (`Connection refused`): for an error whose own text names
/// what cannot be shown (reqwest's quotes the whole request URL, queries and all).
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let msg = cur.to_string();
    if msg == e.to_string() {
        msg
    } else {
        format!("{e}: {msg}")
    }
}

/// Seconds as "5.0 s", "0.7 s" or "0.25 s": at least one decimal, and as many more as the
/// value has (to the microsecond), so a sub-second timeout is never rounded to "0.0 s".
pub fn seconds_text(seconds: f64) -> String {
    // Unknown (an SDK's own timeout fired): never said as "0.0 s".
    if seconds <= 0.0 {
        return "the time allowed (`timeout`)".into();
    }
    // Below a millisecond, in the unit that shows it (a 1 ns timeout is not "0.0 s").
    if seconds > 0.0 && seconds < 1e-3 {
        return if seconds < 1e-6 {
            format!("{} ns", (seconds * 1e9).round())
        } else {
            format!("{} µs", (seconds * 1e6).round())
        };
    }
    let digits = format!("{seconds:.6}");
    let digits = digits.trim_end_matches('0');
    if digits.ends_with('.') {
        format!("{digits}0 s")
    } else {
        format!("{digits} s")
    }
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_timeout_names_the_target_and_the_real_duration() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, SignalError>(1)
        };
        let e = with_timeout("prometheus 127.0.0.1:9", Duration::from_millis(30), slow)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "prometheus 127.0.0.1:9 did not answer within 0.03 s"
        );
        assert!(matches!(e, SignalError::TimedOut(_)));
        let fast = async { Ok::<_, SignalError>(7) };
        assert_eq!(
            with_timeout("x", Duration::from_millis(30), fast).await,
            Ok(7)
        );
        let failing = async { Err::<u8, _>(SignalError::from("refused".to_string())) };
        assert_eq!(
            with_timeout("x", Duration::from_secs(1), failing)
                .await
                .unwrap_err()
                .to_string(),
            "refused"
        );
    }

    #[test]
    fn seconds_keep_their_decimals() {
        let cases = [
            (5.0, "5.0 s"),
            (0.7, "0.7 s"),
            (0.25, "0.25 s"),
            (0.02, "0.02 s"),
            (1.125, "1.125 s"),
            (0.0, "the time allowed (`timeout`)"),
            (0.000_25, "250 µs"),
            (1e-9, "1 ns"),
        ];
        for (seconds, text) in cases {
            assert_eq!(seconds_text(seconds), text, "{seconds}");
        }
        let ms = |n| std::time::Duration::from_millis(n).as_secs_f64();
        assert_eq!(seconds_text(ms(250)), "0.25 s");
        assert_eq!(seconds_text(ms(700)), "0.7 s");
    }
}

/// The most a config, theme, scenario or secret file may hold: 1 MB.
pub const SMALL_FILE_MAX: u64 = 1024 * 1024;

/// Reads a small text file the user named (config, theme, scenario, secret): only a regular
/// file (a FIFO would block, `/dev/zero` never ends), at most `max` bytes, UTF-8. The error
/// says which of these it is not.
pub fn read_small_file(path: &std::path::Path, max: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(Error::new(ErrorKind::InvalidInput, what));
    }
    let too_big = || Error::new(ErrorKind::InvalidData, format!("over {} KB", max / 1024));
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Proves an existing file can be written by this user without writing it: only a regular
/// file (opening a FIFO for writing blocks until a reader comes: `check` hung on one), and
/// opened without blocking in case one is swapped in meanwhile.
pub fn writable_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, FIFO or socket)"
            },
        ));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map(drop)
}

/// `O_NONBLOCK` on Linux (the flag's value there; no libc crate for one constant).
pub const O_NONBLOCK: i32 = 0o4000;

/// The secrets of this process (tokens, passwords, webhook URLs and their paths, URL query
/// values), registered as the config and the kubeconfig are read: every line printed
/// ([`printable`]) and every peer text folded ([`one_line`]) has them replaced by `***`,
/// so a peer that echoes a credential back, or a field that quotes one, never shows it.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Registers `secret` (ignored under 4 characters: hiding "1" would garble everything).
pub fn register_secret(secret: &str) {
    let s = secret.trim();
    if s.chars().count() < 4 {
        return;
    }
    let mut all = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // As a peer may echo it: as is, inside a JSON string (`/` written `\/`), and
    // percent-encoded (in a URL or a form it quotes back).
    let forms = [
        s.to_string(),
        s.replace('/', "\\/"),
        percent_encoded(s, false, false),
        percent_encoded(s, true, false),
        // Python's `quote()` leaves `/` alone.
        percent_encoded(s, false, true),
        // JSON encoders that write `/` and `+` as `\u002F` (.NET), either case.
        json_u_escaped(s, false),
        json_u_escaped(s, true),
    ];
    for form in forms {
        if !all.contains(&form) {
            all.push(form);
        }
    }
    // Longest first: a token is hidden before a part of it could be.
    all.sort_by_key(|x| std::cmp::Reverse(x.len()));
}

/// `text` with every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`, and `/` with
/// `keep_slash`) percent-encoded, in upper or `lower` case hex.
fn percent_encoded(text: &str, lower: bool, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` as a JSON encoder that escapes every ASCII punctuation but `- _ .` writes it
/// (`\u002F`, `\u002B`), in upper or `lower` case hex.
fn json_u_escaped(text: &str, lower: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation() && !matches!(c, '-' | '_' | '.') {
            let n = u32::from(c);
            out.push_str(&if lower {
                format!("\\u{n:04x}")
            } else {
                format!("\\u{n:04X}")
            });
        } else {
            out.push(c);
        }
    }
    out
}

/// Registers a URL's secrets: its password, its query values and, for a webhook (`path`),
/// its path.
pub fn register_url_secrets(url: &str, path_too: bool) {
    let Ok(u) = reqwest::Url::parse(url) else {
        return;
    };
    if let Some(p) = u.password() {
        register_secret(p);
        // As an `Authorization: Basic` header carries it, should a peer echo that.
        let user = percent_decoded(u.username());
        let pass = percent_decoded(p);
        register_secret(&base64(format!("{user}:{pass}").as_bytes()));
        register_secret(&pass);
    } else if !u.username().is_empty() {
        // `http://TOKEN@host`: a user name alone is how some services take a token.
        register_secret(u.username());
        register_secret(&percent_decoded(u.username()));
    }
    for (_, v) in u.query_pairs() {
        register_secret(&v);
    }
    // And as written (percent-encoded), as an error quoting the request's URL shows them.
    for pair in u.query().unwrap_or("").split('&') {
        if let Some((_, v)) = pair.split_once('=') {
            register_secret(v);
        }
    }
    if path_too {
        // The path whole, and each part of it that looks like a key (a receiver may quote
        // only the token: `invalid_token: XXSECRETXX`): 8 characters with a digit or a
        // capital, or 16 of anything; a short path or a word such as `services` or `hook`
        // is no secret, and hiding it would mask `webhook`.
        let path = u.path().trim_start_matches('/');
        if path.len() >= 8 {
            register_secret(path);
        }
        for part in path.split('/') {
            let word = part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
            if (part.len() >= 8 && !word) || part.len() >= 16 {
                register_secret(part);
            }
        }
    }
}

/// Standard base64 with padding (RFC 4648), for HTTP basic auth.
pub fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `%XX` sequences decoded (as a URL's user name and password are sent).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every registered secret replaced by `***`.
pub fn hide_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let all = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !all.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in all.iter() {
        out = out.replace(s.as_str(), "***");
    }
    std::borrow::Cow::Owned(out)
}

/// `text` safe to print on a terminal: every control character but newline and tab
/// escaped (`\u{1b}`), so a name, a header or a body from a backend or a feed can never
/// clear the screen, set the title or move the cursor.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    match hide_secrets(text) {
        std::borrow::Cow::Borrowed(t) => escaped(t),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(escaped(&t).into_owned()),
    }
}

/// A bidirectional override or isolate: reorders what follows it on screen
/// (U+202A–U+202E, U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// JSON text with every bidirectional control written as its `\uXXXX` escape: the same
/// JSON to a parser, and nothing that reorders a terminal's line. (serde_json escapes the
/// control characters already.)
pub fn json_for_terminal(json: String) -> String {
    if !json.chars().any(is_bidi_control) {
        return json;
    }
    json.chars()
        .map(|c| {
            if is_bidi_control(c) {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `text` with control characters and bidirectional controls escaped.
fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    // Also the characters that show nothing yet change what is read: zero-width and
    // format characters (`alice\u{200b}@h` looks like `alice@h`), the line and paragraph
    // separators.
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || is_bidi_control(c)
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}' | '\u{180e}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod printable_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_lines_kept() {
        assert_eq!(printable("ok\tfine\n"), "ok\tfine\n");
        assert_eq!(
            printable("\u{1b}[2J\u{1b}]0;pwned\u{7}\r\u{9b}"),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{d}\\u{9b}"
        );
        assert_eq!(printable("a\u{202e}b\u{2066}"), "a\\u{202e}b\\u{2066}");
    }
}

/// A URL as it may be shown: a password in it and its query's values replaced by `***`
/// (tokens travel there). Text that is no URL comes back as it was.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        // Not a URL the parser takes: still no userinfo and no query values shown.
        let mut text = url.to_string();
        if let Some(scheme_end) = text.find("://")
            && let Some(at) = text[scheme_end + 3..].find('@')
        {
            text.replace_range(scheme_end + 3..scheme_end + 3 + at, "***");
        }
        if let Some(q) = text.find('?') {
            text.replace_range(q + 1.., "***");
        }
        return text;
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let keys: Vec<String> = u.query_pairs().map(|(k, _)| format!("{k}=***")).collect();
        u.set_query(Some(&keys.join("&")));
    }
    u.to_string()
}

/// `text` with every occurrence of `secret` replaced by `name` (a webhook URL by the
/// environment variable that holds it).
pub fn scrub(text: &str, secret: &str, name: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, name)
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_never_shown() {
        assert_eq!(
            redact_url("https://bot:s3cret@hooks.example/T0/B1?token=abc&x=1"),
            "https://bot:***@hooks.example/T0/B1?token=***&x=***"
        );
        assert_eq!(
            redact_url("http://10.0.0.5:8080/healthz"),
            "http://10.0.0.5:8080/healthz"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("http://user:UISECRET@[::1:bad/x?token=Q"),
            "http://***@[::1:bad/x?***"
        );
        assert_eq!(
            scrub(
                "error for url (https://h/x?k=v): refused",
                "https://h/x?k=v",
                "$HOOK"
            ),
            "error for url ($HOOK): refused"
        );
    }
}

/// Same-origin redirects followed at most, by every HTTP client of cutover.
pub const MAX_REDIRECTS: usize = 3;

/// The one HTTP client shape of cutover (health, smoke, Prometheus, webhooks, the
/// simulator's control server): a 2 s connect timeout and [`same_origin_only`] redirects.
/// Loads the system's TLS roots when built: see [`http_client_for`].
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::custom(same_origin_only))
        // A URL may hold a token: never sent on in a `Referer`.
        .referer(false)
}

/// [`http_client`] for these URLs: when none is `https`, no TLS root is loaded at all (the
/// system store is hundreds of files, half a CLI rollback's time on the simulator), and
/// redirects never change the scheme (same origin only), so none is needed.
pub fn http_client_for<'a>(urls: impl IntoIterator<Item = &'a str>) -> reqwest::ClientBuilder {
    let tls = urls
        .into_iter()
        .any(|u| !u.trim_start().to_ascii_lowercase().starts_with("http://"));
    if tls {
        http_client()
    } else {
        http_client().tls_certs_only(Vec::new())
    }
}

/// Follows a redirect only to the same scheme, host and port (a health check that lands on
/// an SSO page answering 200 is not up), at most [`MAX_REDIRECTS`] times. A cross-origin
/// redirect is not followed: the caller sees the 3xx and says where it pointed
/// ([`cross_origin_location`]).
pub fn same_origin_only(attempt: reqwest::redirect::Attempt) -> reqwest::redirect::Action {
    let from = attempt.previous().last().map(reqwest::Url::origin);
    if from.is_some_and(|o| o != attempt.url().origin()) {
        attempt.stop()
    } else if attempt.previous().len() > MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else {
        attempt.follow()
    }
}

/// A redirect's `Location` (redacted, printable) when it points to another origin than the
/// response's own: the redirect [`same_origin_only`] did not follow.
pub fn cross_origin_location(resp: &reqwest::Response) -> Option<String> {
    if !resp.status().is_redirection() {
        return None;
    }
    let Some(loc) = resp.headers().get(reqwest::header::LOCATION) else {
        return Some("(no Location header)".into());
    };
    let text = String::from_utf8_lossy(loc.as_bytes()).into_owned();
    match resp.url().join(&text) {
        Ok(to) if to.origin() == resp.url().origin() => None,
        _ => Some(printable(&redact_url(&text)).into_owned()),
    }
}

/// A redirect the client did not follow, in words: where it pointed.
pub fn redirect_words(resp: &reqwest::Response) -> Option<String> {
    let code = resp.status().as_u16();
    if !resp.status().is_redirection() {
        return None;
    }
    Some(match cross_origin_location(resp) {
        Some(loc) if resp.headers().contains_key(reqwest::header::LOCATION) => {
            format!("HTTP {code} redirects to another origin, not followed: Location {loc}")
        }
        Some(_) => format!("HTTP {code}, a redirect with no Location header"),
        None => format!("HTTP {code}: too many redirects (at most 3 followed, same origin only)"),
    })
}

/// The most of a refusing answer read, to say its first line.
pub const REFUSAL_BODY_MAX: usize = 4096;

/// Why an answer that is not the one wanted is refused, in one line, the same from every
/// client: a redirect with where it pointed; a status with its Retry-After when it has
/// one (a 429, a 503) and the first non-empty line of its body (read bounded).
pub async fn refusal_words(resp: reqwest::Response) -> String {
    if let Some(words) = redirect_words(&resp) {
        return words;
    }
    let status = resp.status();
    let retry = retry_after(&resp);
    // Only the start is read: the first line is all that is said.
    let mut head = Vec::new();
    let mut resp = resp;
    let mut unread = None;
    while head.len() < REFUSAL_BODY_MAX {
        match resp.chunk().await {
            Ok(Some(c)) => head.extend_from_slice(&c[..c.len().min(REFUSAL_BODY_MAX - head.len())]),
            Ok(None) => break,
            Err(e) => {
                unread = Some(innermost(&e));
                break;
            }
        }
    }
    let first = match (first_line(&String::from_utf8_lossy(&head)), unread) {
        (f, None) => f,
        (f, Some(_)) if !f.is_empty() => f,
        (_, Some(e)) => format!("(body not read: {})", one_line(&e, 80)),
    };
    if first.is_empty() {
        format!("HTTP {status}{retry}")
    } else {
        format!("HTTP {status}{retry}: {first}")
    }
}

/// The first non-empty line of a peer's text, cut and made printable (an HTML page said
/// by its title).
pub fn first_line(text: &str) -> String {
    if text.trim_start().starts_with('<') {
        return one_line(text, 120);
    }
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    one_line(line, 120)
}

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// Over the cap: the rest was never read.
    TooBig { max: usize },
    /// The innermost cause, without the URL (which may hold a token).
    Read(String),
    /// The whole-request timeout ran out while the body came.
    TimedOut,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooBig { max } => write!(f, "response over {}: not read", bytes_text(*max)),
            BodyError::Read(e) => f.write_str(e),
            BodyError::TimedOut => f.write_str("the body did not come within the timeout"),
        }
    }
}

/// The next chunk of a body, its error said as a [`BodyError`] (without the URL).
async fn next_chunk(resp: &mut reqwest::Response) -> Result<Option<bytes::Bytes>, BodyError> {
    resp.chunk().await.map_err(|e| {
        if e.is_timeout() {
            BodyError::TimedOut
        } else {
            BodyError::Read(root_cause(&e.without_url()))
        }
    })
}

/// A body read to its end, keeping nothing, at most `max` bytes: a bigger one, or one
/// that does not end within the request's timeout, is an error.
pub async fn drain_capped(mut resp: reqwest::Response, max: usize) -> Result<(), BodyError> {
    let mut n = 0usize;
    while let Some(chunk) = next_chunk(&mut resp).await? {
        n += chunk.len();
        if n > max {
            return Err(BodyError::TooBig { max });
        }
    }
    Ok(())
}

/// A body read to its end, at most `max` bytes: a bigger one is an error and the rest is
/// never read (a hostile or broken peer cannot fill the memory).
pub async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut resp).await? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooBig { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A size in words: "4 MB", "64 KB", "100 bytes".
pub fn bytes_text(n: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * 1024;
    if n >= MB && n.is_multiple_of(MB) {
        format!("{} MB", n / MB)
    } else if n >= KB && n.is_multiple_of(KB) {
        format!("{} KB", n / KB)
    } else {
        format!("{n} bytes")
    }
}

/// `text` on one line: every line break (`\n`, `\r`, U+0085, U+2028, U+2029) a space, so
/// a field from a journal or the environment never forges a line of output.
pub fn flat(text: &str) -> String {
    text.replace(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'], " ")
}

/// Text from a peer (an error body, a status message) as one printable line of at most
/// `max` characters: whitespace runs folded to one space, control characters escaped, the
/// cut marked with `…`. An HTML page is said as such with its `<title>`, not dumped.
pub fn one_line(text: &str, max: usize) -> String {
    // Secrets hidden before anything is cut (a cut token would no longer match).
    let text = hide_secrets(text);
    let trimmed = text.trim_start();
    let text = if trimmed.starts_with('<') {
        let title = trimmed
            .find("<title>")
            .and_then(|i| {
                let rest = &trimmed[i + "<title>".len()..];
                rest.find("</title>").map(|j| rest[..j].trim())
            })
            .filter(|t| !t.is_empty());
        match title {
            Some(t) => format!("an HTML page ({t:?})"),
            None => "an HTML page".to_string(),
        }
    } else {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let text = printable(&text).into_owned();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod http_tests {
    use super::*;

    #[test]
    fn peer_text_is_one_printable_line() {
        assert_eq!(one_line("  boom\n  at line 2\r\n", 80), "boom at line 2");
        assert_eq!(
            one_line(
                "<!DOCTYPE HTML>\n<html><head><title>Error response</title></head></html>",
                80
            ),
            "an HTML page (\"Error response\")"
        );
        assert_eq!(one_line("<html>\n</html>", 80), "an HTML page");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("a\u{1b}[2Jb", 80), "a\\u{1b}[2Jb");
        assert_eq!(bytes_text(4 * 1024 * 1024), "4 MB");
        assert_eq!(bytes_text(64 * 1024), "64 KB");
        assert_eq!(bytes_text(100), "100 bytes");
    }
}

/// Text that may quote a credential before any secret was registered (a config line that
/// did not parse, a kubeconfig that does not): a URL's userinfo and query values, and the
/// word after `Bearer`, `Basic`, `token`, `password` or `secret`, shown as `***`.
pub fn mask_secretish(text: &str) -> String {
    let stop = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ']' | '}' | '>');
    let mut out = text.to_string();
    // URLs: userinfo and query.
    let mut from = 0;
    while let Some(i) = out[from..].find("://") {
        let start = from + i + 3;
        let end = out[start..].find(stop).map_or(out.len(), |j| start + j);
        let url = &out[start..end];
        let host_end = url.find('/').unwrap_or(url.len());
        let mut masked = url.to_string();
        if let Some(q) = masked.find('?') {
            masked.replace_range(q + 1.., "***");
        }
        if let Some(at) = url[..host_end].rfind('@') {
            masked.replace_range(..at, "***");
        }
        out.replace_range(start..end, &masked);
        from = start + masked.len();
    }
    // Words after a credential's name.
    for word in ["Bearer ", "Basic ", "token", "password", "secret"] {
        let mut from = 0;
        while let Some(i) = out[from..]
            .to_ascii_lowercase()
            .find(&word.to_ascii_lowercase())
        {
            let mut start = from + i + word.len();
            // `token: x`, `token = "x"`, `password="x"`: past the separator and a quote.
            let rest = &out[start..];
            let skip = rest.len()
                - rest
                    .trim_start_matches(|c: char| {
                        c == ' ' || c == ':' || c == '=' || c == '"' || c == '\''
                    })
                    .len();
            start += skip;
            let end = out[start..].find(stop).map_or(out.len(), |j| start + j);
            if end > start && &out[start..end] != "***" {
                out.replace_range(start..end, "***");
            }
            from = (start + 3).min(out.len());
        }
    }
    out
}

/// A TOML error as one line: where (line, and the line's own text cut short: the key and
/// value, or the `[table]`) and what, never the multi-line caret drawing, and never a long
/// value echoed whole.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let mut what = one_line(&short_digits(e.message()), 300);
    if what.ends_with("expected a duration") {
        what.push_str(" such as \"500ms\", \"5s\", \"15m\" or \"1h\"");
        // A number with a unit that is still no duration is too big to hold one: said.
        if what.contains("string \"")
            && what
                .split("string \"")
                .nth(1)
                .is_some_and(|v| v.chars().take_while(char::is_ascii_digit).count() >= 12)
        {
            what.push_str(" (this one is far too long: durations here are seconds to days)");
        }
    }
    // `integer `99…` as i128, expected u32`: the type names say nothing to a user.
    if let Some(i) = what
        .find(" as i128, expected ")
        .or_else(|| what.find(" as u128, expected "))
    {
        what = format!(
            "{}, too large: expected a whole number of the size the key's range says",
            &what[..i]
        );
    }
    if what.contains("floating-point number overflowed") || what.contains("number out of range") {
        what.push_str(": expected a number of the size the key's range says (such as 0.01)");
    }
    if what.contains("recursion limit") {
        what = "keys or tables nested too deep (TOML recursion limit)".into();
    }
    let Some(span) = e.span() else {
        return what;
    };
    let mut at = span.start.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    // A tagged table (`[backend]`, read whole before its `kind` picks its keys) is where
    // TOML points for any bad value inside it: the line holding the value is found.
    if let Some(v) = value_line(text, at, e.message()) {
        at = v;
    }
    let line_no = text[..at].matches('\n').count() + 1;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = mask_secretish(text[line_start..line_end].trim());
    if line.is_empty() {
        return format!("line {line_no}: {what}");
    }
    let mut shown = one_line(&line, 80);
    // A line cut inside a quoted value is closed, so the quotes of the message after it
    // still pair (a 2 000-digit value was shown as a jumble of both).
    if shown.ends_with('…') && shown.matches('"').count() % 2 == 1 {
        shown.push('"');
    }
    format!("line {line_no} ({shown}): {what}")
}

/// Where in the table whose header is at `at` the value a message quotes (`string "x"`)
/// is set: the start of that line, when exactly one line of the table sets it.
fn value_line(text: &str, at: usize, message: &str) -> Option<usize> {
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    if !text[at..line_end].trim_start().starts_with('[') {
        return None;
    }
    let quoted = message.split("string \"").nth(1)?.split('"').next()?;
    let wanted = format!("\"{quoted}\"");
    let mut start = (line_end + 1).min(text.len());
    let mut found = None;
    for line in text[start..].split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            break;
        }
        if t.split_once('=')
            .is_some_and(|(_, v)| v.trim().trim_end_matches(',') == wanted)
        {
            if found.is_some() {
                return None;
            }
            found = Some(start);
        }
        start += line.len();
    }
    found
}

/// Runs of more than 24 digits cut to their head and their length (`1e308` read as a
/// number is 309 digits).
pub fn short_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() > 24 {
            out.push_str(&format!("{}… ({} digits)", &run[..12], run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod toml_error_tests {
    use super::*;

    #[test]
    fn json_for_a_terminal_escapes_bidi_controls_and_stays_the_same_json() {
        let v = serde_json::json!({"who": "mallory\u{202e}@host", "n": 1});
        let out = json_for_terminal(serde_json::to_string(&v).unwrap());
        assert_eq!(out, r#"{"n":1,"who":"mallory\u202e@host"}"#);
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn a_toml_error_is_one_line_with_where_and_what() {
        let text = "name = \"x\"\npoll-interval = 5\n[backend]\n";
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct F {
            name: String,
            #[serde(rename = "poll-interval")]
            poll: String,
        }
        let e = toml::from_str::<F>(text).unwrap_err();
        let said = toml_error(text, &e);
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(said.starts_with("line 2 (poll-interval = 5): "), "{said}");
        // A bad value inside a table read whole for its tag is found on its own line.
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        enum B {
            Eb {
                #[serde(rename = "swap-timeout", with = "humantime_serde")]
                swap: std::time::Duration,
            },
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct G {
            backend: B,
        }
        let text = "[backend]\nkind = \"eb\"\nswap-timeout = \"forever\"\n[x]\ny = \"forever\"\n";
        let e = toml::from_str::<G>(text).unwrap_err();
        let said = toml_error(text, &e);
        assert!(
            said.starts_with("line 3 (swap-timeout = \"forever\"): invalid value"),
            "{said}"
        );
        let long = format!("name = \"{}\n", "y".repeat(500_000));
        let e = toml::from_str::<F>(&long).unwrap_err();
        let said = toml_error(&long, &e);
        assert!(said.len() < 500 && said.starts_with("line 1 ("), "{said}");
        assert_eq!(
            mask_secretish(
                r#"health = ["http://admin:PASS1@h:80/x?token=Q1&a=b", "Bearer T0K"], token: "sk-live-1""#
            ),
            r#"health = ["http://***@h:80/x?***", "Bearer ***"], token: "***""#
        );
        assert_eq!(
            short_digits(&format!("floating point `1{}`", "0".repeat(308))),
            "floating point `100000000000… (309 digits)`"
        );
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn registered_secrets_are_hidden_before_any_cut() {
        register_secret("unit-s3cret-token-0042");
        register_url_secrets(
            "https://hooks.example/T0/B1/unit-hook-path?key=unit-qv-9",
            true,
        );
        let said = format!(
            "{}",
            printable("echo: Bearer unit-s3cret-token-0042 at /T0/B1/unit-hook-path?key=unit-qv-9")
        );
        assert_eq!(said, "echo: Bearer *** at /***?key=***");
        // Cut after hiding: no prefix of the token survives a short line.
        assert_eq!(one_line("xx unit-s3cret-token-0042 yy", 8), "xx *** …");
    }

    #[test]
    fn base64_table() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("user:pass", "dXNlcjpwYXNz"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn a_urls_credentials_are_hidden_in_every_form_a_peer_echoes() {
        register_url_secrets(
            "http://u:Unit%2BPass1@prom.example/x?api_key=Unit%2Fkey%2B77",
            false,
        );
        register_url_secrets("http://UnitUserToken99@hook.example/", false);
        let basic = base64(b"u:Unit+Pass1");
        let said = printable(&format!(
            "denied Basic {basic} for /x?api_key=Unit%2Fkey%2B77 (api_key Unit/key+77) by UnitUserToken99"
        ))
        .into_owned();
        assert_eq!(
            said,
            "denied Basic *** for /x?api_key=*** (api_key ***) by ***"
        );
        assert_eq!(percent_decoded("a%2Fb%zz%4"), "a/b%zz%4");
    }

    /// A peer quotes a secret as JSON does (`\/`), percent-encoded, or only the key part
    /// of a webhook's path; a short word of a path (`hook`) is not taken for a secret.
    #[test]
    fn a_secret_is_hidden_in_the_forms_a_peer_quotes_it() {
        register_secret("UnitJwt0i/J9.Zm9v+YmFy/c2Vj");
        register_url_secrets(
            "https://hooks.example/services/T0UNIT/B1UNIT/UNITSECRETXX",
            true,
        );
        register_url_secrets("http://127.0.0.1:9/hook", true);
        register_secret("ab/cd+ef==UNITTOKEN7");
        register_url_secrets("https://hooks.example/x/qwhzkrtpmxvbnjdlsyfgcoea", true);
        for echo in [
            "ab\\u002Fcd\\u002Bef\\u003D\\u003DUNITTOKEN7",
            "ab%2fcd%2bef%3d%3dUNITTOKEN7",
            "ab/cd%2Bef%3D%3DUNITTOKEN7",
            "invalid_token: qwhzkrtpmxvbnjdlsyfgcoea",
        ] {
            let said = printable(echo).into_owned();
            assert!(
                said.contains("***") && !said.contains("TOKEN7") && !said.contains("qwhz"),
                "{echo}: {said}"
            );
        }
        let said = printable(concat!(
            r#"{"message": "Bearer UnitJwt0i\/J9.Zm9v+YmFy\/c2Vj", "#,
            r#""url": "https:\/\/hooks.example\/services\/T0UNIT\/B1UNIT\/UNITSECRETXX"} "#,
            "q=UnitJwt0i%2FJ9.Zm9v%2BYmFy%2Fc2Vj invalid_token: UNITSECRETXX webhook /hook"
        ))
        .into_owned();
        assert_eq!(
            said,
            concat!(
                r#"{"message": "Bearer ***", "#,
                r#""url": "https:\/\/hooks.example\/***"} "#,
                "q=*** invalid_token: *** webhook /hook"
            )
        );
    }
}
