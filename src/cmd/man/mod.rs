//! `cq man`: the man pages, rendered at run time from the clap definitions
//! (clap_mangen for NAME, DESCRIPTION, OPTIONS and COMMANDS; the SYNOPSIS
//! written here, as clap_mangen's omits value names and the `--` of
//! `cq wrap`) plus each page's own sections from pages.rs: TIERS, EXIT
//! STATUS (its codes' meanings from error.rs), ENVIRONMENT, FILES,
//! EXAMPLES, SEE ALSO. cq-queue(5) is hand-written and embedded as it is.

use super::{Exit, Run, print_text};
use crate::cli::{Cli, ManArgs};
use crate::error::{Error, Result, code};
use crate::queue::Where;
use clap::CommandFactory;
use clap_mangen::Man;
use pages::{Code, FILES, Own, PAGES, PLAIN, Page};
use std::path::Path;

mod pages;

/// The date on every generated page; bump it with the version.
const DATE: &str = "2026-11-27";
pub const QUEUE_PAGE: &str = include_str!("../../../man/cq-queue.5");

/// Every page as (file name, contents): cq.1, cq-COMMAND.1..., cq-queue.5.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![("cq.1".to_string(), render(&root, None))];
    // `cq hook` is run by Claude Code's hooks, not by people: cq-init(1)
    // documents it.
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        pages.push((format!("cq-{name}.1"), render(sub, Some(&name))));
    }
    pages.push(("cq-queue.5".to_string(), QUEUE_PAGE.as_bytes().to_vec()));
    pages
}

