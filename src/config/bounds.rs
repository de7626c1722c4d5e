//! Bounds on every number and duration of the config, each with the reason, and how a
//! value is echoed back in an error: short, and with its control characters escaped, so a
//! 1 MB `name` or an escape sequence never reaches the terminal whole.

use std::time::Duration;

/// The longest a value is echoed back in an error, in characters.
const ECHO_MAX: usize = 60;

/// `v` as an error quotes it: Rust-quoted (control characters escaped), cut to a few dozen
/// characters with `…` and its real length.
pub fn echo(v: &str) -> String {
    let short = crate::shared::short_digits(v);
    let v = short.as_str();
    let n = v.chars().count();
    if n <= ECHO_MAX {
        return format!("{v:?}");
    }
    let head: String = v.chars().take(ECHO_MAX).collect();
    format!("{head:?}… ({n} characters)")
}

/// `msg` with every quoted value in it (Rust-quoted, as errors quote values) longer than
/// [`ECHO_MAX`] cut to its head, `…` and its length: a net under every error of the
/// config, so no converter can echo a megabyte.
pub fn shorten_quotes(msg: &str) -> String {
    let chars: Vec<char> = msg.chars().collect();
    let mut out = String::with_capacity(msg.len().min(4096));
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '"' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Find the closing quote, past escapes.
        let mut j = i + 1;
        while j < chars.len() && chars[j] != '"' {
            j += if chars[j] == '\\' { 2 } else { 1 };
        }
        if j >= chars.len() {
            // No closing quote (a quoted line cut short): not a quote, and what follows
            // it (the error's "what") is kept.
            out.extend(&chars[i..]);
            break;
        }
        let inner = &chars[i + 1..j.min(chars.len())];
        if inner.len() > ECHO_MAX {
            let head: String = inner.iter().take(ECHO_MAX).collect();
            out.push_str(&format!("\"{head}\"… ({} characters)", inner.len()));
        } else {
            out.push('"');
            out.extend(inner);
            if j < chars.len() {
                out.push('"');
            }
        }
        i = j + 1;
    }
    out
}

/// `v` made only of ASCII letters, digits and `allowed`, 1 to `max` characters: a name
/// that goes into a peer's command or file (HAProxy's runtime API reads a newline or a
/// `;` as the next command) is refused with what it may hold.
pub fn ident(key: &str, v: &str, allowed: &str, max: usize, what: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.len() <= max
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c));
    if ok {
        return Ok(());
    }
    let shown: String = allowed.chars().flat_map(|c| [' ', c]).collect();
    Err(format!(
        "key `{key}`: value {}: expected {what}: 1 to {max} of letters, digits and{shown}",
        echo(v)
    ))
}

/// The longest path a config may name (Linux's PATH_MAX).
const PATH_MAX: usize = 4096;

/// A file path: not empty, at most `PATH_MAX` bytes, no control characters.
pub fn path(key: &str, p: &std::path::Path) -> Result<(), String> {
    let s = p.to_string_lossy();
    if s.trim().is_empty() || s.len() > PATH_MAX || s.chars().any(char::is_control) {
        return Err(format!(
            "key `{key}`: value {}: expected a file path (at most {PATH_MAX} bytes, no control characters)",
            echo(&s)
        ));
    }
    Ok(())
}

/// A duration as the config writes it: `"1s"`, `"15m"`, `"500000000years"`.
pub fn dur(d: Duration) -> String {
    // humantime's year: 365.25 days. Past a year the months, days and seconds of a huge
    // value are noise; its whole years are what was meant.
    const YEAR: u64 = 31_557_600;
    if d.as_secs() >= YEAR {
        return format!("\"{}years\"", d.as_secs() / YEAR);
    }
    format!("{:?}", humantime::format_duration(d).to_string())
}

/// `v` (or `default` when absent) within `min..=max`, else an error naming the key, the
/// value, the range and `why` it is bounded.
pub fn duration(
    key: &str,
    v: Option<Duration>,
    default: Duration,
    (min, max): (Duration, Duration),
    why: &str,
) -> Result<Duration, String> {
    let d = v.unwrap_or(default);
    if d < min || d > max {
        return Err(format!(
            "key `{key}`: value {}: expected a duration from {} to {} ({why})",
            dur(d),
            dur(min),
            dur(max)
        ));
    }
    Ok(d)
}

