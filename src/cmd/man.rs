//! `cq man`: the man pages, rendered at run time from the clap definitions
//! (clap_mangen) plus the sections clap does not know — EXIT STATUS,
//! ENVIRONMENT, FILES, EXAMPLES, SEE ALSO — written here as roff.
//! cq-queue(5) is hand-written and embedded as it is.

use super::{Exit, Run, print_text};
use crate::cli::{Cli, ManArgs};
use crate::error::{Error, Result};
use crate::queue::Where;
use clap::CommandFactory;
use clap_mangen::Man;
use std::path::Path;

/// The date on every generated page; bump it with the version.
const DATE: &str = "2026-11-27";
pub const QUEUE_PAGE: &str = include_str!("../../man/cq-queue.5");

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
    let _ = man.render_synopsis_section(w);
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
    let mut out = text.into_bytes();
    out.extend_from_slice(extra(sub.unwrap_or("")).as_bytes());
    out
}

/// How each command ends, in roff `.TP` items.
fn exit_status(sub: &str) -> &'static str {
    match sub {
        "" => concat!(
            ".TP\n0\nsuccess (also when the reader of cq's output went away)\n",
            ".TP\n1\nerror (I/O, unreadable queue, unknown id, ...), one line on standard error\n",
            ".TP\n2\nusage error; nothing in the queue changed\n",
            ".TP\n125\n\\fBcq wrap\\fR failed before CMD ran (queue not writable)\n",
            ".TP\n126\nCMD found but not executable (recorded as a failure)\n",
            ".TP\n127\nCMD not found (recorded as a failure)\n",
            ".TP\n128+N\nCMD was killed by signal N, and \\fBcq wrap\\fR died of it too\n",
        ),
        "wrap" => concat!(
            "CMD's exit status (with \\fB\\-\\-detach\\fR: 0 once the job is registered). Otherwise:\n",
            ".TP\n2\nusage error; CMD did not run\n",
            ".TP\n125\nthe queue is not writable (or another failure before CMD ran); CMD did not run\n",
            ".TP\n126\nCMD was found but is not executable; recorded as a failure\n",
            ".TP\n127\nCMD was not found; recorded as a failure\n",
            ".TP\n128+N\nCMD was killed by signal N: cq records it, then dies of the same signal, ",
            "so the calling shell sees 128+N and a Ctrl\\-C stops its loop. Also when signal N ",
            "reached cq after CMD ended: cq dies of it within about a second, once the record is ",
            "appended or, if the append cannot finish by then, printed on standard error with ",
            "the job left running, for readers to record as lost\n",
            ".PP\nIf the record cannot be written after CMD ran, cq keeps CMD's status and ",
            "prints the error and the record's JSON on standard error.\n",
            ".PP\nThe job's name, its output directory and the working directory must be valid ",
            "UTF\\-8, as a record is JSON (exit 2 for a name or \\fB\\-o\\fR, 125 for the working ",
            "directory); an empty CMD needs \\fB\\-\\-name\\fR.\n",
        ),
        "pull" | "list" => concat!(
            ".TP\n0\nsuccess, also when the reader of the output went away (records not ",
            "delivered are not marked)\n",
            ".TP\n1\nerror, one line on standard error\n",
            ".TP\n2\nusage error\n",
            ".TP\n124\n\\fB\\-\\-timeout\\fR reached (pull)\n",
        ),
        "wait" => concat!(
            ".TP\n0\nevery job has a record and all succeeded\n",
            ".TP\n1..255\nthe exit code of the first job (in the order given) that failed; ",
            "1 when it has none (a lost job, or a record pushed with \\fB\\-\\-status failure\\fR)\n",
            ".TP\n2\nusage error\n",
            ".TP\n124\n\\fB\\-\\-timeout\\fR reached before every job had a record\n",
        ),
        "ack" => concat!(
            ".TP\n0\nevery id is now pulled (acknowledging twice is not an error)\n",
            ".TP\n1\nan id is in no record (then nothing is marked), or another error\n",
            ".TP\n2\nusage error\n",
        ),
        _ => concat!(
            ".TP\n0\nsuccess\n",
            ".TP\n1\nerror, one line on standard error\n",
            ".TP\n2\nusage error; nothing changed\n",
        ),
    }
}

