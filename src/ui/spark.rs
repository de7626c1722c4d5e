//! Sparklines on one scale per signal: blue's and green's history of a signal are drawn
//! against the largest value either shows, so 0.05 % never looks as bad as 4 %.

use crate::core::Series;

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values of `series`, oldest first (gaps as `None`).
fn visible(series: &Series, width: usize) -> impl Iterator<Item = &Option<f64>> {
    let skip = series.history.len().saturating_sub(width);
    series.history.iter().skip(skip)
}

/// The largest value among the last `width` of each series: the scale they share.
pub fn shared_max<'a>(all: impl IntoIterator<Item = (&'a Series, usize)>) -> f64 {
    all.into_iter()
        .flat_map(|(s, w)| visible(s, w).flatten().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
}

/// The last `width` values as block characters scaled to `max`; gaps are blank.
pub fn sparkline(series: &Series, width: usize, max: f64) -> String {
    if width == 0 {
        return String::new();
    }
    let mut out: String = visible(series, width)
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => SPARK[0],
            Some(v) => {
                SPARK[((v / max) * (SPARK.len() - 1) as f64)
                    .round()
                    .clamp(0.0, 7.0) as usize]
            }
        })
        .collect();
    let n = out.chars().count();
    if n < width {
        out.push_str(&" ".repeat(width - n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Reading;

    fn series(vals: &[Option<f64>]) -> Series {
        let mut s = Series::default();
        for (i, v) in vals.iter().enumerate() {
            let r = v.map_or_else(|| Reading::NoData("gap".into()), Reading::Value);
            s.push(r, i as u64);
        }
        s
    }

    #[test]
    fn both_envs_share_one_scale() {
        let blue = series(&[Some(0.0005); 4]);
        let green = series(&[Some(0.04); 4]);
        let max = shared_max([(&blue, 4), (&green, 4)]);
        assert_eq!(max, 0.04);
        assert_eq!(
            sparkline(&blue, 4, max),
            "▁▁▁▁",
            "0.05 % is low next to 4 %"
        );
        assert_eq!(sparkline(&green, 4, max), "████");
        // On its own scale, blue would have looked as bad as green.
        assert_eq!(sparkline(&blue, 4, shared_max([(&blue, 4)])), "████");
    }

    #[test]
    fn only_the_visible_history_sets_the_scale_and_gaps_stay_blank() {
        let s = series(&[Some(100.0), Some(1.0), None, Some(2.0)]);
        let max = shared_max([(&s, 3)]);
        assert_eq!(max, 2.0, "the 100 scrolled out of view");
        assert_eq!(sparkline(&s, 3, max), "▅ █");
        assert_eq!(
            sparkline(&s, 6, max),
            "█▅ █  ",
            "clamped to the scale given"
        );
        assert_eq!(sparkline(&s, 0, max), "");
    }
}
