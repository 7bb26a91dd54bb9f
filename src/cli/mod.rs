//! The command line, as clap derive types only: the single source of
//! `--help`, the completion scripts and the man pages. Depends on nothing
//! else in the crate but the value types it parses into. The consumer's
//! commands (`pull`, `ack`, `retry`) are in consume.rs.

mod consume;
mod format;

pub use crate::output::{ColorChoice, Format};
pub use crate::record::Status;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
pub use consume::{AckArgs, PullArgs, RetryArgs};
pub use format::FormatArgs;
use std::ffi::OsString;
use std::path::PathBuf;

/// A completion queue for background jobs.
///
/// Prefix a command with `cq wrap` and, when it ends, one JSON line (its
/// completion record) is appended to a queue; `cq pull` prints the records
/// not yet pulled and marks them.
#[derive(Parser, Debug)]
#[command(name = "cq", version, about, long_about, max_term_width = 100)]
#[command(propagate_version = true, help_expected = true)]
pub struct Cli {
    #[arg(
        help = crate::queue::Tier::queue_help(),
        long,
        short = 'q',
        global = true,
        env = "CQ_QUEUE",
        hide_env_values = true,
        value_name = "Q"
    )]
    pub queue: Option<OsString>,

    /// When to colour tables: auto (a terminal, and NO_COLOR unset), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

/// Each subcommand's arguments are built only when it runs (`defer`): for
/// `cq push`, which runs once per job, building all of them was a fifth of
/// the instructions.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
///
/// Each variant's one-line `about` is what `cq --help`, `cq help` and the
/// completions list; the deferred arguments' own doc comments give the full
/// text of `cq SUB --help`. (Without the line here the list is blank: the
/// deferred docs are applied only to the subcommand that runs.)
pub enum Command {
    #[command(about = "Run a command and append its completion record when it ends")]
    Wrap(WrapArgs),
    #[command(about = "Append the record of a job that already finished")]
    Push(PushArgs),
    #[command(about = "Print the records not yet pulled, oldest first, and mark them pulled")]
    Pull(PullArgs),
    #[command(about = "Mark the given records pulled")]
    Ack(AckArgs),
    #[command(about = "Put dead letters back for the consumer to handle again")]
    Retry(RetryArgs),
    #[command(about = "Show records (or running jobs) without changing anything")]
    List(ListArgs),
    #[command(about = "Block until every NAME has a record; exit with the first failure's status")]
    Wait(WaitArgs),
    #[command(about = "Remove pulled records older than a given age")]
    Compact(CompactArgs),
    #[command(about = "Measure the queue's load and say which tier of the rubric it belongs to")]
    Stats(StatsArgs),
    #[command(about = "Copy every record to another queue, of any tier")]
    Migrate(MigrateArgs),
    #[command(about = "Add KEY=VALUE to the record of the wrapped job this runs in")]
    Meta(MetaArgs),
    #[command(about = "Print a completion script for a shell")]
    Completions(CompletionsArgs),
    #[command(about = "Print the cq(1) man page, or write every page to a directory")]
    Man(ManArgs),
    #[command(about = "Print shell integration to eval in an rc file")]
    Init(InitArgs),
    #[command(about = "Say which queue cq uses, why, and what it keeps beside it")]
    Where(WhereArgs),
    /// Run by the hooks of `cq init claude`; see cq-init(1).
    #[command(about = "Run by Claude Code's hooks (see cq init claude)", hide = true)]
    Hook(HookArgs),
    /// Run by the completion scripts (see cq completions): job names and
    /// ids to offer, one a line, a tab before its description.
    #[command(
        name = "__candidates",
        about = "Print job names and ids for shell completion",
        hide = true
    )]
    Candidates(CandidatesArgs),
}

/// Job names and ids for shell completion (run by the completion scripts).
#[derive(Args, Debug)]
pub struct CandidatesArgs {
    /// wait: names and ids of running jobs and pending records; ack: ids of pending records; list: their names
    #[arg(value_enum)]
    pub what: CandidatesFor,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidatesFor {
    /// Names and ids of running jobs and pending records
    Wait,
    /// Ids of pending records
    Ack,
    /// Names of running jobs and pending records
    List,
}

/// Run a command and append its completion record when it ends.
///
/// CMD runs with cq's stdio, environment (plus CQ_ID, CQ_NAME and
/// CQ_META_FILE) and working
/// directory; cq exits with CMD's exit status, or dies of the signal that
/// killed CMD. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to
/// cq are forwarded to CMD; one the caller ignores (nohup) stays ignored,
/// by cq and by CMD. cq prints nothing of its own on stdout
/// (with --detach, only the job id).
///
/// Once CMD has ended, such a signal ends cq instead: the record's append
/// gets a second to finish (a second signal: none), then cq prints the
/// record on stderr, leaves the job running for readers to record as lost,
/// and dies of the signal. A lock on the queue that cq itself holds through
/// a descriptor inherited from its caller is an error, not a wait.
#[derive(Args, Debug)]
pub struct WrapArgs {
    /// Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]
    #[arg(long, short = 'n', value_name = "NAME")]
    pub name: Option<String>,