/// The environment variables a command reads or sets.
fn environment(sub: &str) -> Vec<(&'static str, &'static str)> {
    let queue = [
        ("CQ_QUEUE", "The queue, as for \\fB\\-\\-queue\\fR."),
        (
            "XDG_STATE_HOME",
            "Where the default queue lives: \\fI$XDG_STATE_HOME/cq/queue.jsonl\\fR.",
        ),
        (
            "CQ_REDIS_CA",
            "For a \\fBrediss://\\fR queue: a PEM file of the CA that signed the server's certificate, trusted instead of the public roots.",
        ),
        (
            "HOME",
            "The default queue is \\fI~/.local/state/cq/queue.jsonl\\fR when XDG_STATE_HOME is unset.",
        ),
        (
            "CQ_HOST",
            "The host name cq records and judges running jobs by (default: the machine's). Set it where several machines or containers share one name.",
        ),
        (
            "CQ_LEASE_TTL",
            "On the redis and kafka tiers: how long a running job's lease lives without renewal (a duration; default 15s). The wrapper renews it at a third of that; a reader on another host turns a job whose lease expired into its lost record.",
        ),
        (
            "CQ_KAFKA_DEBUG",
            "On the kafka tier: librdkafka's debug contexts (e.g. \\fBcgrp,fetch\\fR or \\fBall\\fR), logged on standard error.",
        ),
    ];
    let name = ("CQ_NAME", "The job name when \\fB\\-n\\fR is not given.");
    let out_dir = (
        "CQ_OUTPUT_DIR",
        "The output directory when \\fB\\-o\\fR is not given.",
    );
    let child = (
        "CQ_ID, CQ_NAME, CQ_META_FILE (set for CMD)",
        "CMD sees its record's id and its job name, and where \\fBcq meta\\fR adds to its record.",
    );
    let append_retry = (
        "CQ_APPEND_RETRY",
        "On the redis and kafka tiers: how long a wrapper whose job ended keeps trying to append its record when the server cannot be reached (a duration; default 60s). Each attempt takes at most 10 s, so the wait is at most this plus 10 s; then the record is printed on standard error and cq exits with CMD's status.",
    );
    let meta_file = (
        "CQ_META_FILE",
        "Set by \\fBcq wrap\\fR for CMD: the job's private file (mode 0600, a random name in \\fB$TMPDIR\\fR, made before CMD starts) where the pairs go; without it, or once the job has ended, cq meta refuses.",
    );
    let no_color = (
        "NO_COLOR",
        "When set and not empty, tables are not coloured (unless \\fB\\-\\-color always\\fR).",
    );
    match sub {
        "" => [&queue[..], &[name, out_dir, child, no_color]].concat(),
        "list" | "pull" | "wait" => [&queue[..], &[no_color]].concat(),
        "wrap" => [&queue[..], &[name, out_dir, child, append_retry]].concat(),
        "push" => [&queue[..], &[out_dir]].concat(),
        "meta" => vec![meta_file],
        "completions" | "man" | "init" => vec![],
        _ => queue.to_vec(),
    }
}

