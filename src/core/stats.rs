//! Statistics: is the candidate's error rate really different from live's?

/// At least this many requests on each side before a difference is judged.
pub const MIN_REQUESTS: f64 = 30.0;
/// The normal approximation needs this many expected errors on each side (at the pooled
/// rate); below it, rare errors in a small sample would look significant when they are not.
pub const MIN_EXPECTED_ERRORS: f64 = 5.0;
/// Two-sided significance level.
pub const ALPHA: f64 = 0.05;

/// The outcome of a two-proportion test, candidate vs live.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    /// Candidate minus live, in percentage points.
    pub diff_pp: f64,
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    pub significant: bool,
}

/// Two-proportion z-test on error counts over the same window. `None` when either side has
/// too few requests (or too few expected errors) to judge.
pub fn two_proportion(errors_c: f64, n_c: f64, errors_l: f64, n_l: f64) -> Option<Difference> {
    let valid =
        |e: f64, n: f64| e.is_finite() && n.is_finite() && e >= 0.0 && n >= MIN_REQUESTS && e <= n;
    if !valid(errors_c, n_c) || !valid(errors_l, n_l) {
        return None;
    }
    let (pc, pl) = (errors_c / n_c, errors_l / n_l);
    let pooled = (errors_c + errors_l) / (n_c + n_l);
    if n_c.min(n_l) * pooled < MIN_EXPECTED_ERRORS && pooled > 0.0 {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_l)).sqrt();
    let diff = pc - pl;
    let (z, p_value) = if se == 0.0 {
        // No errors anywhere (or everything failing on both sides): no difference to see.
        (0.0, 1.0)
    } else {
        let z = diff / se;
        (z, 2.0 * (1.0 - normal_cdf(z.abs())))
    };
    Some(Difference {
        diff_pp: diff * 100.0,
        z,
        p_value,
        significant: p_value < ALPHA,
    })
}

/// The Wilson score interval (95 %) of an error rate, `(low, high)`: how low and how high
/// the true rate may plausibly be given `errors` in `n` requests.
fn wilson(errors: f64, n: f64) -> Option<(f64, f64)> {
    if !(n > 0.0 && errors >= 0.0 && errors <= n && n.is_finite()) {
        return None;
    }
    let z = 1.959_964;
    let p = errors / n;
    let z2n = z * z / n;
    let centre = p + z2n / 2.0;
    let margin = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt();
    Some((
        ((centre - margin) / (1.0 + z2n)).max(0.0),
        ((centre + margin) / (1.0 + z2n)).min(1.0),
    ))
}

/// The interval's lower bound: a breach needs it over the limit.
pub fn wilson_lower(errors: f64, n: f64) -> Option<f64> {
    wilson(errors, n).map(|(low, _)| low)
}

/// The interval's upper bound: an OK on a short look needs it under the limit.
pub fn wilson_upper(errors: f64, n: f64) -> Option<f64> {
    wilson(errors, n).map(|(_, high)| high)
}

/// How many requests at `rate` (under `limit`) make its 95 % interval's high end clear
/// `limit`: the evidence an OK needs.
pub fn requests_to_clear(rate: f64, limit: f64) -> u64 {
    let mut n = 1.0f64;
    while n < 1e9 {
        if wilson_upper(rate * n, n).is_some_and(|high| high <= limit) {
            return n as u64;
        }
        n = (n * 1.25).ceil();
    }
    n as u64
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; error < 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_table() {
        for (x, want) in [
            (0.0, 0.5),
            (1.959_964, 0.975),
            (-1.0, 0.158_655),
            (3.0, 0.998_650),
        ] {
            assert!(
                (normal_cdf(x) - want).abs() < 1e-6,
                "{x}: {}",
                normal_cdf(x)
            );
        }
    }

    #[test]
    fn an_ok_needs_enough_requests_to_show_it() {
        // 0 errors in 20 requests cannot show a rate under 1 %; in 400 it can.
        assert!(wilson_upper(0.0, 20.0).unwrap() > 0.01);
        assert!(wilson_upper(0.0, 400.0).unwrap() <= 0.01);
        let n = requests_to_clear(0.0, 0.01);
        assert!((300..500).contains(&n), "{n}");
        assert!(wilson_upper(0.0, n as f64).unwrap() <= 0.01);
        assert!(
            requests_to_clear(0.005, 0.01) > n,
            "closer to the limit needs more"
        );
    }

    #[test]
    fn wilson_lower_table() {
        // (errors, requests) -> the lower bound is above 1 %?
        let cases = [
            ((2.0, 197.0), false),
            ((50.0, 1000.0), true),
            ((1.0, 40.0), false),
            ((0.0, 1000.0), false),
            ((30.0, 1000.0), true),
        ];
        for ((e, n), above) in cases {
            let lb = wilson_lower(e, n).unwrap();
            assert_eq!(lb > 0.01, above, "{e}/{n}: {lb}");
            assert!(lb <= e / n + 1e-12);
        }
        assert_eq!(wilson_lower(1.0, 0.0), None);
    }

    #[test]
    fn significance_table() {
        // (candidate errors, requests, live errors, requests) -> significant?
        let cases = [
            ((1.0, 40.0, 2.0, 360.0), None), // a 10 % step with 40 requests: no wolf
            ((50.0, 1000.0, 10.0, 9000.0), Some(true)), // 5 % vs 0.1 %: a real regression
            ((30.0, 10000.0, 200.0, 90000.0), Some(false)), // 0.3 % vs 0.22 %: noise
            ((3.0, 1000.0, 20.0, 9000.0), None), // too few expected errors to tell
            ((0.0, 500.0, 0.0, 500.0), Some(false)), // no errors anywhere
            ((1.0, 10.0, 2.0, 360.0), None), // too few to judge
            ((f64::NAN, 100.0, 2.0, 360.0), None),
        ];
        for ((ec, nc, el, nl), want) in cases {
            let got = two_proportion(ec, nc, el, nl).map(|d| d.significant);
            assert_eq!(got, want, "{ec}/{nc} vs {el}/{nl}");
        }
        let d = two_proportion(50.0, 1000.0, 10.0, 9000.0).unwrap();
        assert!((d.diff_pp - (5.0 - 0.111)).abs() < 0.01);
        assert!(d.p_value < 1e-6);
    }
}
