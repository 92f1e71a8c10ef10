//! Closed sets of named choices (a GGUF file type, a response-format style): the
//! names users type on a command line or in a file. Library types implement
//! [`Choice`]; the binary turns them into command-line value parsers, so no library
//! type carries command-line derives.

/// A closed set of named choices.
pub trait Choice: Sized + Copy + Send + Sync + 'static {
    /// Every choice, in the order a help text lists them.
    const ALL: &'static [Self];

    /// The name users type (`q4_k_m`).
    fn name(self) -> &'static str;

    /// The choice called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::Choice;
    use crate::gguf::FileType;

    #[test]
    fn every_choice_is_found_by_its_own_name_and_no_other() {
        for &t in FileType::ALL {
            assert_eq!(FileType::from_name(t.name()), Some(t));
        }
        assert_eq!(FileType::from_name("q4_k"), None);
    }
}