fn examples(sub: &str) -> &'static [(&'static str, &'static str)] {
    match sub {
        "" => &[
            (
                "Run a build and record its completion:",
                "cq wrap \\-\\- make \\-j4",
            ),
            (
                "Get the records not seen yet, once:",
                "cq pull \\-\\-json | jq \\-r .name",
            ),
            ("Look without changing anything:", "cq list \\-\\-pending"),
        ],
        "wrap" => &[
            (
                "Record a job with a name and an output directory:",
                "cq wrap \\-n nightly \\-o ~/out/nightly \\-\\- ./backup.sh",
            ),
            (
                "Attach metadata:",
                "cq wrap \\-\\-meta ticket=42 \\-\\- claude \\-p \\(dqfix the flaky test\\(dq",
            ),
            (
                "In the background, surviving the terminal; wait for it by id:",
                "id=$(cq wrap \\-d \\-n nightly \\-o ~/out \\-\\- make all)\ncq wait \\(dq$id\\(dq",
            ),
            (
                "In a loop, Ctrl\\-C stops the loop as without cq:",
                "for f in *.mp4; do cq wrap \\-\\- ffmpeg \\-i \\(dq$f\\(dq \\(dq${f%.mp4}.webm\\(dq; done",
            ),
        ],
        "meta" => &[(
            "A job records its result as it goes:",
            "cq wrap \\-n review \\-\\- sh \\-c \\(aqclaude \\-p review > out.md; s=$?; cq meta summary=\\(dq$(head \\-n1 out.md)\\(dq; exit $s\\(aq",
        )],
        "push" => &[
            (
                "The seed's Phase G block, in one line:",
                "cq push \\-n \\(dq$TASK_NAME\\(dq \\-e \\(dq$CLAUDE_EXIT\\(dq \\-o \\(dq$ORIG_HOME/cc\\-remote\\-output/$TASK_NAME\\(dq",
            ),
            (
                "A job whose start time is known:",
                "cq push \\-n sync \\-\\-status success \\-\\-started\\-at 2026\\-04\\-07T17:51:10Z",
            ),
        ],
        "pull" => &[
            (
                "Process each new record once:",
                "cq pull \\-\\-json | while read \\-r rec; do ...; done",
            ),
            (
                "At most ten at a time, as a table:",
                "cq pull \\-\\-limit 10 \\-\\-format table",
            ),
            (
                "Act on each record as it arrives, four at a time; acknowledged only when the handler succeeds:",
                "cq pull \\-\\-follow \\-\\-jobs 4 \\-\\-exec \\(aqnotify\\-send \\(dq$CQ_NAME: $CQ_STATUS\\(dq\\(aq",
            ),
        ],
        "retry" => &[(
            "Put every dead letter back, then handle them again:",
            "cq list \\-\\-dead\ncq retry \\-\\-all && cq pull \\-\\-exec ./handle.sh",
        )],
        "ack" => &[(
            "Read, process, then acknowledge (at\\-least\\-once):",
            "cq list \\-\\-pending \\-\\-json | jq \\-r .id | xargs cq ack",
        )],
        "list" => &[
            (
                "Failed builds of the last day:",
                "cq list \\-\\-name \\(aqbuild\\-*\\(aq \\-\\-status failure \\-\\-since 1d",
            ),
            (
                "The number of records waiting:",
                "cq list \\-\\-pending \\-\\-count",
            ),
        ],
        "wait" => &[
            (
                "Start two jobs, then block until both are done:",
                "cq wrap \\-n build \\-\\- make & cq wrap \\-n lint \\-\\- make lint &\ncq wait build lint \\-\\-timeout 1h && echo all green",
            ),
            (
                "Wait and consume the records:",
                "cq wait deploy \\-\\-pull \\-\\-json",
            ),
        ],
        "stats" => &[
            (
                "Is the JSONL file still the right tier?",
                "cq stats \\-\\-since 7d",
            ),
            (
                "For a script:",
                "cq stats \\-\\-json | jq \\-r \\(aq.tier + \\(dq: \\(dq + .reason\\(aq",
            ),
        ],
        "migrate" => &[
            (
                "Move up the rubric, as cq stats advises:",
                "cq migrate \\-\\-to sqlite:$HOME/.local/state/cq/queue.db\nexport CQ_QUEUE=sqlite:$HOME/.local/state/cq/queue.db",
            ),
            (
                "Running it again copies nothing twice:",
                "cq migrate \\-\\-to sqlite:$HOME/.local/state/cq/queue.db",
            ),
        ],
        "compact" => &[(
            "Keep a month of pulled history:",
            "cq compact \\-\\-older\\-than 30d",
        )],
        "completions" => &[
            (
                "Install for bash:",
                "cq completions bash > ~/.local/share/bash\\-completion/completions/cq",
            ),
            (
                "Install for zsh (a directory in $fpath):",
                "cq completions zsh > ~/.zfunc/_cq",
            ),
            (
                "Install for fish:",
                "cq completions fish > ~/.config/fish/completions/cq.fish",
            ),
        ],
        "man" => &[
            ("Read cq(1):", "cq man | man \\-l \\-"),
            (
                "Install every page:",
                "cq man \\-\\-out ~/.local/share/man/man1 && mv ~/.local/share/man/man1/cq\\-queue.5 ~/.local/share/man/man5/",
            ),
        ],
        "where" => &[
            ("Which queue this shell uses, and why:", "cq where"),
            (
                "The files of another queue:",
                "cq \\-\\-queue sqlite:jobs.db where",
            ),
        ],
        "init" => &[
            (
                "In ~/.bashrc:",
                "eval \\(dq$(cq init bash \\-\\-wrap claude)\\(dq",
            ),
            (
                "In ~/.zshrc, after compinit:",
                "eval \\(dq$(cq init zsh)\\(dq",
            ),
            ("In ~/.config/fish/config.fish:", "cq init fish | source"),
        ],
        _ => &[],
    }
}