/// `backend.timeout` of any backend: 100ms to 10m, `why` said for its kind.
pub fn backend_timeout(
    v: Option<Duration>,
    default: Duration,
    why: &str,
) -> Result<Duration, String> {
    duration(
        "backend.timeout",
        v,
        default,
        (Duration::from_millis(100), Duration::from_secs(600)),
        why,
    )
}

/// Like [`duration`] for a key with no default: `None` stays `None`.
pub fn opt_duration(
    key: &str,
    v: Option<Duration>,
    range: (Duration, Duration),
    why: &str,
) -> Result<Option<Duration>, String> {
    v.map(|d| duration(key, Some(d), d, range, why)).transpose()
}

/// A whole number within `min..=max`, else an error naming the key, value, range and why.
pub fn whole<T>(key: &str, v: T, (min, max): (T, T), why: &str) -> Result<T, String>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if v < min || v > max {
        return Err(format!(
            "key `{key}`: value {v}: expected {min} to {max} ({why})"
        ));
    }
    Ok(v)
}

/// A text that must say something: not empty, not only spaces, no control characters, at
/// most `max` characters.
pub fn text(key: &str, v: &str, max: usize, what: &str) -> Result<(), String> {
    if v.trim().is_empty()
        || v.chars()
            .any(|c| c.is_control() || crate::shared::is_bidi_control(c))
        || v.chars().count() > max
    {
        return Err(format!(
            "key `{key}`: value {}: expected {what} (1 to {max} characters, no control or bidirectional characters)",
            echo(v)
        ));
    }
    Ok(())
}

pub const MS: Duration = Duration::from_millis(1);
pub const SECOND: Duration = Duration::from_secs(1);
pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const DAY: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_is_short_and_escaped() {
        assert_eq!(echo("blue"), "\"blue\"");
        assert_eq!(
            echo("\u{1b}[2J\u{1b}]0;pwned\u{7}"),
            "\"\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\""
        );
        let long = "x".repeat(1_000_000);
        let e = echo(&long);
        assert!(
            e.len() < 100 && e.ends_with("… (1000000 characters)"),
            "{e}"
        );
    }

    #[test]
    fn long_quoted_values_are_cut_in_any_message() {
        let long = format!("key `x`: value \"{}\": expected a URL", "x".repeat(5000));
        let short = shorten_quotes(&long);
        assert!(short.len() < 150, "{short}");
        assert!(
            short.ends_with("\"… (5000 characters): expected a URL"),
            "{short}"
        );
        let kept = "key `live`: value \"purple\": expected \"blue\" or \"green\"";
        assert_eq!(shorten_quotes(kept), kept);
        assert_eq!(shorten_quotes("a \"b\\\"c\" d"), "a \"b\\\"c\" d");
        assert_eq!(
            shorten_quotes("line 1 (name = \"yyyy…): expected newline"),
            "line 1 (name = \"yyyy…): expected newline"
        );
    }

    #[test]
    fn bounds_name_key_value_range_and_why() {
        let big = humantime::parse_duration("500000000years").unwrap();
        assert_eq!(
            duration(
                "poll-timeout",
                Some(big),
                SECOND,
                (100 * MS, 10 * MINUTE),
                "a poll slower than this fails"
            )
            .unwrap_err(),
            "key `poll-timeout`: value \"500000000years\": expected a duration from \"100ms\" to \"10m\" (a poll slower than this fails)"
        );
        assert_eq!(duration("k", None, SECOND, (MS, HOUR), "w"), Ok(SECOND));
        assert_eq!(dur(Duration::from_secs(u64::MAX)), "\"584542046090years\"");
        assert_eq!(dur(90 * MINUTE), "\"1h 30m\"");
        assert_eq!(
            whole("expect-status", 999u16, (100, 599), "an HTTP status").unwrap_err(),
            "key `expect-status`: value 999: expected 100 to 599 (an HTTP status)"
        );
        assert!(text("name", "", 100, "a name").is_err());
        assert!(text("name", "a\u{1b}b", 100, "a name").is_err());
        assert!(text("name", "checkout-api", 100, "a name").is_ok());
    }
}
