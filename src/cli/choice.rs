//! Command-line value parsers for the library's named choices ([`Choice`]).

use clap::builder::{PossibleValuesParser, TypedValueParser};
use okla_formats::choice::Choice;

/// A parser that offers `T`'s names (listed in `--help`) and yields the choice.
pub fn choice<T: Choice>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|c| c.name()))
        .map(|name| T::from_name(&name).expect("clap accepted only the choices' own names"))
}
