//! What readers select ([`Filter`]): shared by every tier, applied above
//! the stores.

use crate::record::View;
use crate::time::{self, Cutoff};

/// What `cq list` selects; shared by every tier.
#[derive(Default)]
pub struct Filter {
    pub pending: bool,
    pub pulled: bool,
    pub name: Option<String>,
    pub status: Option<crate::record::Status>,
    pub since: Option<Cutoff>,
}

impl Filter {
    pub fn matches(&self, v: &View) -> bool {
        use crate::record::Pulled;
        if self.pending && v.pulled() != Pulled::No {
            return false;
        }
        if self.pulled && v.pulled() == Pulled::No {
            return false;
        }
        if self.status.is_some_and(|s| v.status != s.as_str()) {
            return false;
        }
        if let Some(p) = &self.name
            && !glob_match(p.as_bytes(), v.name.as_bytes())
        {
            return false;
        }
        if let Some(c) = &self.since {
            match v
                .completed_at
                .as_deref()
                .and_then(|t| time::at_or_after(t, c))
            {
                Some(true) => {}
                _ => return false,
            }
        }
        true
    }
}

/// Shell-style wildcard match: `*` any run, `?` one character, else literal.
pub fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let s: Vec<char> = String::from_utf8_lossy(s).chars().collect();
    let p: Vec<char> = String::from_utf8_lossy(pat).chars().collect();
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"build-*", b"build-claim"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"*x*y", b"axbxy"));
        assert!(!glob_match(b"build", b"build-x"));
    }
}
