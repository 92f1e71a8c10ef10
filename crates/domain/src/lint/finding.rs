//! One lint finding: severity, place (file, line, field) and message.

use std::fmt;
use std::path::PathBuf;

/// How bad a finding is: errors make `data lint` exit 1, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The data is wrong: training or scoring on it would be wrong.
    Error,
    /// Suspicious: worth a look, does not fail the lint.
    Warning,
}

impl Severity {
    /// "error" or "warning".
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A problem found in a data file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file (position in the command line's order first, for stable sorting).
    pub file_index: usize,
    /// The file's path as given.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// The field path inside the line (e.g. `messages[2].content/intent`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: ",
            self.file.display(),
            self.line,
            self.severity.label()
        )?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Collects findings for one line of one file.
#[derive(Debug)]
pub struct LineSink<'a> {
    /// Where findings go.
    pub findings: &'a mut Vec<Finding>,
    /// The file's index among the linted files.
    pub file_index: usize,
    /// The file's path.
    pub file: &'a PathBuf,
    /// The line.
    pub line: usize,
}

impl LineSink<'_> {
    /// Record a finding on this line.
    pub fn push(&mut self, severity: Severity, field: Option<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            file_index: self.file_index,
            file: self.file.clone(),
            line: self.line,
            severity,
            field,
            message: message.into(),
        });
    }
}
