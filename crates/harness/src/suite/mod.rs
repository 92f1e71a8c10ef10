//! Suites: a folder with `suite.toml`, JSONL conversation files, a response JSON Schema
//! and thresholds. [`Suite::load`] reads and validates all of it, reporting every
//! malformed line as `file:line: field ...` (exit code 2), never panicking.

mod case;
mod conversations;
mod manifest;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use case::{
    case_id, conversation_of, detect_mode, draw_id, expand, split_draw, Case, DRAW_SEPARATOR,
};
pub use conversations::check_conversations;
pub use manifest::{Manifest, ModeMarker, TurnSelection};
pub use okla_text::chat::{
    json_type_name, load_jsonl, parse_jsonl, parse_line, Conversation, Message, Role,
};
pub use okla_text::{Decoding, Grammar};

use crate::locate;
use crate::score::{Checks, Origin};
use okla_formats::error::{InputError, InputErrors};
use okla_formats::text_file::read_text;

/// A loaded suite: manifest, schema, cases and the hash that identifies its content.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite folder.
    pub dir: PathBuf,
    /// The parsed `suite.toml`.
    pub manifest: Manifest,
    /// The response JSON Schema.
    pub schema: Value,
    /// Every case, in file order.
    pub cases: Vec<Case>,
    /// sha256 over the manifest and every file it names, in hex.
    pub hash: String,
    /// The compiled domain checks of `[checks]`.
    pub checks: Arc<Checks>,
}

impl Suite {
    /// Load `dir/suite.toml` (or a path to the toml itself) and everything it references.
    pub fn load(path: &Path) -> Result<Suite> {
        let (dir, manifest_path) = if path.is_dir() {
            (path.to_path_buf(), path.join("suite.toml"))
        } else {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            (dir, path.to_path_buf())
        };
        let manifest_text = read_text(&manifest_path)?;
        let manifest = Manifest::parse(&manifest_text, &manifest_path)?;
        let mut hasher = Sha256::new();
        hash_part(&mut hasher, "suite.toml", manifest_text.as_bytes());

        let schema_path = dir.join(&manifest.schema);
        let schema_text = read_text(&schema_path)?;
        hash_part(&mut hasher, &manifest.schema, schema_text.as_bytes());
        let schema: Value = serde_json::from_str(&schema_text).map_err(|e| {
            InputError::at(&schema_path, e.line(), None, format!("not valid JSON: {e}"))
        })?;
        check_schema(&schema, &schema_text, &schema_path)?;

        let checks = Checks::load(
            &manifest.checks,
            &manifest.modes,
            Origin {
                dir: &dir,
                manifest: &manifest_path,
            },
        )?;
        hash_check_files(&mut hasher, &dir, &manifest)?;

        let mut cases = Vec::new();
        let mut errors = Vec::new();
        for file in &manifest.cases {
            let file_path = dir.join(file);
            match load_case_file(&file_path) {
                Ok((bytes, conversations)) => {
                    hash_part(&mut hasher, file, &bytes);
                    let source = file_stem(&file_path);
                    cases.extend(expand(
                        &source,
                        &conversations,
                        &manifest.modes,
                        manifest.turns,
                    ));
                }
                Err(e) => errors.extend(e.0),
            }
        }
        if let Some(eval) = &manifest.eval_split {
            let eval_path = dir.join(eval);
            match load_case_file(&eval_path) {
                Ok((bytes, _)) => hash_part(&mut hasher, eval, &bytes),
                Err(e) => errors.extend(e.0),
            }
        }
        if !errors.is_empty() {
            return Err(InputErrors(errors).into());
        }
        if cases.is_empty() {
            return Err(InputError::file(
                &manifest_path,
                "the case files hold no assistant turns to score",
            )
            .with_field("cases")
            .into());
        }
        Ok(Suite {
            dir,
            manifest,
            schema,
            cases,
            hash: okla_formats::hash::hex(&hasher.finalize()),
            checks: Arc::new(checks),
        })
    }

    /// The same suite (thresholds, schema, hash) with its cases drawn from the eval
    /// split instead of the case files: what export gates a fresh model on, so the
    /// test split stays unseen until the final gate.
    pub fn on_eval_split(mut self) -> Result<Suite> {
        let Some(file) = self.manifest.eval_split.clone() else {
            return Err(InputError::file(
                self.dir.join("suite.toml"),
                "export gates on the eval split, and this suite names none",
            )
            .with_field("eval_split")
            .into());
        };
        let conversations = load_jsonl(&self.dir.join(&file))?;
        let source = file_stem(&self.dir.join(&file));
        self.cases = expand(
            &source,
            &conversations,
            &self.manifest.modes,
            self.manifest.turns,
        );
        Ok(self)
    }

    /// The eval split's conversations (for teacher-forced loss), if the suite names one.
    pub fn eval_conversations(&self) -> Result<Option<Vec<Conversation>>> {
        match &self.manifest.eval_split {
            None => Ok(None),
            Some(file) => Ok(Some(load_jsonl(&self.dir.join(file))?)),
        }
    }
}

/// A case file (or the eval split): its bytes (for the hash) and its conversations,
/// each with an assistant turn whose reference answers are JSON objects.
fn load_case_file(path: &Path) -> Result<(Vec<u8>, Vec<Conversation>), InputErrors> {
    let text = read_text(path).map_err(|e| InputErrors(vec![e]))?;
    let conversations = parse_jsonl(&text, path)?;
    let problems = check_conversations(&conversations, path);
    if !problems.is_empty() {
        return Err(InputErrors(problems));
    }
    Ok((text.into_bytes(), conversations))
}

/// `schema` (the text `text` of `path`) must be a valid JSON Schema; the error names the
/// failing keyword's path in the schema and its line.
fn check_schema(schema: &Value, text: &str, path: &Path) -> Result<(), InputError> {
    let Err(e) = jsonschema::validator_for(schema) else {
        return Ok(());
    };
    let pointer = e.instance_path().as_str().to_string();
    Err(InputError {
        file: Some(path.to_path_buf()),
        line: locate::json_pointer_line(text, &pointer),
        field: (!pointer.is_empty()).then(|| pointer.trim_start_matches('/').replace('/', ".")),
        message: format!("not a valid JSON Schema: {e}"),
    })
}

/// The checks' data files are part of what a suite is: a changed lexicon changes the hash.
fn hash_check_files(
    hasher: &mut Sha256,
    dir: &Path,
    manifest: &Manifest,
) -> Result<(), InputError> {
    for file in manifest.checks.data_files() {
        let bytes = std::fs::read(dir.join(file))
            .map_err(|e| InputError::file(dir.join(file), format!("cannot read: {e}")))?;
        hash_part(hasher, file, &bytes);
    }
    Ok(())
}

fn hash_part(hasher: &mut Sha256, name: &str, bytes: &[u8]) {
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// The file name without folder and extension (`suites/okla/okla_test.jsonl` → `okla_test`).
pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