/// Where a tier's nature changes what a command means.
fn tiers(sub: &str) -> &'static str {
    match sub {
        "" => concat!(
            "The queue is a JSONL file (a path or \\fBfile:\\fIPATH\\fR), a SQLite database ",
            "(\\fBsqlite:\\fIPATH\\fR), a Redis stream ",
            "(\\fBredis://\\fR[\\fIuser\\fB:\\fIpass\\fB@\\fR]\\fIhost\\fR[\\fB:\\fIport\\fR][\\fB/\\fIdb\\fR][\\fB?stream=\\fINAME\\fR], ",
            "\\fBrediss://\\fR for TLS) or a Kafka topic ",
            "(\\fBkafka://\\fR[\\fIuser\\fB:\\fIpass\\fB@\\fR]\\fIhost\\fB:\\fIport\\fR[\\fB,\\fIhost\\fB:\\fIport\\fR...]\\fB/\\fITOPIC\\fR",
            "[\\fB?group=\\fINAME\\fR][\\fB&partitions=\\fIN\\fR][\\fB&tls=true\\fR][\\fB&ca=\\fIPEM\\fR]",
            "[\\fB&sasl=PLAIN\\fR|\\fBSCRAM\\-SHA\\-256\\fR|\\fBSCRAM\\-SHA\\-512\\fR]; a user in the URL turns SASL on). ",
            "Every command works on every tier with the same output; ",
            "the pages of \\fBpull\\fR, \\fBack\\fR, \\fBcompact\\fR, \\fBlist\\fR and \\fBmigrate\\fR say where a tier changes a detail. ",
            "\\fBcq stats\\fR says when the measured load belongs to another tier, and \\fBcq migrate\\fR moves.\n",
        ),
        "pull" => concat!(
            ".TP\nJSONL, SQLite\nOne consumer: \\fB\\-\\-group\\fR is a usage error naming the redis and kafka tiers.\n",
            ".TP\nRedis\nPulled means acknowledged by the consumer group \\fBcq\\fR. ",
            "\\fB\\-\\-group\\fR \\fINAME\\fR reads as an independent group that starts from the oldest record; ",
            "pullers of one group split the records. Records a killed puller left unacknowledged are ",
            "delivered again as soon as its process is known to be gone (same host), else after four lease TTLs (\\fBCQ_LEASE_TTL\\fR; a minute by default).\n",
            ".TP\nKafka\nPulled means below the committed offset of the consumer group (\\fBcq\\fR, or ",
            "\\fB?group=\\fR in the URL). A pull joins the group once and reads the partitions it is assigned to their ",
            "ends in slices of 2,000 records, each printed and flushed, then committed; then it leaves. Pulls of one group on one machine take turns (a lock ",
            "file under \\fI$XDG_STATE_HOME/cq/kafka/\\fR); across machines they split the partitions: with the ",
            "default single partition, one pull at a time gets records and a concurrent one prints nothing. ",
            "A SIGKILLed puller holds its partitions until its session times out (10 s); what it printed but ",
            "did not commit is delivered again. \\fB\\-\\-wait\\fR and \\fB\\-\\-follow\\fR sleep in the ",
            "consumer's poll (the broker's long fetch), not in a busy loop.\n",
        ),
        "ack" => concat!(
            ".TP\nJSONL, SQLite, Redis\nExactly the given records are marked.\n",
            ".TP\nKafka\nKafka acknowledges by offset: \\fBcq ack\\fR \\fIID\\fR commits the group's offset past ",
            "that record, which acknowledges every earlier record of its partition too (cq names them on ",
            "standard error). It fails while a pull of the group is in progress; run it again.\n",
        ),
        "compact" => concat!(
            ".TP\nJSONL, SQLite\nEvery pulled record older than the cut-off goes.\n",
            ".TP\nRedis\nA stream is trimmed from its head (\\fBXTRIM MINID\\fR): pulled records older than ",
            "the cut-off go up to the first record that must stay (a pending or a newer one); ",
            "pulled records after it stay until that one goes.\n",
            ".TP\nKafka\nRemoves nothing: the broker's retention (the topic's \\fBretention.ms\\fR) removes ",
            "records, pulled or not. cq says so and prints the retention the broker reports.\n",
        ),
        "list" | "wait" => concat!(
            ".TP\nJSONL, SQLite\nA running job's wrapper is checked by pid, start time and boot on its host.\n",
            ".TP\nRedis, Kafka\nA running job is also a lease the wrapper renews every third of ",
            "\\fBCQ_LEASE_TTL\\fR (15 s): a reader on another host that finds it expired writes the lost record, ",
            "once across all readers (Redis: a set-if-absent key; Kafka: the first claim in the order of the ",
            "one-partition topic \\fITOPIC\\fB\\-cq\\-running\\fR). Waiting blocks in \\fBXREAD\\fR or the Kafka ",
            "consumer's poll, waking at least every 5 s to notice expired leases.\n",
            ".TP\nKafka\n\\fBlist\\fR reads without committing; \\fB\\-\\-pending\\fR starts from the group's committed offsets.\n",
        ),
        "migrate" => concat!(
            ".TP\nKafka\nRecords keep their ids; pulled state is an offset, so records arriving pulled are ",
            "marked only while they extend the committed prefix of their partition (a pulled record after ",
            "a pending one arrives pending).\n",
        ),
        _ => "",
    }
}

