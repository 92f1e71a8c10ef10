//! The vehicle lexicon of a suite (a TOML data file): makes with their aliases and
//! models. It finds the vehicles a text names — `2024 Kia K5`, `la CR-V`, `un Toyota
//! Supra`, `Toyota` alone — whether or not the context lists them, so an invented
//! vehicle is found as surely as a listed one.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;

use super::text::{as_year, fold_phrase, tokens, Token};
use okla_formats::error::InputError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    #[serde(default)]
    needs_make: Vec<String>,
    make: Vec<MakeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MakeFile {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    models: Vec<String>,
}

#[derive(Debug, Clone)]
struct Make {
    name: String,
    /// The name and aliases, each as folded tokens.
    forms: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Model {
    make: usize,
    name: String,
    tokens: Vec<String>,
    /// Recognised without its make (`la CR-V`); short or common-word models need it.
    alone: bool,
}

/// Makes and models to look for.
#[derive(Debug, Clone)]
pub struct Lexicon {
    makes: Vec<Make>,
    models: Vec<Model>,
    /// First folded word → (make, form) pairs starting with it.
    makes_by_first: HashMap<String, Vec<(usize, usize)>>,
    /// First folded word → models starting with it.
    models_by_first: HashMap<String, Vec<usize>>,
}

/// One vehicle named in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Index of the make, when named or implied by the model.
    pub make: Option<usize>,
    /// Index of the model, when named.
    pub model: Option<usize>,
    /// The model year written next to it.
    pub year: Option<u16>,
    /// Where the name stands in the text.
    pub span: Range<usize>,
}

