//! Error types shared across the crate.
//!
//! [`InputError`] marks a problem with something the user gave us (a file, a
//! line, a field, a flag). The binary maps any error whose chain contains an
//! `InputError` to exit code 2; see [`crate::cli`].

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with user input, located as precisely as we can: file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// The file the problem is in, if it came from a file.
    pub file: Option<PathBuf>,
    /// 1-based line number inside `file`, when known.
    pub line: Option<usize>,
    /// The field path (e.g. `messages[2].role`), when known.
    pub field: Option<String>,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl InputError {
    /// An error about a whole file (unreadable, unparsable, missing).
    pub fn file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.as_ref().to_path_buf()),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// An error about one line of a file, optionally naming a field.
    pub fn at(
        file: impl AsRef<Path>,
        line: usize,
        field: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: Some(file.as_ref().to_path_buf()),
            line: Some(line),
            field,
            message: message.into(),
        }
    }

    /// An error about a command-line value or other input that is not a file.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// An error about one field of an input whose file the caller knows and adds
    /// (see [`Self::in_file`]).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::usage(message).with_field(field)
    }

    /// The same error, with the field path set (or replaced).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same error, located in `file` (set or replaced).
    pub fn in_file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Several input errors found in one pass (we report every malformed line, not just the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        for (i, e) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, "\n… and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// True when `err` (or anything in its cause chain) is a user-input problem (exit code 2).
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.is::<InputError>() || e.is::<InputErrors>())
}
