//! `cutover init --discover`: what each backend can find with the user's own credentials and
//! read-only calls — pairs of targets a cutover can move traffic between — as the config
//! keys that name them.

/// One pair found: a line for the list, and the `[backend]` keys that name it.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// One line: what it is and what traffic each side has now.
    pub what: String,
    /// A name for the cutover (`name = …`): the route, upstream or backend.
    pub name: String,
    /// `[backend]` keys in the order they are written, each a TOML value already.
    pub keys: Vec<(&'static str, String)>,
}

/// A TOML string.
pub fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Which of two names is blue: the one that says `blue` (or not `green`), else the first.
/// Returns the pair as (blue, green).
pub fn blue_green<T: Clone>(a: (&str, T), b: (&str, T)) -> ((String, T), (String, T)) {
    let says = |n: &str, w: &str| n.to_ascii_lowercase().contains(w);
    let swap =
        (says(a.0, "green") && !says(a.0, "blue")) || (says(b.0, "blue") && !says(b.0, "green"));
    let (x, y) = if swap { (b, a) } else { (a, b) };
    ((x.0.to_string(), x.1), (y.0.to_string(), y.1))
}

/// `a %` of a pair of weights, for the list (`?` when both are 0).
pub fn shares(a: u64, b: u64) -> (String, String) {
    if a + b == 0 {
        return ("?".into(), "?".into());
    }
    let pa = (a * 200 + a + b) / (2 * (a + b));
    (format!("{pa} %"), format!("{} %", 100 - pa))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blue_is_the_one_named_blue_else_the_first() {
        assert_eq!(
            blue_green(("app-green", 1), ("app-blue", 2)).0,
            ("app-blue".into(), 2)
        );
        assert_eq!(blue_green(("a", 1), ("b", 2)).0, ("a".into(), 1));
        assert_eq!(blue_green(("green", 1), ("b", 2)).0, ("b".into(), 2));
        assert_eq!(shares(1, 3), ("25 %".into(), "75 %".into()));
        assert_eq!(shares(0, 0).0, "?");
    }

    #[test]
    fn a_found_name_is_one_toml_string_whatever_it_holds() {
        for name in [
            "a\"b",
            "x\"\n[backend]\nkind = \"haproxy",
            "'''",
            "\\",
            "é ✓",
        ] {
            let doc = format!("k = {}\n", quoted(name));
            let v: toml::Table = toml::from_str(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(v.len(), 1, "{doc}");
            assert_eq!(v["k"].as_str(), Some(name), "{doc}");
        }
    }
}
