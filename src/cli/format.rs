//! `--format` and `--json`, shared by every command that prints records.

use crate::output::Format;
use clap::Args;

/// Output format options.
#[derive(Args, Debug, Clone, Copy)]
pub struct FormatArgs {
    /// Output format [default: table on a terminal, jsonl otherwise]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Short for --format jsonl
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl FormatArgs {
    /// What was asked for, if anything (`--json` is `--format jsonl`).
    pub fn chosen(self) -> Option<Format> {
        if self.json {
            Some(Format::Jsonl)
        } else {
            self.format
        }
    }
}
