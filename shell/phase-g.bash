# shellcheck shell=bash
# cq's drop-in for the seed article's "Phase G: completion-queue append".
#
# Replace the Phase G block of a runner script with:
#
#     source /path/to/phase-g.bash
#
# It reads the block's variables — QUEUE_ENABLE ("true" to append; default
# "true"), ORIG_HOME (default $HOME), TASK_NAME, CLAUDE_EXIT — and appends to
# the block's queue, $ORIG_HOME/cc-remote-output/.completion-queue.jsonl, a
# record with the block's five leading fields (name, completed_at,
# output_dir, status, pulled). With cq on PATH the record is written by
# `cq push`, so it also carries id, exit_code, cwd, host and pid, under cq's
# lock and with fsync. Without cq it falls back to a plain append of the
# five fields (jq when present, else bash's own printf), taking the queue's
# lock when flock(1) exists.
#
# It never fails and never aborts the runner, also under `set -euo
# pipefail`: whatever goes wrong, the source returns 0. It leaves set what
# the block left set, with the same values: QUEUE_ENABLE ("true" unless it
# was set), and when enabled QUEUE (the queue file) and status ("success"
# or "failure").
#
# The same text is in cq itself: eval "$(cq init phase-g)".

__cq_phase_g_json() {
    # A JSON string for $1: backslash, quote and control characters escaped.
    \builtin local s="$1" out="" c i code
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    if [[ $s == *[[:cntrl:]]* ]]; then
        for ((i = 0; i < ${#s}; i++)); do
            c=${s:i:1}
            if [[ $c == [[:cntrl:]] ]]; then
                \builtin printf -v code '%d' "'$c"
                \builtin printf -v c '\\u%04x' "$code"
            fi
            out+=$c
        done
        s=$out
    fi
    \builtin printf '"%s"' "$s"
}

__cq_phase_g() {
    [[ ${QUEUE_ENABLE:-true} == "true" ]] || \builtin return 0
    # Quoted: through \builtin, local's assignments are split like arguments.
    \builtin local home="${ORIG_HOME:-${HOME:-}}"
    \builtin local name="${TASK_NAME:-}" code="${CLAUDE_EXIT:-}"
    \builtin local queue="$home/cc-remote-output/.completion-queue.jsonl"
    \builtin local dir="$home/cc-remote-output/$name"
    \builtin local status=failure numeric=""
    # The block's test is [[ $CLAUDE_EXIT -eq 0 ]]; an exit code that is not
    # a number is taken as a failure here rather than evaluated.
    if [[ $code =~ ^[0-9]+$ ]]; then
        numeric=$((10#$code))
        ((numeric == 0)) && status=success
    fi
    # What the block leaves for later phases of the runner.
    # shellcheck disable=SC2034
    \builtin declare -g QUEUE="$queue" status="$status"

    if \command -v cq >/dev/null 2>&1; then
        \builtin local -a args
        args=(--queue "file:$queue" push -n "$name" -o "$dir")
        if [[ -n $numeric ]] && ((numeric <= 255)); then
            args+=(--exit-code "$numeric")
        else
            args+=(--status "$status")
        fi
        \command cq "${args[@]}" 2>/dev/null && \builtin return 0
    fi

    # Fallback: the block's five fields, as one line, under the queue's lock.
    \builtin local ts line
    TZ=UTC \builtin printf -v ts '%(%Y-%m-%dT%H:%M:%SZ)T' -1
    if \command -v jq >/dev/null 2>&1; then
        line=$(\command jq -cn --arg n "$name" --arg ts "$ts" --arg dir "$dir" --arg s "$status" \
            '{name:$n, completed_at:$ts, output_dir:$dir, status:$s, pulled:false}') || \builtin return 0
    else
        line="{\"name\":$(__cq_phase_g_json "$name"),\"completed_at\":\"$ts\",\"output_dir\":$(__cq_phase_g_json "$dir"),\"status\":\"$status\",\"pulled\":false}"
    fi
    [[ -d ${queue%/*} ]] || (umask 077 && \command mkdir -p "${queue%/*}") 2>/dev/null || \builtin return 0
    # A torn last line (a writer that crashed) must not swallow this record.
    if [[ -s $queue ]] && \command -v tail >/dev/null 2>&1 &&
        [[ -n $(\command tail -c 1 "$queue" 2>/dev/null) ]]; then
        line=$'\n'$line
    fi
    # New files private (records hold secrets), in a subshell for the umask.
    (
        umask 077
        if \command -v flock >/dev/null 2>&1; then
            {
                \command flock -s 9 && \builtin printf '%s\n' "$line" >>"$queue"
            } 9>>"$queue.lock"
        else
            \builtin printf '%s\n' "$line" >>"$queue"
        fi
    )
} 2>/dev/null

: "${QUEUE_ENABLE:=true}"
__cq_phase_g || :
