//! Small helpers every layer may use, importing nothing of the crate: the innermost
//! message of an error chain, a timeout's seconds in words, and the wall-clock timestamp
//! written to the journal and to nginx's reload-pending mark.

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

/// Seconds as "5.0 s", "0.7 s" or "0.25 s": at least one decimal, and as many more as the
/// value has (to the microsecond), so a sub-second timeout is never rounded to "0.0 s".
pub fn seconds_text(seconds: f64) -> String {
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

    #[test]
    fn seconds_keep_their_decimals() {
        let cases = [
            (5.0, "5.0 s"),
            (0.7, "0.7 s"),
            (0.25, "0.25 s"),
            (0.02, "0.02 s"),
            (1.125, "1.125 s"),
            (0.0, "0.0 s"),
        ];
        for (seconds, text) in cases {
            assert_eq!(seconds_text(seconds), text, "{seconds}");
        }
        let ms = |n| std::time::Duration::from_millis(n).as_secs_f64();
        assert_eq!(seconds_text(ms(250)), "0.25 s");
        assert_eq!(seconds_text(ms(700)), "0.7 s");
    }
}
