//! What [`check_contract`](super::check_contract) tells: the requests it sent, and the rules
//! broken.

use std::fmt;

/// One request [`check_contract`](super::check_contract) sent, and the status it got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checked {
    /// The method sent.
    pub method: String,
    /// The path sent (a resource's pattern with sample values, or `*`).
    pub path: String,
    /// What the request was, for the policy: `allowed`, `planned`, `refused`, `unlisted`,
    /// `head`, `options`, `unrecognized`.
    pub kind: &'static str,
    /// The status it got.
    pub status: u16,
}

/// What [`check_contract`](super::check_contract) checked, when everything kept the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub(super) checked: Vec<Checked>,
}

impl Report {
    /// Every request sent, in order.
    #[must_use]
    pub fn checked(&self) -> &[Checked] {
        &self.checked
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checked {
            writeln!(f, "{} {} ({}): {}", c.method, c.path, c.kind, c.status)?;
        }
        Ok(())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The method sent.
    pub method: String,
    /// The path sent.
    pub path: String,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.problem)
    }
}

/// Every broken rule [`check_contract`](super::check_contract) found, and the report of what it checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    pub(super) violations: Vec<Violation>,
    pub(super) report: Report,
}

impl Violations {
    /// Each broken rule, in the order found.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Everything that was sent, the good answers included.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} violation(s) of the error contract:",
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
