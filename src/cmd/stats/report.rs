//! The report `cq stats` prints for people: the wording of each line and
//! its wrapping to 80 columns under a label (the JSON form is [`Stats`]
//! as it is).

use super::count::Histogram;
use super::measure::Stats;
use crate::output;

/// The report's width: it reads on an 80-column terminal.
const WIDTH: usize = 80;
/// Where each line's text starts, after its label.
const INDENT: usize = 12;

/// The report on `st` (whose window is `--since`'s when `since`), with
/// the checklist's other items when `verbose`, and `chart` as a line of
/// activity when given: the text to print.
pub fn report(st: &Stats, since: bool, verbose: bool, chart: Option<&Histogram>) -> String {
    let mut r = Report::default();
    r.para("records", &records(st));
    if let Some(window) = window(st, since) {
        r.para("window", &window);
    }
    r.para("peak", &peak(st));
    r.para("mean", &mean(st));
    r.para("writers", &writers(st));
    r.para("tier", &format!("{}: {}", st.tier, st.reason));
    r.para("checklist", st.checklist);
    if verbose {
        for item in &st.also {
            r.para("", item);
        }
    } else if !st.also.is_empty() {
        r.para("", "(cq stats -v: the checklist's other items)");
    }
    if let (Some(m), Some(sw)) = (&st.migrate, &st.switch_to) {
        r.move_line(m, sw);
    }
    if let Some(h) = chart
        && h.total() > 0
    {
        r.line(&format!(
            "{:INDENT$}|{}|",
            "activity",
            output::sparkline(&h.buckets(60))
        ));
    }
    r.text
}

/// The text so far, line by line.
#[derive(Default)]
struct Report {
    text: String,
}

impl Report {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// `label` and `text`, the text wrapped at words to [`WIDTH`] under a
    /// hanging indent (a word longer than a line stays whole).
    fn para(&mut self, label: &str, text: &str) {
        let mut line = format!("{label:INDENT$}");
        let mut empty = true;
        for word in text.split_whitespace() {
            let len = line.chars().count();
            if !empty && len + 1 + word.chars().count() > WIDTH {
                self.line(line.trim_end());
                line = " ".repeat(INDENT);
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        self.line(line.trim_end());
    }

    /// `cq migrate ... && export CQ_QUEUE=...`, a command to paste: broken,
    /// if at all, only after its `&&`, where bash, zsh and fish all read on.
    fn move_line(&mut self, migrate: &str, switch_to: &str) {
        let one = format!("{:INDENT$}{migrate} && export {switch_to}", "move");
        if one.chars().count() <= WIDTH {
            self.line(&one);
        } else {
            self.line(&format!("{:INDENT$}{migrate} &&", "move"));
            self.line(&format!("{:w$}export {switch_to}", "", w = INDENT + 2));
        }
    }
}

fn records(st: &Stats) -> String {
    let mut extra = String::new();
    if st.lost > 0 {
        extra.push_str(&format!(", {} lost", st.lost));
    }
    if st.dead > 0 {
        extra.push_str(&format!(", {} dead letters", st.dead));
    }
    if st.undated > 0 {
        extra.push_str(&format!(", {} without completed_at", st.undated));
    }
    format!(
        "{} ({} pending, {} failed = {:.1}%{extra})",
        st.records,
        st.pending,
        st.failures,
        st.failure_rate * 100.0,
    )
}

fn window(st: &Stats, since: bool) -> Option<String> {
    let (Some(a), Some(b)) = (&st.window_start, &st.window_end) else {
        return None;
    };
    let what = if since {
        "--since to now"
    } else {
        "first record to last"
    };
    Some(format!("{a} .. {b} ({what})"))
}

fn peak(st: &Stats) -> String {
    format!(
        "{}/hour, {}/minute, {}/second{}",
        st.peak_per_hour,
        st.peak_per_minute,
        st.peak_per_second,
        if st.peaks_estimated {
            " (estimated: records far out of time order)"
        } else {
            ""
        }
    )
}

fn mean(st: &Stats) -> String {
    format!(
        "{:.2}/hour over the window's {}, {:.2}/minute over its {}",
        st.mean_per_hour,
        plural(st.mean_hours, "clock hour"),
        st.mean_per_minute,
        plural(st.mean_minutes, "clock minute"),
    )
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn writers(st: &Stats) -> String {
    let about = |estimated: bool| if estimated { "about " } else { "" };
    format!(
        "{}{} (pid@host), {}{} host{}{}{}",
        about(st.writers_estimated),
        st.writers,
        about(st.hosts_estimated),
        st.hosts,
        if st.hosts == 1 { "" } else { "s" },
        if st.unattributed == 0 {
            String::new()
        } else {
            format!("; {} record(s) name no writer", st.unattributed)
        },
        if st.writers_estimated || st.hosts_estimated {
            "; estimated (HyperLogLog, within about 2%): too many to count one by one"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(label: &str, text: &str) -> String {
        let mut r = Report::default();
        r.para(label, text);
        r.text
    }

    #[test]
    fn a_paragraph_fills_80_columns_and_not_81() {
        // The label's 12 columns, then words of 9 and a space: 7 words end
        // at column 81, 6 and a word of 8 at column 80.
        let nine = "123456789 ".repeat(7);
        let wrapped = para("label", &nine);
        assert_eq!(
            wrapped,
            format!(
                "label       {}\n            123456789\n",
                "123456789 ".repeat(6).trim_end()
            )
        );
        let fits = format!("{}12345678", "123456789 ".repeat(6));
        let one = para("label", &fits);
        assert_eq!(one.lines().count(), 1);
        assert_eq!(one.trim_end().chars().count(), WIDTH);
    }

    #[test]
    fn a_word_longer_than_a_line_stays_whole() {
        let long = "x".repeat(100);
        assert_eq!(
            para("", &format!("a {long} b")),
            format!("            a\n            {long}\n            b\n")
        );
    }

    #[test]
    fn the_move_line_breaks_only_after_its_ampersands() {
        let mut r = Report::default();
        r.move_line("cq migrate --to q.db", "CQ_QUEUE=q.db");
        assert_eq!(
            r.text,
            "move        cq migrate --to q.db && export CQ_QUEUE=q.db\n"
        );
        let to = "sqlite:/".to_string() + &"d".repeat(30);
        let mut r = Report::default();
        r.move_line(&format!("cq migrate --to {to}"), &format!("CQ_QUEUE={to}"));
        assert_eq!(
            r.text,
            format!("move        cq migrate --to {to} &&\n              export CQ_QUEUE={to}\n")
        );
    }
}
