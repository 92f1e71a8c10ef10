//! Decoding arms: one gate run can answer the suite several ways — the suite's own
//! (greedy) decoding, OKLA's production sampling, production sampling under a grammar —
//! each arm scored and judged like a run of its own, side by side in the reports.
//!
//! An arm is named by what it is: a base (`suite`, `greedy`, `production`) and an
//! optional grammar (`+json`, `+schema`): `production+schema` is what OKLA serves
//! (temperature 0.3, top_p 0.9, repetition penalty 1.15, answers held to the suite's
//! JSON Schema).

use serde::{Deserialize, Serialize};

use crate::suite::{Decoding, Grammar};

/// One way of answering the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// The arm's name as given (`greedy`, `production+schema`, ...): its folder's name too.
    pub name: String,
    /// How it decodes.
    pub decoding: Decoding,
}

/// The bases an arm can start from, as `--arms` and `suite.toml` name them.
pub const ARM_BASES: [&str; 3] = ["suite", "greedy", "production"];

impl Arm {
    /// The arm `spec` names (`<base>[+json|+schema]`), from the suite's decoding: `suite`
    /// is that decoding as it is, `greedy` the same at temperature 0, `production`
    /// OKLA's production sampling with the suite's token cap and seed. The error says
    /// what is accepted.
    pub fn parse(spec: &str, suite_decoding: &Decoding) -> Result<Arm, String> {
        let (base, grammar) = match spec.split_once('+') {
            Some((base, grammar)) => (base, grammar_named(grammar, spec)?),
            None => (spec, Grammar::None),
        };
        let decoding = match base {
            "suite" => *suite_decoding,
            "greedy" => Decoding {
                temperature: 0.0,
                ..*suite_decoding
            },
            "production" => Decoding {
                max_new_tokens: suite_decoding.max_new_tokens,
                seed: suite_decoding.seed,
                ..Decoding::production()
            },
            _ => {
                return Err(format!(
                    "unknown arm {spec:?}: an arm is one of {} with an optional +json or +schema (e.g. production+schema)",
                    ARM_BASES.join(", ")
                ))
            }
        };
        Ok(Arm {
            name: spec.to_string(),
            decoding: Decoding {
                grammar: match grammar {
                    Grammar::None => decoding.grammar,
                    chosen => chosen,
                },
                ..decoding
            },
        })
    }

    /// Every arm of `specs`, refusing a name given twice.
    pub fn parse_all(specs: &[String], suite_decoding: &Decoding) -> Result<Vec<Arm>, String> {
        let mut arms: Vec<Arm> = Vec::with_capacity(specs.len());
        for spec in specs {
            if arms.iter().any(|a| &a.name == spec) {
                return Err(format!("arm {spec:?} is named twice"));
            }
            arms.push(Arm::parse(spec, suite_decoding)?);
        }
        Ok(arms)
    }

    /// True when the arm samples (its draws can differ, so repeats mean something).
    pub fn samples(&self) -> bool {
        !self.decoding.is_greedy()
    }
}

fn grammar_named(name: &str, spec: &str) -> Result<Grammar, String> {
    Grammar::ALL
        .into_iter()
        .find(|g| !g.is_none() && g.as_str() == name)
        .ok_or_else(|| format!("unknown grammar {name:?} in arm {spec:?}: use +json or +schema"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_named_by_their_base_and_grammar() {
        let suite = Decoding {
            max_new_tokens: 300,
            seed: 9,
            ..Decoding::default()
        };
        let greedy = Arm::parse("greedy", &suite).unwrap();
        assert_eq!(greedy.decoding, suite);
        assert!(!greedy.samples());
        let served = Arm::parse("production+schema", &suite).unwrap();
        assert_eq!(served.decoding.temperature, 0.3);
        assert_eq!(served.decoding.repetition_penalty, 1.15);
        assert_eq!(served.decoding.max_new_tokens, 300);
        assert_eq!(served.decoding.seed, 9);
        assert_eq!(served.decoding.grammar, Grammar::Schema);
        assert!(served.samples());
        assert_eq!(
            Arm::parse("greedy+json", &suite).unwrap().decoding.grammar,
            Grammar::Json
        );
        let sampled_suite = Decoding {
            temperature: 0.7,
            ..suite
        };
        assert_eq!(
            Arm::parse("greedy", &sampled_suite)
                .unwrap()
                .decoding
                .temperature,
            0.0
        );
        assert_eq!(
            Arm::parse("suite", &sampled_suite).unwrap().decoding,
            sampled_suite
        );
    }

    #[test]
    fn unknown_arms_and_repeated_names_are_refused() {
        let suite = Decoding::default();
        let err = Arm::parse("prod", &suite).unwrap_err();
        assert!(err.contains("suite, greedy, production"), "{err}");
        let err = Arm::parse("production+gbnf", &suite).unwrap_err();
        assert!(err.contains("+json or +schema"), "{err}");
        let twice = ["greedy".to_string(), "greedy".to_string()];
        assert!(Arm::parse_all(&twice, &suite)
            .unwrap_err()
            .contains("named twice"));
    }
}
