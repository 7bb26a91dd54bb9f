//! What each man page says beyond what clap knows, one entry per page in
//! [`PAGES`]: its TIERS, the codes of its EXIT STATUS, its ENVIRONMENT and
//! EXAMPLES. Text is roff, except that `backticks` become bold, as in the
//! clap docs.

use crate::error::code;

/// What one page says beyond what clap knows. Text is roff, except that
/// `backticks` become bold, as in the clap docs.
pub(super) struct Page {
    /// The subcommand ("" for cq(1)).
    pub sub: &'static str,
    /// Where a tier's nature changes what the command means.
    pub tiers: &'static str,
    /// Whole sections of its own, after TIERS (cq-init's CLAUDE CODE).
    pub more: &'static str,
    /// EXIT STATUS: a paragraph first, then the codes (see [`Status`]),
    /// then paragraphs after.
    pub exit_before: &'static str,
    pub exit: &'static [Status],
    pub exit_after: &'static str,
    /// ENVIRONMENT: the variables the command reads (named in config.rs's
    /// list, which words them), then those it sets.
    pub env: &'static [&'static [&'static str]],
    pub sets: &'static [Var],
    /// Whether the command touches a queue (and so its FILES).
    pub files: bool,
    pub examples: &'static [(&'static str, &'static str)],
}

/// One item of EXIT STATUS.
pub(super) enum Status {
    /// A code of error.rs's table, in its words.
    Code(u8),
    /// A code (or range) in this page's own words.
    Own(&'static str, &'static str),
}
pub(super) use Status::{Code, Own};

/// An environment variable and what it does (roff).
pub(super) type Var = (&'static str, &'static str);

/// A page with nothing of its own but the usual exit codes.
pub(super) const PLAIN: Page = Page {
    sub: "",
    tiers: "",
    more: "",
    exit_before: "",
    exit: &[
        Code(0),
        Code(code::ERROR),
        Own("2", "usage error; nothing changed"),
    ],
    exit_after: "",
    env: &[QUEUE_ENV],
    sets: &[],
    files: true,
    examples: &[],
};

/// What every command that opens a queue reads (config.rs words them).
const QUEUE_ENV: &[&str] = &[
    "CQ_QUEUE",
    "XDG_STATE_HOME",
    "CQ_REDIS_CA",
    "HOME",
    "CQ_HOST",
    "CQ_LEASE_TTL",
    "CQ_KAFKA_DEBUG",
];

/// What `cq wrap` sets for CMD.
const CHILD_ENV: Var = (
    "CQ_ID, CQ_NAME, CQ_META_FILE (set for CMD)",
    "CMD sees its record's id and its job name, and where \\fBcq meta\\fR adds to its record.",
);

/// Every page, cq(1) first; a subcommand without an entry gets [`PLAIN`].
pub(super) const PAGES: &[Page] = &[
    Page {
        sub: "",
        tiers: concat!(
            "The queue is one of:\n",
            ".TP\n\\fIPATH\\fR, \\fBfile:\\fIPATH\\fR\na JSONL file;\n",
            ".TP\n\\fBsqlite:\\fIPATH\\fR\na SQLite database;\n",
            ".TP\n\\%\\fBredis://\\fR[\\fIuser\\fB:\\fIpass\\fB@\\fR]\\fIhost\\fR[\\fB:\\fIport\\fR][\\fB/\\fIdb\\fR][\\fB?stream=\\fINAME\\fR]\n",
            "a Redis stream (\\fBrediss://\\fR for TLS);\n",
            ".TP\n\\%\\fBkafka://\\fR[\\fIuser\\fB:\\fIpass\\fB@\\fR]\\fIhost\\fB:\\fIport\\fR[\\fB,\\fIhost\\fB:\\fIport\\fR...]\\fB/\\fITOPIC\\fR[\\fB?\\fIPARAMS\\fR]\n",
            "a Kafka topic, where \\fIPARAMS\\fR joined by \\fB&\\fR are \\%\\fBgroup=\\fINAME\\fR, \\%\\fBpartitions=\\fIN\\fR, ",
            "\\%\\fBtls=true\\fR, \\%\\fBca=\\fIPEM\\fR and \\fBsasl=\\fR one of \\fBPLAIN\\fR, \\%\\fBSCRAM\\-SHA\\-256\\fR, ",
            "\\%\\fBSCRAM\\-SHA\\-512\\fR (a user in the URL turns SASL on).\n",
            ".PP\nEvery command works on every tier with the same output; ",
            "the pages of \\fBpull\\fR, \\fBack\\fR, \\fBcompact\\fR, \\fBlist\\fR and \\fBmigrate\\fR say where a tier changes a detail. ",
            "\\fBcq stats\\fR says when the measured load belongs to another tier, and \\fBcq migrate\\fR moves.\n",
        ),
        exit: &[
            Code(0),
            Code(code::ERROR),
            Code(code::USAGE),
            Code(code::TIMEOUT),
            Code(code::WRAP_FAILED),
            Code(code::NOT_EXECUTABLE),
            Code(code::NOT_FOUND),
            Own(
                "128+N",
                "CMD was killed by signal N, and \\fBcq wrap\\fR died of it too",
            ),
        ],
        env: &[
            QUEUE_ENV,
            &[
                "CQ_NAME",
                "CQ_OUTPUT_DIR",
                "CQ_APPEND_RETRY",
                "CQ_META_FILE",
                "NO_COLOR",
                "COLUMNS",
                "CLAUDE_CONFIG_DIR",
                "CLAUDE_CODE_SESSION_ID",
            ],
        ],
        sets: &[CHILD_ENV],
        examples: &[
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
        ..PLAIN
    },
    Page {
        sub: "wrap",
        exit_before: "CMD's exit status (with \\fB\\-\\-detach\\fR: 0 once the job is registered). Otherwise:\n",
        exit: &[
            Own("2", "usage error; CMD did not run"),
            Own(
                "125",
                "the queue is not writable (or another failure before CMD ran); CMD did not run",
            ),
            Code(code::NOT_EXECUTABLE),
            Code(code::NOT_FOUND),
            Own(
                "128+N",
                concat!(
                    "CMD was killed by signal N: cq records it, then dies of the same signal, ",
                    "so the calling shell sees 128+N and a Ctrl\\-C stops its loop. Also when signal N ",
                    "reached cq after CMD ended: cq dies of it within about a second, once the record is ",
                    "appended or, if the append cannot finish by then, printed on standard error with ",
                    "the job left running, for readers to record as lost",
                ),
            ),
        ],
        exit_after: concat!(
            ".PP\nIf the record cannot be written after CMD ran, cq keeps CMD's status and ",
            "prints the error and the record's JSON on standard error.\n",
            ".PP\nThe job's name, its output directory and the working directory must be valid ",
            "UTF\\-8, as a record is JSON (exit 2 for a name or \\fB\\-o\\fR, 125 for the working ",
            "directory); an empty CMD needs \\fB\\-\\-name\\fR.\n",
        ),
        env: &[
            QUEUE_ENV,
            &[
                "CQ_NAME",
                "CQ_OUTPUT_DIR",
                "CQ_APPEND_RETRY",
                "CLAUDE_CODE_SESSION_ID",
            ],
        ],
        sets: &[CHILD_ENV],
        examples: &[
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
        ..PLAIN
    },
    Page {
        sub: "meta",
        env: &[&["CQ_META_FILE"]],
        examples: &[(
            "A job records its result as it goes:",
            "cq wrap \\-n review \\-\\- sh \\-c \\(aqclaude \\-p review > out.md; s=$?; cq meta summary=\\(dq$(head \\-n1 out.md)\\(dq; exit $s\\(aq",
        )],
        ..PLAIN
    },
    Page {
        sub: "push",
        env: &[QUEUE_ENV, &["CQ_OUTPUT_DIR", "CLAUDE_CODE_SESSION_ID"]],
        examples: &[
            (
                "The seed's Phase G block, in one line:",
                "cq push \\-n \\(dq$TASK_NAME\\(dq \\-e \\(dq$CLAUDE_EXIT\\(dq \\-o \\(dq$ORIG_HOME/cc\\-remote\\-output/$TASK_NAME\\(dq",
            ),
            (
                "A job whose start time is known:",
                "cq push \\-n sync \\-\\-status success \\-\\-started\\-at 2026\\-04\\-07T17:51:10Z",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "pull",
        tiers: concat!(
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
        exit: &[
            Own(
                "0",
                "success, also when the reader of the output went away (records not delivered are not marked)",
            ),
            Code(code::ERROR),
            Code(code::USAGE),
            Code(code::TIMEOUT),
        ],
        env: &[QUEUE_ENV, &["NO_COLOR", "COLUMNS"]],
        examples: &[
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
        ..PLAIN
    },
    Page {
        sub: "retry",
        examples: &[(
            "Put every dead letter back, then handle them again:",
            "cq list \\-\\-dead\ncq retry \\-\\-all && cq pull \\-\\-exec ./handle.sh",
        )],
        ..PLAIN
    },
    Page {
        sub: "ack",
        tiers: concat!(
            ".TP\nJSONL, SQLite, Redis\nExactly the given records are marked.\n",
            ".TP\nKafka\nKafka acknowledges by offset: \\fBcq ack\\fR \\fIID\\fR commits the group's offset past ",
            "that record, which acknowledges every earlier record of its partition too (cq names them on ",
            "standard error). It fails while a pull of the group is in progress; run it again.\n",
        ),
        exit: &[
            Own(
                "0",
                "every id is now pulled (acknowledging twice is not an error)",
            ),
            Own(
                "1",
                "an id is in no record (then nothing is marked), or another error",
            ),
            Code(code::USAGE),
        ],
        examples: &[(
            "Read, process, then acknowledge (at\\-least\\-once):",
            "cq list \\-\\-pending \\-\\-json | jq \\-r .id | xargs cq ack",
        )],
        ..PLAIN
    },
    Page {
        sub: "list",
        tiers: LIST_TIERS,
        exit: &[
            Own("0", "success, also when the reader of the output went away"),
            Code(code::ERROR),
            Code(code::USAGE),
        ],
        env: &[QUEUE_ENV, &["NO_COLOR", "COLUMNS"]],
        examples: &[
            (
                "Failed builds of the last day:",
                "cq list \\-\\-name \\(aqbuild\\-*\\(aq \\-\\-status failure \\-\\-since 1d",
            ),
            (
                "The number of records waiting:",
                "cq list \\-\\-pending \\-\\-count",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "wait",
        tiers: LIST_TIERS,
        exit: &[
            Own("0", "every job has a record and all succeeded"),
            Own(
                "1..255",
                concat!(
                    "the exit code of the first job (in the order given) that failed; ",
                    "1 when it has none (a lost job, or a record pushed with \\fB\\-\\-status failure\\fR)",
                ),
            ),
            Code(code::USAGE),
            Own(
                "124",
                "\\fB\\-\\-timeout\\fR reached before every job had a record",
            ),
        ],
        env: &[QUEUE_ENV, &["NO_COLOR", "COLUMNS"]],
        examples: &[
            (
                "Start two jobs, then block until both are done:",
                "cq wrap \\-n build \\-\\- make & cq wrap \\-n lint \\-\\- make lint &\ncq wait build lint \\-\\-timeout 1h && echo all green",
            ),
            (
                "Wait and consume the records:",
                "cq wait deploy \\-\\-pull \\-\\-json",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "stats",
        examples: &[
            (
                "Is the JSONL file still the right tier?",
                "cq stats \\-\\-since 7d",
            ),
            (
                "For a script:",
                "cq stats \\-\\-json | jq \\-r \\(aq.tier + \\(dq: \\(dq + .reason\\(aq",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "migrate",
        tiers: concat!(
            ".TP\nKafka\nRecords keep their ids; pulled state is an offset, so records arriving pulled are ",
            "marked only while they extend the committed prefix of their partition (a pulled record after ",
            "a pending one arrives pending).\n",
        ),
        examples: &[
            (
                "Move up the rubric, as cq stats advises:",
                "cq migrate \\-\\-to sqlite:$HOME/.local/state/cq/queue.db\nexport CQ_QUEUE=sqlite:$HOME/.local/state/cq/queue.db",
            ),
            (
                "Running it again copies nothing twice:",
                "cq migrate \\-\\-to sqlite:$HOME/.local/state/cq/queue.db",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "compact",
        tiers: concat!(
            ".TP\nJSONL, SQLite\nEvery pulled record older than the cut-off goes.\n",
            ".TP\nRedis\nA stream is trimmed from its head (\\fBXTRIM MINID\\fR): pulled records older than ",
            "the cut-off go up to the first record that must stay (a pending or a newer one); ",
            "pulled records after it stay until that one goes.\n",
            ".TP\nKafka\nRemoves nothing: the broker's retention (the topic's \\fBretention.ms\\fR) removes ",
            "records, pulled or not. cq says so and prints the retention the broker reports.\n",
        ),
        examples: &[(
            "Keep a month of pulled history:",
            "cq compact \\-\\-older\\-than 30d",
        )],
        ..PLAIN
    },
    Page {
        sub: "completions",
        env: &[],
        files: false,
        examples: &[
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
        ..PLAIN
    },
    Page {
        sub: "man",
        env: &[],
        files: false,
        examples: &[
            ("Read cq(1):", "cq man | man \\-l \\-"),
            (
                "Install every page:",
                "cq man \\-\\-out ~/.local/share/man/man1 && mv ~/.local/share/man/man1/cq\\-queue.5 ~/.local/share/man/man5/",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "where",
        examples: &[
            ("Which queue this shell uses, and why:", "cq where"),
            (
                "The files of another queue:",
                "cq \\-\\-queue sqlite:jobs.db where",
            ),
        ],
        ..PLAIN
    },
    Page {
        sub: "init",
        more: CLAUDE,
        env: &[&["CLAUDE_CONFIG_DIR", "HOME", "XDG_STATE_HOME"]],
        files: false,
        examples: &[
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
        ..PLAIN
    },
];

/// What running jobs mean per tier, for `list` and `wait`.
const LIST_TIERS: &str = concat!(
    ".TP\nJSONL, SQLite\nA running job's wrapper is checked by pid, start time and boot on its host.\n",
    ".TP\nRedis, Kafka\nA running job is also a lease the wrapper renews every third of ",
    "\\fBCQ_LEASE_TTL\\fR (15 s): a reader on another host that finds it expired writes the lost record, ",
    "once across all readers (Redis: a set-if-absent key; Kafka: the first claim in the order of the ",
    "one-partition topic \\fITOPIC\\fB\\-cq\\-running\\fR). Waiting blocks in \\fBXREAD\\fR or the Kafka ",
    "consumer's poll, waking at least every 5 s to notice expired leases.\n",
    ".TP\nKafka\n\\fBlist\\fR reads without committing; \\fB\\-\\-pending\\fR starts from the group's committed offsets.\n",
);

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

/// What a command that opens a queue keeps on disk.
pub(super) const FILES: &str = concat!(
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
);
