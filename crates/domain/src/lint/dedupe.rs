//! Checks across conversations: identical conversations (a warning inside one
//! file, an error across files: the same conversation in two splits leaks) and
//! user turns shared between files (a warning: the held-out split is not fully
//! held out).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::finding::{Finding, Severity};
use okla_text::{Conversation, Message, Role};

/// One parsed file.
#[derive(Debug)]
pub struct ParsedFile {
    /// Path as given.
    pub path: PathBuf,
    /// Conversations that parsed, with their lines.
    pub conversations: Vec<Conversation>,
}

/// Report duplicates and cross-file leakage into `findings`; returns, per file,
/// how many distinct user turns occur more than once inside it.
pub fn check_duplicates(files: &[ParsedFile], findings: &mut Vec<Finding>) -> Vec<usize> {
    let mut first_conversation: HashMap<&[Message], (usize, usize)> = HashMap::new();
    let mut first_user_turn: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut repeated = Vec::with_capacity(files.len());
    for (fi, file) in files.iter().enumerate() {
        let mut push = |line: usize, severity: Severity, message: String| {
            findings.push(Finding {
                file_index: fi,
                file: file.path.clone(),
                line,
                severity,
                field: None,
                message,
            });
        };
        let mut seen_here: HashSet<&str> = HashSet::new();
        let mut repeated_here: HashSet<&str> = HashSet::new();
        for c in &file.conversations {
            match first_conversation.get(c.messages.as_slice()) {
                Some(&(f, line)) if f == fi => push(
                    c.line,
                    Severity::Warning,
                    format!("duplicate conversation: identical to line {line}"),
                ),
                Some(&(f, line)) => {
                    push(
                        c.line,
                        Severity::Error,
                        format!(
                            "leak between splits: identical conversation at {}:{line}",
                            files[f].path.display()
                        ),
                    );
                    continue;
                }
                None => {
                    first_conversation.insert(&c.messages, (fi, c.line));
                }
            }
            for m in c.messages.iter().filter(|m| m.role == Role::User) {
                let text = m.content.as_str();
                if !seen_here.insert(text) {
                    repeated_here.insert(text);
                    continue;
                }
                match first_user_turn.get(text) {
                    Some(&(f, line)) if f != fi => push(
                        c.line,
                        Severity::Warning,
                        format!(
                            "user turn {} also at {}:{line} (shared between splits)",
                            preview(text),
                            files[f].path.display()
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        first_user_turn.insert(text, (fi, c.line));
                    }
                }
            }
        }
        repeated.push(repeated_here.len());
    }
    repeated
}

/// A user turn quoted for a message, cut at 60 characters.
fn preview(text: &str) -> String {
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        format!("{:?}…", cut)
    } else {
        format!("{cut:?}")
    }
}
