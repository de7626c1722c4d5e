//! What a signal's value can be: a reading outside its range (a negative rate, an error
//! rate over 100 %, a p99 over an hour, anything non-finite) is not a measurement. It
//! becomes [`Reading::Invalid`] with its reason before it is stored, so it is never shown,
//! kept in history or judged as a number. Also which signals a source provides
//! ([`Provided`]), so a rule on a signal nobody provides says so.

use super::signal::Reading;

/// The longest p99 taken as a measurement, in ms: one hour.
pub const MAX_P99_MS: f64 = 3_600_000.0;

/// The range of values a signal can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// An error rate: a fraction from 0 to 1.
    Fraction,
    /// A latency in ms: 0 to [`MAX_P99_MS`].
    LatencyMs,
    /// A rate or a count: 0 or more.
    NonNegative,
    /// An extra metric: any finite value.
    Finite,
}

impl Range {
    /// `r` when it is a value in range (or not a value at all), else why it is invalid.
    pub fn check(self, r: Reading) -> Reading {
        let Reading::Value(v) = r else {
            return r;
        };
        match self.why_invalid(v) {
            Some(why) => Reading::Invalid(why),
            None => Reading::Value(v),
        }
    }

    /// Why `v` cannot be a value of this signal; `None` when it can.
    pub fn why_invalid(self, v: f64) -> Option<String> {
        if !v.is_finite() {
            return Some(non_finite(v).to_string());
        }
        let shown = |v: f64| match self {
            Range::Fraction if (v * 100.0).is_finite() => format!("{} %", num(v * 100.0)),
            Range::LatencyMs => ms(v),
            _ => num(v),
        };
        match self {
            Range::Finite => None,
            _ if v < 0.0 => Some(format!("negative ({})", shown(v))),
            Range::Fraction if v > 1.0 => Some(format!("> 100 % ({})", shown(v))),
            Range::LatencyMs if v > MAX_P99_MS => Some(format!("> 1 h ({})", shown(v))),
            _ => None,
        }
    }
}

/// A non-finite value in Prometheus's words: `NaN`, `+Inf`, `-Inf`.
pub fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// A number in a dozen characters at most, whatever its size: `-5`, `0.012`, `1e308`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v).to_string();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Milliseconds as `250 ms` or `2.5 s`, compact when huge.
fn ms(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{} s", num(v / 1000.0))
    } else {
        format!("{} ms", num(v))
    }
}

/// Which signals a source provides. A rule on a signal that no configured source provides
/// says so, instead of waiting for data that cannot come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Provided {
    pub health: bool,
    pub error_rate: bool,
    pub p99: bool,
    pub rps: bool,
    /// Request and error counts over the window.
    pub counts: bool,
}

impl Provided {
    pub const ALL: Provided = Provided {
        health: true,
        error_rate: true,
        p99: true,
        rps: true,
        counts: true,
    };
    pub const NONE: Provided = Provided {
        health: false,
        error_rate: false,
        p99: false,
        rps: false,
        counts: false,
    };
    pub const HEALTH: Provided = Provided {
        health: true,
        ..Provided::NONE
    };

    /// What either provides.
    pub fn or(self, o: Provided) -> Provided {
        Provided {
            health: self.health || o.health,
            error_rate: self.error_rate || o.error_rate,
            p99: self.p99 || o.p99,
            rps: self.rps || o.rps,
            counts: self.counts || o.counts,
        }
    }

    /// What any of `all` provides.
    pub fn any(all: impl IntoIterator<Item = Provided>) -> Provided {
        all.into_iter().fold(Provided::NONE, Provided::or)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_table() {
        let cases: [(Range, f64, Option<&str>); 17] = [
            (Range::Fraction, 0.0, None),
            (Range::Fraction, 0.004, None),
            (Range::Fraction, 1.0, None),
            (Range::Fraction, 1.5, Some("> 100 % (150 %)")),
            (Range::Fraction, -5.0, Some("negative (-500 %)")),
            (Range::Fraction, 1e308, Some("> 100 % (1e308)")),
            (Range::Fraction, f64::NAN, Some("NaN")),
            (Range::LatencyMs, 250.0, None),
            (Range::LatencyMs, MAX_P99_MS, None),
            (
                Range::LatencyMs,
                MAX_P99_MS + 1.0,
                Some("> 1 h (3600.001 s)"),
            ),
            (Range::LatencyMs, -1.0, Some("negative (-1 ms)")),
            (Range::LatencyMs, f64::INFINITY, Some("+Inf")),
            (Range::NonNegative, 1e308, None),
            (Range::NonNegative, -0.5, Some("negative (-0.5)")),
            (Range::NonNegative, f64::NEG_INFINITY, Some("-Inf")),
            (Range::Finite, -42.0, None),
            (Range::Finite, f64::NAN, Some("NaN")),
        ];
        for (range, v, want) in cases {
            assert_eq!(range.why_invalid(v).as_deref(), want, "{range:?} {v}");
            let r = range.check(Reading::Value(v));
            assert_eq!(r.value().is_some(), want.is_none(), "{range:?} {v}: {r:?}");
        }
        let nodata = Reading::NoData("empty".into());
        assert_eq!(Range::Fraction.check(nodata.clone()), nodata);
    }

    #[test]
    fn numbers_stay_short_whatever_their_size() {
        let cases = [
            (0.0, "0"),
            (-5.0, "-5"),
            (0.0123, "0.012"),
            (999_999.0, "999999"),
            (1e6, "1e6"),
            (1e308, "1e308"),
            (-2.5e-7, "-2.5e-7"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(num(v), want, "{v}");
        }
    }

    #[test]
    fn provided_is_what_any_source_provides() {
        assert_eq!(Provided::any([]), Provided::NONE);
        let p = Provided::any([
            Provided::HEALTH,
            Provided {
                p99: true,
                ..Provided::NONE
            },
        ]);
        assert!(p.health && p.p99 && !p.error_rate && !p.counts);
    }
}
