//! The consumer's commands: `cq pull` (with its handlers, `--exec`),
//! `cq ack` and `cq retry`.

use super::format::FormatArgs;
use clap::{ArgGroup, Args};

/// Print the records not yet pulled, oldest first, and mark them pulled.
///
/// Records are printed and flushed before they are marked: a pull killed in
/// between delivers them again (at-least-once, never lost).
///
/// --from replays before pulling: the records from that point on become
/// pending again, their content untouched (on the JSONL tier the flag flips
/// back in place; a `replay` fact in the consumer's fact log records it).
/// On Redis and Kafka, --group NAME --from moves that group back; Kafka
/// refuses while a member of the group runs, and as its partitions have no
/// common order, an ID replays its own partition from that record and the
/// others from the first record completed in the same second or later.
/// Dead letters in the range stay parked for --exec (see `cq retry`).
///
/// With --exec CMD, nothing is printed: CMD (a shell command line, run by
/// `sh -c`) runs once per pending record, oldest first, with the record's
/// line on its standard input, cq's environment plus CQ_ID, CQ_NAME,
/// CQ_STATUS, CQ_EXIT_CODE, CQ_OUTPUT_DIR and CQ_ATTEMPT (1 for the first
/// attempt), and cq's stdout and stderr. The record is acknowledged only
/// when CMD exits 0. Each attempt is counted, durably, before CMD starts,
/// so a consumer killed mid-handler leaves the record pending, the attempt
/// counted. A failed record is tried again after --backoff, doubled after
/// each further failure (at most an hour), while later records of other
/// keys go on; after --retries retries it is parked as a dead letter
/// (`cq list --dead`, `cq retry`). Records with the same --key value are
/// never handled at once nor out of order, even with --jobs. Handlers run
/// at least once per record, sometimes more (a consumer killed after CMD
/// succeeded and before the acknowledgement): make them idempotent, or
/// de-duplicate on CQ_ID. A consumer stopped by a signal leaves the records
/// of its running handlers pending, their attempts counted. Consumers
/// side by side share the records: the first to claim a record (in the
/// fact log's order) handles it, and the others leave it and its key alone
/// while that consumer lives. Without
/// --follow, cq exits once nothing is pending or waiting for a retry: 0,
/// or 1 when records were parked. Records without an id (a legacy
/// writer's) are left for a plain pull.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// Pull at most N records (with --follow: N in all, then exit 0)
    #[arg(long, short = 'l', value_name = "N", conflicts_with = "exec")]
    pub limit: Option<usize>,

    /// Block until at least one record is pending, then pull
    #[arg(long, short = 'w', conflicts_with = "exec")]
    pub wait: bool,

    /// Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0
    #[arg(long, short = 'x', value_name = "CMD", conflicts_with = "group")]
    pub exec: Option<String>,

    /// With --exec: run up to N handlers at once
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        default_value_t = 1,
        requires = "exec"
    )]
    pub jobs: usize,

    /// With --exec: try a failed record N more times before parking it as a dead letter
    #[arg(long, value_name = "N", default_value_t = 3, requires = "exec")]
    pub retries: u32,

    /// With --exec: wait DUR after a failure before the next try, doubled each time (at most 1h)
    #[arg(long, value_name = "DUR", default_value = "1s", requires = "exec")]
    pub backoff: String,

    /// With --exec: records with equal values of this record key (or meta.KEY) are handled one at a time, in order
    #[arg(long, value_name = "KEY", default_value = "name", requires = "exec")]
    pub key: String,

    /// Keep pulling records as they arrive, until interrupted
    #[arg(long, short = 'f', conflicts_with = "wait")]
    pub follow: bool,

    /// With --wait or --follow: give up after DUR (exit 124)
    #[arg(long, short = 't', value_name = "DUR")]
    pub timeout: Option<String>,

    /// Pull as consumer group NAME, independently of other groups (Redis and Kafka)
    #[arg(long, short = 'g', value_name = "NAME")]
    pub group: Option<String>,

    /// First replay from POINT: every record from the first completed at or after TIME (RFC 3339, or a duration ago such as 2h), or from the record with this ID, is made pending again (for --group NAME, that group's)
    #[arg(long, value_name = "TIME|ID")]
    pub from: Option<String>,

    #[command(flatten)]
    pub format: FormatArgs,
}

/// Mark the given records pulled.
///
/// For consumers that read with `cq list --pending --json` and acknowledge
/// after processing (at-least-once). Acknowledging a record twice is not an
/// error; an id that is in no record is, and then nothing is marked.
#[derive(Args, Debug)]
pub struct AckArgs {
    /// Record ids, as in the records' "id" key
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Put dead letters back for the consumer to handle again.
///
/// A record parked by `cq pull --exec` after its last retry gets a new
/// round of attempts: a running or the next consumer takes it again,
/// although it reads pulled. An id that is not a dead letter changes
/// nothing and fails.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("which").required(true).args(["ids", "all"])))]
pub struct RetryArgs {
    /// Record ids of dead letters, as `cq list --dead` shows them
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,

    /// Every dead letter
    #[arg(long, short = 'a', conflicts_with = "ids")]
    pub all: bool,
}
