//! The plan: the ordered shares a cutover steps through.

use std::fmt;

/// Shares rising strictly from 1 to 100 and ending at 100, e.g. `[10, 50, 100]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan(Vec<u8>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("the plan is empty; expected shares such as [10, 50, 100]")]
    Empty,
    #[error("{0} is not a share; expected whole percents from 1 to 100")]
    OutOfRange(i64),
    #[error("{0} does not rise after {1}; expected shares rising strictly")]
    NotRising(u8, u8),
    #[error("the plan ends at {0}; expected it to end at 100")]
    NoFinish(u8),
}

impl Default for Plan {
    fn default() -> Self {
        Plan(vec![10, 50, 100])
    }
}

impl Plan {
    pub fn new(steps: &[i64]) -> Result<Plan, PlanError> {
        let mut out: Vec<u8> = Vec::with_capacity(steps.len());
        for &s in steps {
            if !(1..=100).contains(&s) {
                return Err(PlanError::OutOfRange(s));
            }
            let s = s as u8;
            if let Some(&prev) = out.last()
                && s <= prev
            {
                return Err(PlanError::NotRising(s, prev));
            }
            out.push(s);
        }
        match out.last() {
            None => Err(PlanError::Empty),
            Some(&last) if last != 100 => Err(PlanError::NoFinish(last)),
            Some(_) => Ok(Plan(out)),
        }
    }

    pub fn steps(&self) -> &[u8] {
        &self.0
    }

    /// The next share after `share`, if any.
    pub fn next_after(&self, share: u8) -> Option<u8> {
        self.0.iter().copied().find(|&s| s > share)
    }

    /// The share before `share`: the largest plan step below it, or 0.
    pub fn prev_before(&self, share: u8) -> u8 {
        self.0
            .iter()
            .copied()
            .rev()
            .find(|&s| s < share)
            .unwrap_or(0)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_validation_table() {
        type Case<'a> = (&'a [i64], Result<Vec<u8>, PlanError>);
        let cases: [Case; 6] = [
            (&[10, 50, 100], Ok(vec![10, 50, 100])),
            (&[100], Ok(vec![100])),
            (&[], Err(PlanError::Empty)),
            (&[10, 5, 100], Err(PlanError::NotRising(5, 10))),
            (&[10, 50], Err(PlanError::NoFinish(50))),
            (&[0, 100], Err(PlanError::OutOfRange(0))),
        ];
        for (input, want) in cases {
            assert_eq!(Plan::new(input).map(|p| p.0), want, "{input:?}");
        }
    }

    #[test]
    fn next_and_prev_table() {
        let plan = Plan::default();
        let cases = [
            (0, Some(10), 0),
            (10, Some(50), 0),
            (30, Some(50), 10),
            (50, Some(100), 10),
            (100, None, 50),
        ];
        for (share, next, prev) in cases {
            assert_eq!(plan.next_after(share), next, "next after {share}");
            assert_eq!(plan.prev_before(share), prev, "prev before {share}");
        }
    }
}