/// cq-init(1)'s account of `cq init claude`: the events, the limits, and
/// how to undo it.
const CLAUDE: &str = concat!(
    ".SH \"CLAUDE CODE\"\n",
    "\\fBcq init claude\\fR prints settings (JSON) to merge into \\fI~/.claude/settings.json\\fR ",
    "or a project\\(aqs \\fI.claude/settings.json\\fR. Under them a session hears of its jobs without polling ",
    "and without anything typed:\n",
    ".TP\n\\fBSessionStart\\fR, \\fBStop\\fR\n",
    "start the waiter, \\fBcq hook claude \\-\\-wake\\fR, an \\fBasyncRewake\\fR hook. It sleeps until a record ",
    "for the session is pending, waits up to 0.12 s for more (a burst wakes the session once), and exits 2 with one ",
    "line per record (name, status, exit code, output directory, log, id): the client starts a turn with that text, ",
    "even when the session is idle. One waiter runs per session; a second exits 0 at once. \\fBStop\\fR re-arms it ",
    "after each turn; the records of the turn just ended are in flight, so it waits for the next one and never loops. ",
    "It exits 0, taking nothing, when the client process ends, at \\fBSessionEnd\\fR, and after \\fB\\-\\-wake\\-for\\fR ",
    "(1d; the hook\\(aqs timeout is a minute longer, so the client never kills it).\n",
    ".TP\n\\fBSessionStart\\fR, \\fBUserPromptSubmit\\fR, \\fBSessionEnd\\fR\n",
    "run \\fBcq hook claude\\fR: it acknowledges what reached the client and, at a prompt, adds the pending records ",
    "to the model\\(aqs context. It always exits 0.\n",
    ".PP\n",
    "A job started from a session (\\fBCLAUDE_CODE_SESSION_ID\\fR in its environment) records it as \\fBsession\\fR; ",
    "a session takes its own records and those that name no session (\\fB\\-\\-own\\-only\\fR: only its own). ",
    "Records are handed over, not pulled: each is marked pulled by a later hook once the session\\(aqs transcript ",
    "shows it arrived, so a session that dies in between leaves it pending, for \\fB\\-\\-resume\\fR or \\fBcq pull\\fR. ",
    "Records without an id (a legacy writer\\(aqs plain append) are left to \\fBcq pull\\fR. The hand-overs are kept in ",
    "\\fI$XDG_STATE_HOME/cq/claude/\\fR.\n",
    ".PP\n",
    "Limits: plain \\fBclaude \\-p\\fR \\fITEXT\\fR cannot be woken (the waiter exits at once there; the records ",
    "reach the session at its start and its prompt); \\fBclaude \\-p \\-\\-input\\-format stream\\-json\\fR and the ",
    "terminal UI can. On the kafka tier an acknowledgement commits an offset, which acknowledges earlier records of ",
    "the partition too: give each session its own consumer group or use another tier.\n",
    ".PP\n",
    "\\fB\\-\\-install\\fR merges the hooks into the settings file (\\fB\\-\\-project\\fR: ",
    "\\fI.claude/settings.json\\fR under the working directory; else \\fI$CLAUDE_CONFIG_DIR/settings.json\\fR ",
    "or \\fI~/.claude/settings.json\\fR), keeping every other key and hook, replacing the hooks of any ",
    "earlier \\fBcq hook claude\\fR, writing atomically and keeping the old file as \\fIsettings.json.bak\\fR. ",
    "To undo, \\fBcq init claude \\-\\-uninstall\\fR takes out exactly those hooks; then remove ",
    "\\fI$XDG_STATE_HOME/cq/claude/\\fR.\n",
);