fn render(cmd: &clap::Command, sub: Option<&str>) -> Vec<u8> {
    let title = match sub {
        Some(s) => format!("CQ-{}", s.to_uppercase()),
        None => "CQ".to_string(),
    };
    let man = Man::new(cmd.clone())
        .title(title)
        .section("1")
        .date(DATE)
        .source(format!("cq {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut out = Vec::new();
    let w: &mut dyn std::io::Write = &mut out;
    // Writing to a Vec cannot fail.
    let _ = man.render_title(w);
    let _ = man.render_name_section(w);
    out.extend_from_slice(synopsis(cmd, sub).as_bytes());
    let w: &mut dyn std::io::Write = &mut out;
    let _ = man.render_description_section(w);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(w);
    }
    if sub.is_none() {
        let _ = man.render_subcommands_section(w);
    }
    // clap_mangen separates a help text from its possible values with
    // ".br", a blank line, ".br", which mandoc -T lint warns about.
    let text = String::from_utf8_lossy(&out).replace("\n.br\n\n.br\n", "\n.sp\n");
    let sub = sub.unwrap_or("");
    let page = PAGES.iter().find(|p| p.sub == sub).unwrap_or(&PLAIN);
    short_lines(&bold_quoted(&(text + &sections(page)))).into_bytes()
}

/// SYNOPSIS as a user types the command: each option with its value,
/// repeatable ones with `...`, a required choice as `(a | b)`, and the
/// command `cq wrap` runs after `--`.
fn synopsis(cmd: &clap::Command, sub: Option<&str>) -> String {
    let full = match sub {
        Some(s) => format!("cq {s}"),
        None => "cq".to_string(),
    };
    let mut s = format!(".SH SYNOPSIS\n\\fB{full}\\fR");
    let groups: Vec<&clap::ArgGroup> = cmd.get_groups().filter(|g| g.is_required_set()).collect();
    let in_group = |a: &clap::Arg| {
        groups
            .iter()
            .any(|g| g.get_args().any(|id| id == a.get_id()))
    };
    let visible = || cmd.get_arguments().filter(|a| !a.is_hide_set());
    for a in visible().filter(|a| !a.is_positional() && !in_group(a)) {
        s.push(' ');
        s.push_str(&if a.is_required_set() {
            option(a)
        } else {
            format!("[{}]", option(a))
        });
        if matches!(a.get_action(), clap::ArgAction::Append) {
            s.push_str("...");
        }
    }
    for g in &groups {
        let args: Vec<String> = g
            .get_args()
            .filter_map(|id| visible().find(|a| a.get_id() == id))
            .map(|a| {
                if a.is_positional() {
                    positional(a)
                } else {
                    option(a)
                }
            })
            .collect();
        s.push_str(&format!(" ({})", args.join(" | ")));
    }
    if cmd.has_subcommands() {
        s.push_str(" \\fICOMMAND\\fR");
    }
    for a in visible().filter(|a| a.is_positional() && !in_group(a)) {
        if a.is_required_set() {
            s.push_str(&format!(" {}", positional(a)));
        } else {
            s.push_str(&format!(" [{}]", positional(a)));
        }
    }
    s.push('\n');
    s
}

/// `CMD...`, in roff; `cq wrap`'s command comes after `--`.
fn positional(a: &clap::Arg) -> String {
    let name = a
        .get_value_names()
        .and_then(|v| v.first())
        .map_or_else(|| a.get_id().to_string(), |n| n.to_string());
    if a.is_trailing_var_arg_set() {
        format!("\\fB\\-\\-\\fR \\fI{name}\\fR [\\fIARGS\\fR]...")
    } else if matches!(a.get_action(), clap::ArgAction::Append) {
        format!("\\fI{name}\\fR...")
    } else {
        format!("\\fI{name}\\fR")
    }
}

/// `-n|--name NAME`, in roff.
fn option(a: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(c) = a.get_short() {
        names.push(format!("\\fB\\-{c}\\fR"));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", l.replace('-', "\\-")));
    }
    let mut s = names.join("|");
    if a.get_action().takes_values()
        && let Some(v) = a.get_value_names().and_then(|v| v.first())
    {
        s.push_str(&format!(" \\fI{v}\\fR"));
    }
    s
}

/// `text` with each pair of backticks on a line made bold: the clap docs
/// quote commands that way, which `--help` shows as they are. Never
/// hyphenated (`\%`): a path or a command split at a hyphen reads wrong.
fn bold_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') || line.matches('`').count() % 2 == 1 {
            out.push_str(line);
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 {
                out.push_str(&format!("\\%\\fB{part}\\fR"));
            } else {
                out.push_str(part);
            }
        }
    }
    out
}

/// `text` with its lines of running text broken at spaces to at most 80
/// bytes where they can be (mandoc -T lint asks it; roff fills them
/// again, so the page reads the same). Requests, the tag after `.TP` and
/// examples (`.EX`, no filling) stay as they are; no line made starts with
/// `.` or `'`, which roff would read as a request, nor follows a sentence's
/// end, after which roff would put two spaces.
fn short_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 40);
    let (mut literal, mut tag) = (false, false);
    for line in text.lines() {
        let keep = literal || tag || line.starts_with(['.', '\'']) || line.len() <= 80;
        tag = line == ".TP";
        match line {
            ".EX" | ".nf" => literal = true,
            ".EE" | ".fi" => literal = false,
            _ => {}
        }
        if keep {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut start = 0;
        while line.len() - start > 80 {
            // The last space within 80 bytes whose next word can start a line.
            let mut end = start + 81;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let cut = line[start..end]
                .match_indices(' ')
                .map(|(i, _)| start + i)
                .rfind(|&i| {
                    i > start
                        && !line[i + 1..].starts_with([' ', '.', '\''])
                        && !ends_sentence(&line[..i])
                });
            let Some(cut) = cut else { break };
            out.push_str(&line[start..cut]);
            out.push('\n');
            start = cut + 1;
        }
        out.push_str(&line[start..]);
        out.push('\n');
    }
    out
}

/// Whether roff takes `s`'s end, at a line's end, for a sentence's, and
/// widens the space after it.
fn ends_sentence(s: &str) -> bool {
    s.trim_end_matches([')', ']', '"', '\'', '*'])
        .ends_with(['.', '!', '?'])
}