    /// Where the job's output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Extra KEY=VALUE stored in the record's meta object (repeatable)
    #[arg(long, short = 'm', value_name = "KEY=VALUE")]
    pub meta: Vec<String>,

    /// Run CMD in the background, in a session of its own; print the job id once it is registered as running
    #[arg(long, short = 'd')]
    pub detach: bool,

    /// With --detach: CMD's stdout and stderr go here, created 0600 in a directory made if missing; a FIFO nobody reads is refused [default: OUTPUT_DIR/NAME.ID.log with -o or CQ_OUTPUT_DIR, else $XDG_STATE_HOME/cq/logs/NAME.ID.log]
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,

    /// The detached wrapper's job id (set by --detach)
    #[arg(long, hide = true, value_name = "ID", requires = "ready_fd")]
    pub detached_id: Option<String>,

    /// Where the detached wrapper says it registered the job (set by --detach)
    #[arg(long, hide = true, value_name = "FD", requires = "detached_id")]
    pub ready_fd: Option<i32>,

    /// The command to run, and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub cmd: Vec<OsString>,
}

/// Add KEY=VALUE pairs to the record of the job this runs in.
///
/// Inside `cq wrap` a job (or anything it starts) records results as it
/// goes: a session id, a summary line, a cost. The wrapper adds them to the
/// record's meta object when CMD ends; a later value of a key replaces an
/// earlier one, and wrap's own --meta comes first. A key is at most 64
/// bytes, a value 4 KiB, and one job's pairs, as kept, 64 KiB in all (a
/// key may be updated any number of times): beyond that, outside a
/// wrapped job (no CQ_META_FILE), or after the job ended (a child left in
/// the background), cq meta fails and adds nothing.
#[derive(Args, Debug)]
pub struct MetaArgs {
    /// The pairs to add
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
}

/// Append the record of a job that already finished.
///
/// The drop-in for the seed's Phase G block: give the job's name and either
/// its exit code or its status.
///
/// With --batch, the records come from standard input, one per line: `NAME
/// EXIT_CODE`, or a JSON object with "name" and "exit_code" or "status"
/// (and, if wanted, "output_dir", "started_at" and "meta", an object of
/// strings); -o and --meta apply to every line. Lines are appended in
/// groups, each group durable (one fdatasync) before cq reads on once the
/// input pauses. A bad line (not UTF-8, longer than a record's 512 KiB,
/// not a record, or an "exit_code" and "status" that contradict each
/// other) is reported with its number and skipped, the good ones are kept,
/// and cq then exits 1.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("outcome").required(true).args(["exit_code", "status", "batch"])))]
pub struct PushArgs {
    /// Job name
    #[arg(
        long,
        short = 'n',
        value_name = "NAME",
        required_unless_present = "batch"
    )]
    pub name: Option<String>,

    /// Read many records from standard input, one per line (see above)
    #[arg(long, conflicts_with_all = ["name", "started_at"])]
    pub batch: bool,

    /// The job's exit code (0 is success, anything else failure)
    #[arg(long, short = 'e', value_name = "N", value_parser = clap::value_parser!(i32).range(0..=255))]
    pub exit_code: Option<i32>,

    /// The job's status, when there is no exit code
    #[arg(long, short = 's', value_enum, value_name = "STATUS")]
    pub status: Option<Status>,

    /// Where the job's output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// When the job started (RFC 3339); adds started_at and duration_ms
    #[arg(long, value_name = "TS")]
    pub started_at: Option<String>,

    /// Extra KEY=VALUE stored in the record's meta object (repeatable)
    #[arg(long, short = 'm', value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
}

