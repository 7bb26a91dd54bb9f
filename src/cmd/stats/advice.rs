//! Placing the measured load in the rubric: the advised tier with its
//! reason and checklist, and, when that is not the queue's tier, the
//! `cq migrate` line that moves it there.

use super::measure::Stats;
use crate::queue::{Location, Tier};
use crate::rubric::{self, Load};

/// Fills the rubric's fields of `st` for a queue at `loc` on `current`.
pub fn advise(st: &mut Stats, loc: &Location, current: Tier) {
    let advice = rubric::advise(&Load {
        peak_per_second: st.peak_per_second,
        peak_per_minute: st.peak_per_minute,
        peak_per_hour: st.peak_per_hour,
        hosts: st.hosts,
    });
    st.tier = advice.tier;
    st.reason = if st.records == 0 {
        "no records yet: start with the JSONL file".to_string()
    } else {
        advice.reason
    };
    st.checklist = advice.checklist;
    st.also = advice.also;
    st.current_tier = current;
    if st.records > 0 && st.tier != st.current_tier {
        // Quoted, so that the line pastes into bash, zsh and fish alike
        // (a Redis URL's `?` is a glob to zsh and fish).
        let to = shell_word(&suggest(loc, st.tier));
        st.migrate = Some(format!("cq migrate --to {to}"));
        st.switch_to = Some(format!("CQ_QUEUE={to}"));
    }
}

/// `s` as one word for bash, zsh and fish: as it is when that is safe
/// (a plain path), else quoted.
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-:".contains(&b))
    {
        s.to_string()
    } else {
        crate::cmd::sh_quote(s)
    }
}

/// Where a queue of `tier` could live, next to the current one.
fn suggest(loc: &Location, tier: Tier) -> String {
    let base = match loc {
        Location::File(p) | Location::Sqlite(p) => p.clone(),
        // The resolved path, not `$XDG_STATE_HOME/...`: the line is quoted
        // for pasting, and a quoted variable would not expand (it made a
        // directory named `$XDG_STATE_HOME`).
        #[cfg(any(feature = "redis", feature = "kafka"))]
        _ => crate::queue::files::state_dir()
            .map(|d| d.join("queue.jsonl"))
            .unwrap_or_else(|_| std::path::PathBuf::from("queue.jsonl")),
    };
    tier.example(&base)
}
