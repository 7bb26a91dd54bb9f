//! The one-line forms: a record as one plain sentence (`--format brief`,
//! an agent's wake-up text) and a row of counts as a bar chart (`cq stats`).

use super::escape::escape;
use crate::record::Stored;
use crate::time;

/// `build: failure (exit 2), completed 2026-04-07T17:58:52Z after 7m 42s,
/// output /home/u/out/build, log /home/u/out/build/build.ID.log, id ID`:
/// the record as one plain line (where to look, and the id that `cq wait`
/// and `cq ack` take), its text
/// escaped (an agent's context or a terminal gets no control characters).
pub fn brief(r: &Stored) -> String {
    let v = &r.view;
    let exit = match (&v.exit_code, &v.signal) {
        (Some(c), Some(sig)) => format!(" (exit {c}, {})", escape(sig)),
        (Some(c), None) => format!(" (exit {c})"),
        _ if v.lost => " (lost: its wrapper died)".to_string(),
        _ => String::new(),
    };
    let mut s = format!("{}: {}{exit}", escape(&v.name), escape(&v.status));
    if let Some(t) = &v.completed_at {
        s.push_str(&format!(", completed {}", escape(t)));
    }
    if let Some(ms) = v.duration_ms {
        s.push_str(&format!(" after {}", time::human_ms(ms)));
    }
    if let Some(d) = &v.output_dir {
        s.push_str(&format!(", output {}", escape(d)));
    }
    if let Some(l) = &v.log {
        s.push_str(&format!(", log {}", escape(l)));
    }
    if let Some(id) = &v.id {
        s.push_str(&format!(", id {}", escape(id)));
    }
    s
}

/// A one-line chart of counts: ▁▂▃▄▅▆▇█ scaled to the largest.
pub fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| match c {
            0 => ' ',
            _ => BARS[((c * 7).div_ceil(max.max(1))).min(7) as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0, 1, 8]), " ▂█");
        assert_eq!(sparkline(&[]), "");
    }
}