/// Show records without changing anything.
///
/// With --running, show the jobs whose `cq wrap` is still running instead.
/// With --dead, show the dead letters of `cq pull --exec`, each line with
/// "attempts" and "dead":{"exit_code":C,"at":TS} added.
/// A job whose wrapper was killed (SIGKILL, reboot) is turned into a failure
/// record with "lost":true by the first reader that notices, once.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show running jobs (name, pid, host, start, command) instead of records
    #[arg(long, short = 'r', conflicts_with_all = ["pending", "pulled", "name", "status", "since", "follow"])]
    pub running: bool,

    /// Show the dead letters (records parked after their last retry)
    #[arg(long, conflicts_with_all = ["running", "pending", "pulled", "follow"])]
    pub dead: bool,

    /// Keep printing matching records as they arrive, until interrupted
    #[arg(long, short = 'f', conflicts_with_all = ["count", "limit"])]
    pub follow: bool,

    /// Only records not yet pulled
    #[arg(long, conflicts_with = "pulled")]
    pub pending: bool,

    /// Only records already pulled
    #[arg(long)]
    pub pulled: bool,

    /// Only jobs whose name matches PATTERN (shell-style * and ?)
    #[arg(long, short = 'n', value_name = "PATTERN")]
    pub name: Option<String>,

    /// Only records with this status
    #[arg(long, short = 's', value_enum, value_name = "STATUS")]
    pub status: Option<Status>,

    /// Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)
    #[arg(long, value_name = "DUR|TS")]
    pub since: Option<String>,

    /// Only the N most recent matching records (still printed oldest first)
    #[arg(long, short = 'l', value_name = "N")]
    pub limit: Option<usize>,

    /// Print only the number of matching records
    #[arg(long, short = 'c', conflicts_with_all = ["format", "json"])]
    pub count: bool,

    /// The table's columns, comma-separated, in order: name, status, exit, completed, started, duration, output, pulled, id, host, pid, cwd, command, log (e.g. name,status,exit,id); a leading + adds them to the default (+id). Given alone, it means a table in a pipe too (--json still gives JSON lines). On a terminal, long cells lose their middle to fit its width ($COLUMNS, else the terminal's, else 80) and paths under HOME show as ~; in a pipe every cell is whole
    #[arg(long, value_name = "COL,...", conflicts_with_all = ["running", "count"])]
    pub columns: Option<String>,

    #[command(flatten)]
    pub format: FormatArgs,
}

/// Block until every NAME has a record, print those records, and exit with
/// the status of the first that failed.
///
/// A record counts when it is pending or when it completed after the wait
/// began (the same second included), so a consumer that pulls in between
/// cannot make the wait last forever. A NAME may also be a job id (what
/// `cq wrap --detach` prints): any record with that id counts, pulled or
/// not, old or new; of several (a lost record and a returning wrapper's
/// real one), the newest. A job whose wrapper dies while waited for becomes
/// a lost failure record, which ends the wait.
///
/// A NAME that nothing can answer (no running job of that name or id, no
/// pending record, none since the wait began) for 10 seconds ends the
/// wait with exit 1 and a line saying so (with the closest name known, if
/// any, or the id of the record someone pulled, which `cq wait ID` still
/// answers), in a pipe as on a terminal: a typo or a record that someone
/// already pulled does not wait forever. --new-only waits for a job that
/// has not started yet. On a terminal, a line on stderr says what the
/// wait waits for.
#[derive(Args, Debug)]
pub struct WaitArgs {
    /// Job names (or job ids) to wait for
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// Give up after DUR (90s, 10m, 2h): exit 124
    #[arg(long, short = 't', value_name = "DUR")]
    pub timeout: Option<String>,

    /// Mark the records printed as pulled
    #[arg(long, short = 'p')]
    pub pull: bool,

    /// Wait for a job that has not started yet: no check that something can answer NAME
    #[arg(long)]
    pub new_only: bool,

    #[command(flatten)]
    pub format: FormatArgs,
}

/// Measure the queue's load and say which tier of the rubric it belongs to.
///
/// Counts (records, pending, failed, lost, and the dead letters of `cq pull
/// --exec`), failure rate, observed throughput (peak per second, minute and
/// hour; mean over the clock hours and minutes of the window: --since to
/// now, else the first record to the last, so never above the peak),
/// distinct writers and hosts (past 100,000, an estimate within about 2%,
/// said with "about"), and the tier of the article's rubric (single-digit
/// per hour: jsonl; hundreds per minute: sqlite; thousands per second:
/// redis; millions per second: kafka) with the checklist item behind the
/// advice (every item with -v). The report wraps at words within 80
/// columns.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)
    #[arg(long, value_name = "DUR|TS")]
    pub since: Option<String>,

    /// One JSON object instead of the report
    #[arg(long)]
    pub json: bool,

    /// Every item of the rubric's checklist, not only the one behind the advice
    #[arg(short, long)]
    pub verbose: bool,
}

