//! Dataset tools for chat fine-tuning data: each subcommand's logic in its own module.

pub mod stats;
