//! Small helpers every layer may use, importing nothing of the crate: the innermost
//! message of an error chain, and the wall-clock timestamp written to the journal and to
//! nginx's reload-pending mark.

/// The innermost message of an error chain: "Connection refused" rather than
/// "error sending request".
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

/// Now, as RFC 3339 UTC with milliseconds.
pub fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