/// Copy every record to another queue, of any tier.
///
/// Ids and pulled state are kept; records already in the target (same id, or
/// for records without one, same text) are skipped, so running it again
/// copies nothing twice. A lost record and the real one its wrapper appended
/// later share an id and are both copied. Running it again also carries over what was pulled
/// in the source since: those records are marked pulled in the target
/// (never the other way; on Kafka, only up to the first record still
/// pending, as an acknowledgement there is an offset). The source is left
/// untouched: point CQ_QUEUE at the target once it is done.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The queue to copy to, of any tier (as for --queue)
    #[arg(long, value_name = "Q2")]
    pub to: OsString,
}

/// Remove pulled records older than a given age.
///
/// The only command that rewrites the queue file: it never removes a pending
/// record or a line it cannot parse.
#[derive(Args, Debug)]
pub struct CompactArgs {
    /// Remove pulled records completed more than DUR ago (90s, 10m, 2h, 7d)
    #[arg(long, value_name = "DUR", default_value = "7d")]
    pub older_than: String,
}

/// Print a completion script for a shell.
///
/// `cq init` includes it already; use this to install it as a file (see the
/// README for where each shell looks).
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Print the cq(1) man page, or write every page to a directory.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Print shell integration to eval in an rc file.
///
/// The output defines completions for cq, helpers (__cq_pending prints the
/// number of pending records; __cq_prompt prints "cq:N " for a prompt when N
/// records wait), and for each --wrap CMD a function named CMD that runs
/// `cq wrap -- CMD ARGS...`, so the command is recorded without typing cq.
/// Sourcing it twice defines everything once. A queue given with --queue (or
/// CQ_QUEUE) when init runs is pinned into the wrappers and helpers.
/// `cq init phase-g` prints the drop-in for the seed's Phase G block;
/// `cq init claude` prints Claude Code settings whose hooks pull finished
/// jobs into the session (`cq pull --format brief`).
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The shell to integrate with
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: InitShell,

    /// Define a function CMD that runs CMD under `cq wrap` (repeatable)
    #[arg(long, short = 'w', value_name = "CMD")]
    pub wrap: Vec<String>,

    /// With claude: the session hears only jobs started from it, not those that name no session
    #[arg(long)]
    pub own_only: bool,

    /// With claude: how long an idle session waits to be woken before it waits for its next turn instead [default: 1d]
    #[arg(long, value_name = "DUR")]
    pub wake_for: Option<String>,

    /// With claude: merge the hooks into ~/.claude/settings.json (keeping everything else; a backup in settings.json.bak) instead of printing them
    #[arg(long, conflicts_with = "uninstall")]
    pub install: bool,

    /// With claude: take cq's hooks out of the settings file, and nothing else
    #[arg(long)]
    pub uninstall: bool,

    /// With --install or --uninstall: the project's .claude/settings.json instead of the user's
    #[arg(long)]
    pub project: bool,
}

/// Say which queue cq uses, why, and what it keeps beside it.
///
/// The queue comes from --queue, else CQ_QUEUE, else the default
/// ($XDG_STATE_HOME/cq/queue.jsonl, or ~/.local/state/cq/queue.jsonl). cq
/// where prints it, where it came from, whether it exists yet, and the side
/// files (or keys) its tier keeps: what a person needs when records seem to
/// land in another queue than the one read.
#[derive(Args, Debug)]
pub struct WhereArgs {}

/// Run by the hooks that `cq init claude` sets up, with Claude Code's hook
/// input on stdin.
///
/// With --wake (an asyncRewake hook at SessionStart and Stop) it waits for
/// the session's next record and exits 2 with the records on stderr, which
/// wakes the session; without it (SessionStart, UserPromptSubmit,
/// SessionEnd) it acknowledges what reached the client and, at a prompt,
/// prints the records for the model's context.
#[derive(Args, Debug)]
pub struct HookArgs {
    /// The client whose hook this is
    #[arg(value_enum, value_name = "CLIENT")]
    pub client: HookClient,

    /// Wait for the session's next record (an asyncRewake hook)
    #[arg(long)]
    pub wake: bool,

    /// With --wake: give up (exit 0, nothing taken) after DUR, before the hook's timeout
    #[arg(long, value_name = "DUR", requires = "wake")]
    pub wake_for: Option<String>,

    /// Take only records that name this session, not those that name none
    #[arg(long)]
    pub own_only: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookClient {
    /// Claude Code
    Claude,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitShell {
    /// GNU Bash
    Bash,
    /// Z shell
    Zsh,
    /// The friendly interactive shell
    Fish,
    /// Not a shell: the drop-in for the seed's Phase G block (bash), to
    /// `eval "$(cq init phase-g)"` in its place
    #[value(name = "phase-g")]
    PhaseG,
    /// Not a shell: Claude Code settings (JSON) whose hooks bring finished
    /// jobs into the session at its start and at each prompt
    Claude,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