/// Plain text (error.rs's words) as roff.
fn roff(s: &str) -> String {
    s.replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\(aq")
}

/// The sections clap does not know, in man(7)'s order.
fn sections(page: &Page) -> String {
    let mut s = String::new();
    if !page.tiers.is_empty() {
        s.push_str(".SH TIERS\n");
        s.push_str(page.tiers);
    }
    s.push_str(page.more);
    s.push_str(".SH \"EXIT STATUS\"\n");
    s.push_str(page.exit_before);
    for st in page.exit {
        let (code, meaning) = match st {
            Code(c) => {
                let (_, m) = code::MEANINGS
                    .iter()
                    .find(|(k, _)| k == c)
                    .expect("every code cq(1) names is in error.rs's table");
                (c.to_string(), roff(m))
            }
            Own(c, m) => (c.to_string(), m.to_string()),
        };
        s.push_str(&format!(".TP\n{code}\n{meaning}\n"));
    }
    s.push_str(page.exit_after);
    if !page.env.is_empty() || !page.sets.is_empty() {
        s.push_str(".SH ENVIRONMENT\n");
        if page.sub.is_empty() {
            s.push_str(concat!(
                "A variable set to an empty value counts as unset. A value that is not valid ",
                "UTF\\-8, or a duration that does not parse, is refused (exit 2, or 125 from ",
                "\\fBcq wrap\\fR, whose CMD does not run) before a queue is touched.\n",
            ));
        }
        for name in page.env.iter().flat_map(|g| g.iter()) {
            let (_, what) = crate::config::VARS
                .iter()
                .find(|(k, _)| k == name)
                .expect("every variable a page names is in config.rs's list");
            s.push_str(&format!(".TP\n.B {name}\n{}\n", roff(what)));
        }
        for (k, v) in page.sets {
            s.push_str(&format!(".TP\n.B {k}\n{v}\n"));
        }
    }
    if page.files {
        s.push_str(FILES);
    }
    if !page.examples.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for (i, (what, cmd)) in page.examples.iter().enumerate() {
            if i > 0 {
                s.push_str(".PP\n");
            }
            s.push_str(&format!("{what}\n.PP\n.RS 4\n.EX\n{cmd}\n.EE\n.RE\n"));
        }
    }
    s.push_str(".SH \"SEE ALSO\"\n");
    if page.sub.is_empty() {
        s.push_str(
            ".BR cq\\-wrap (1),\n.BR cq\\-pull (1),\n.BR cq\\-list (1),\n.BR cq\\-queue (5)\n",
        );
    } else {
        s.push_str(".BR cq (1),\n.BR cq\\-queue (5)\n");
    }
    s
}

impl Run for ManArgs {
    fn run(self, _: &Where) -> Result<Exit> {
        let pages = pages();
        let Some(dir) = self.out else {
            return print_text(&pages[0].1);
        };
        write_pages(&dir, &pages)?;
        Ok(Exit::Code(0))
    }
}

fn write_pages(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    for (name, text) in pages {
        let p = dir.join(name);
        std::fs::write(&p, text)
            .map_err(|e| Error::io(format!("cannot write {}", p.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cq(1) names every variable cq reads; config.rs checks that its list
    /// is what it reads.
    #[test]
    fn cq_1_documents_every_variable() {
        let root = PAGES.iter().find(|p| p.sub.is_empty()).unwrap();
        let named: Vec<&str> = root.env.iter().flat_map(|g| g.iter().copied()).collect();
        for (k, _) in crate::config::VARS {
            assert!(named.contains(k), "cq(1) does not name {k}");
        }
    }

    /// Long text lines are broken where roff joins them back, never in a
    /// character, after a sentence, before a request, in an example or a tag.
    #[test]
    fn short_lines_break_only_where_roff_reads_the_same() {
        let long = format!("{} é{}", "a".repeat(79), " word".repeat(20));
        let out = short_lines(&long);
        assert!(out.lines().all(|l| l.len() <= 80), "{out}");
        assert_eq!(out.replace('\n', " ").trim_end(), long);
        let sentence = format!("{}. Next {}", "b ".repeat(38), "c ".repeat(30));
        assert!(!short_lines(&sentence).contains(".\n"));
        let dots = format!("{} .x {}", "d".repeat(70), "e ".repeat(20));
        assert!(short_lines(&dots).lines().all(|l| !l.starts_with('.')));
        for kept in [".EX", ".TP"] {
            let text = format!("{kept}\n{}\n", "f ".repeat(60));
            assert_eq!(short_lines(&text), text);
        }
    }
}