fn extra(sub: &str) -> String {
    let mut s = String::new();
    let t = tiers(sub);
    if !t.is_empty() {
        s.push_str(".SH TIERS\n");
        s.push_str(t);
    }
    if sub == "init" {
        s.push_str(CLAUDE);
    }
    s.push_str(".SH \"EXIT STATUS\"\n");
    s.push_str(exit_status(sub));
    let env = environment(sub);
    if !env.is_empty() {
        s.push_str(".SH ENVIRONMENT\n");
        for (k, v) in env {
            s.push_str(&format!(".TP\n.B {k}\n{v}\n"));
        }
    }
    if !matches!(sub, "completions" | "man" | "init") {
        s.push_str(concat!(
            ".SH FILES\n",
            ".TP\n.I $XDG_STATE_HOME/cq/queue.jsonl\n",
            "The default queue: one JSON record per line.\n",
            ".TP\n\\fIQUEUE\\fB.lock\\fR, \\fIQUEUE\\fB.cursor\\fR\n",
            "The lock and the pull cursor; see \\fBcq\\-queue\\fR(5).\n",
            ".TP\n\\fIQUEUE\\fB.running/\\fR\n",
            "One file per job whose \\fBcq wrap\\fR is running.\n",
            ".TP\n\\fIQUEUE\\fB.attempts\\fR\n",
            "What \\fBcq pull \\-\\-exec\\fR knows of each record's handling: attempts, failures, dead letters; see \\fBcq\\-queue\\fR(5).\n",
            ".TP\n.I $XDG_STATE_HOME/cq/kafka/\n",
            "On the kafka tier: the lock files by which pulls of one group on this machine take turns.\n",
        ));
    }
    let ex = examples(sub);
    if !ex.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for (i, (what, cmd)) in ex.iter().enumerate() {
            if i > 0 {
                s.push_str(".PP\n");
            }
            s.push_str(&format!("{what}\n.PP\n.RS 4\n.EX\n{cmd}\n.EE\n.RE\n"));
        }
    }
    s.push_str(".SH \"SEE ALSO\"\n");
    if sub.is_empty() {
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
