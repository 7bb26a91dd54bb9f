//! Which characters of record text a person or an agent never sees raw,
//! and their escapes: the one rule for tables, `--format brief`, running
//! jobs and every message that quotes a name.

/// Whether a character of record text is printed as an escape: the
/// controls (Cc: C0, DEL, C1 with NEL), the line and paragraph separators
/// (Zl, Zp: U+2028, U+2029) and every format character (Cf: bidi marks
/// and overrides, U+061C, zero-widths, U+FEFF, tags, ...). A reader that
/// splits lines the Unicode way would see a name with a separator as two
/// records; an invisible one can disguise what a line says. The Cf list
/// is Unicode 15's, complete.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// Record text made safe for a terminal or an agent's context: every
/// [`hidden`] character as an escape (`\u{2028}`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls() {
        assert_eq!(escape("a\nb\x1b[31m\t"), "a\\nb\\u{1b}[31m\\t");
        assert_eq!(escape("plain ü"), "plain ü");
    }

    /// Separators and format characters, which Unicode line splitting
    /// or bidi rendering would act on, come out as escapes.
    #[test]
    fn escapes_separators_and_format_characters() {
        for c in [
            '\u{85}',
            '\u{2028}',
            '\u{2029}',
            '\u{61c}',
            '\u{feff}',
            '\u{200e}',
            '\u{2067}',
            '\u{ad}',
            '\u{e0041}',
            '\u{13439}',
        ] {
            let e = escape(&format!("a{c}b"));
            assert!(!e.contains(c), "{c:?} -> {e:?}");
            assert!(e.starts_with("a\\u{"), "{c:?} -> {e:?}");
        }
        assert_eq!(escape("x\u{2028}y"), "x\\u{2028}y");
        // Letters of every script, emoji and ordinary spaces stay.
        for s in ["日本語", "مرحبا", "שלום", "🦀", "a b\u{a0}c"] {
            assert_eq!(escape(s), s);
        }
    }
}