impl Lexicon {
    /// Load a lexicon file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Lexicon, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read the vehicle lexicon: {e}")))?;
        Lexicon::parse(&text, path)
    }

    /// Parse lexicon TOML text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Lexicon, InputError> {
        let file: LexiconFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
            InputError {
                file: Some(path.to_path_buf()),
                line,
                field: None,
                message: e.message().to_string(),
            }
        })?;
        let needs_make: Vec<String> = file.needs_make.iter().map(|m| fold_phrase(m)).collect();
        let mut makes = Vec::new();
        let mut models = Vec::new();
        for (index, make) in file.make.into_iter().enumerate() {
            let forms: Vec<Vec<String>> = std::iter::once(&make.name)
                .chain(&make.aliases)
                .map(|f| split_folded(f))
                .collect();
            if forms.iter().any(Vec::is_empty) {
                return Err(
                    InputError::file(path, "a make name or alias has no letters")
                        .with_field(format!("make[{index}]")),
                );
            }
            for model in make.models {
                let folded = split_folded(&model);
                if folded.is_empty() {
                    return Err(
                        InputError::file(path, format!("model {model:?} has no letters"))
                            .with_field(format!("make[{index}].models")),
                    );
                }
                let joined = folded.join(" ");
                models.push(Model {
                    make: index,
                    alone: !needs_make.contains(&joined) && distinctive(&joined),
                    tokens: folded,
                    name: model,
                });
            }
            makes.push(Make {
                name: make.name,
                forms,
            });
        }
        let mut makes_by_first: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (m, make) in makes.iter().enumerate() {
            for (f, form) in make.forms.iter().enumerate() {
                makes_by_first
                    .entry(form[0].clone())
                    .or_default()
                    .push((m, f));
            }
        }
        let mut models_by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, model) in models.iter().enumerate() {
            models_by_first
                .entry(model.tokens[0].clone())
                .or_default()
                .push(index);
        }
        Ok(Lexicon {
            makes,
            models,
            makes_by_first,
            models_by_first,
        })
    }

    /// The vehicles `text` names, in order.
    pub fn mentions(&self, text: &str) -> Vec<Mention> {
        let toks = tokens(text);
        let mut out: Vec<Mention> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            match self.mention_at(&toks, i) {
                Some((_, end, m)) if m.make.is_some() && self.is_trim(text, &toks, i, &out, &m) => {
                    i = end;
                }
                Some(mut m) => {
                    let (start, end) = (m.0, m.1);
                    m.2.year =
                        m.2.year
                            .or_else(|| start.checked_sub(1).and_then(|p| as_year(&toks[p].folded)))
                            .or_else(|| toks.get(end).and_then(|t| as_year(&t.folded)));
                    m.2.span = toks[start].span.start..toks[end - 1].span.end;
                    out.push(m.2);
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    /// True when a model found alone right after another vehicle's name, with only
    /// spaces between, is that vehicle's trim (`Hyundai Accent GLS`), not a new vehicle.
    fn is_trim(
        &self,
        text: &str,
        toks: &[Token],
        i: usize,
        before: &[Mention],
        m: &Mention,
    ) -> bool {
        let alone = m
            .model
            .is_some_and(|model| !self.starts_with_make(toks, i, model));
        alone
            && before.last().is_some_and(|prev| {
                text.get(prev.span.end..toks[i].span.start)
                    .is_some_and(|gap| gap.chars().all(char::is_whitespace))
            })
    }

    fn starts_with_make(&self, toks: &[Token], i: usize, model: usize) -> bool {
        let make = &self.makes[self.models[model].make];
        make.forms.iter().any(|f| starts_with(toks, i, f))
    }

    /// The mention starting at token `i`: (first token, end token, mention).
    fn mention_at(&self, toks: &[Token], i: usize) -> Option<(usize, usize, Mention)> {
        let blank = |make, model, year| Mention {
            make,
            model,
            year,
            span: 0..0,
        };
        if let Some((make, len)) = self.make_at(toks, i) {
            let mut j = i + len;
            let year = toks.get(j).and_then(|t| as_year(&t.folded));
            if year.is_some() {
                j += 1;
            }
            return match self.model_at(toks, j, Some(make)) {
                Some((model, mlen)) => Some((i, j + mlen, blank(Some(make), Some(model), year))),
                None => Some((i, i + len, blank(Some(make), None, None))),
            };
        }
        let (model, len) = self.model_at(toks, i, None)?;
        Some((
            i,
            i + len,
            blank(Some(self.models[model].make), Some(model), None),
        ))
    }

    fn make_at(&self, toks: &[Token], i: usize) -> Option<(usize, usize)> {
        self.makes_by_first
            .get(&toks.get(i)?.folded)?
            .iter()
            .map(|&(m, f)| (m, &self.makes[m].forms[f]))
            .filter(|(_, form)| starts_with(toks, i, form))
            .map(|(m, form)| (m, form.len()))
            .max_by_key(|&(_, len)| len)
    }

    /// The longest model at token `i`: of `make` when given, else any model that may stand alone.
    fn model_at(&self, toks: &[Token], i: usize, make: Option<usize>) -> Option<(usize, usize)> {
        self.models_by_first
            .get(&toks.get(i)?.folded)?
            .iter()
            .map(|&index| (index, &self.models[index]))
            .filter(|(_, m)| make.map_or(m.alone, |k| m.make == k))
            .filter(|(_, m)| starts_with(toks, i, &m.tokens))
            .map(|(index, m)| (index, m.tokens.len()))
            .max_by_key(|&(_, len)| len)
    }

    /// The make's canonical name.
    pub fn make_name(&self, make: usize) -> &str {
        &self.makes[make].name
    }

    /// A model's make index.
    pub fn make_of(&self, model: usize) -> usize {
        self.models[model].make
    }

    /// True when model `named` refers to model `listed` (same make, and the named
    /// model's words run inside the listed one's: `Corolla` for `Corolla Cross`).
    pub fn model_refers_to(&self, named: usize, listed: usize) -> bool {
        let (a, b) = (&self.models[named], &self.models[listed]);
        a.make == b.make
            && b.tokens
                .windows(a.tokens.len())
                .any(|w| w == a.tokens.as_slice())
    }

    /// How a mention reads in a message (`2023 Toyota Supra`, `Toyota`).
    pub fn describe(&self, m: &Mention) -> String {
        let mut parts = Vec::new();
        if let Some(y) = m.year {
            parts.push(y.to_string());
        }
        if let Some(make) = m.make {
            parts.push(self.makes[make].name.clone());
        }
        if let Some(model) = m.model {
            parts.push(self.models[model].name.clone());
        }
        parts.join(" ")
    }
}

fn split_folded(name: &str) -> Vec<String> {
    tokens(name).into_iter().map(|t| t.folded).collect()
}

fn starts_with(toks: &[Token], i: usize, words: &[String]) -> bool {
    toks.len() >= i + words.len()
        && toks[i..i + words.len()]
            .iter()
            .zip(words)
            .all(|(t, w)| &t.folded == w)
}

/// A model name distinctive enough to be recognised without its make: three letters
/// or more, or letters and digits together (`K5`, `H1`); never digits alone (`3`).
fn distinctive(folded: &str) -> bool {
    let letters = folded.chars().filter(|c| c.is_alphabetic()).count();
    let digits = folded.chars().filter(|c| c.is_ascii_digit()).count();
    letters >= 3 || (letters > 0 && digits > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEXICON: &str = r#"
needs_make = ["Fit", "Soul"]
[[make]]
name = "Toyota"
models = ["Corolla", "Corolla Cross", "Supra", "Land Cruiser Prado"]
[[make]]
name = "Honda"
models = ["CR-V", "Fit"]
[[make]]
name = "Kia"
models = ["K5", "Soul"]
[[make]]
name = "Mazda"
models = ["3", "CX-5"]
[[make]]
name = "Mercedes-Benz"
aliases = ["Mercedes"]
models = ["GLC 300"]
"#;

    fn lexicon() -> Lexicon {
        Lexicon::parse(LEXICON, Path::new("vehicles.toml")).unwrap()
    }

    fn named(text: &str) -> Vec<String> {
        let lex = lexicon();
        lex.mentions(text).iter().map(|m| lex.describe(m)).collect()
    }

    #[test]
    fn a_trim_after_a_name_is_not_a_vehicle() {
        assert_eq!(
            named("2023 Toyota Corolla Supra, Honda CR-V"),
            ["2023 Toyota Corolla", "Honda CR-V"]
        );
    }

    #[test]
    fn finds_makes_models_and_years() {
        assert_eq!(
            named("El 2024 Kia K5 y la CR-V, o un Toyota Supra. Mazda 3 2023 y Mercedes GLC 300."),
            [
                "2024 Kia K5",
                "Honda CR-V",
                "Toyota Supra",
                "2023 Mazda 3",
                "Mercedes-Benz GLC 300"
            ]
        );
        assert_eq!(named("Toyota Corolla Cross XLE"), ["Toyota Corolla Cross"]);
        assert_eq!(named("tenemos Toyota y Honda"), ["Toyota", "Honda"]);
        assert_eq!(
            named("Toyota 2022 Land Cruiser Prado"),
            ["2022 Toyota Land Cruiser Prado"]
        );
    }

    #[test]
    fn common_words_and_bare_numbers_need_their_make() {
        assert!(named("es un fit perfecto, color Rojo Soul Crystal, 3 filas").is_empty());
        assert_eq!(named("el Honda Fit"), ["Honda Fit"]);
    }

    #[test]
    fn a_shorter_model_refers_to_the_listed_longer_one() {
        let lex = lexicon();
        let corolla = lex.mentions("Corolla")[0].model.unwrap();
        let cross = lex.mentions("Corolla Cross")[0].model.unwrap();
        assert!(lex.model_refers_to(corolla, cross));
        assert!(!lex.model_refers_to(cross, corolla));
    }

    #[test]
    fn bad_files_name_their_line() {
        let err = Lexicon::parse("[[make]]\nname = 3\n", Path::new("v.toml")).unwrap_err();
        assert_eq!(err.line, Some(2));
    }
}
