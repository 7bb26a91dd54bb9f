# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cq_global_optspecs
    string join \n q/queue= color= h/help V/version
end

function __fish_cq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cq_using_subcommand
    set -l cmd (__fish_cq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cq -n "__fish_cq_needs_command" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_needs_command" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_needs_command" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_needs_command" -f -a "wrap" -d 'Run a command and append its completion record when it ends'
complete -c cq -n "__fish_cq_needs_command" -f -a "push" -d 'Append the record of a job that already finished'
complete -c cq -n "__fish_cq_needs_command" -f -a "pull" -d 'Print the records not yet pulled, oldest first, and mark them pulled'
complete -c cq -n "__fish_cq_needs_command" -f -a "ack" -d 'Mark the given records pulled'
complete -c cq -n "__fish_cq_needs_command" -f -a "retry" -d 'Put dead letters back for the consumer to handle again'
complete -c cq -n "__fish_cq_needs_command" -f -a "list" -d 'Show records without changing anything'
complete -c cq -n "__fish_cq_needs_command" -f -a "wait" -d 'Block until every NAME has a record, print those records, and exit with the status of the first that failed'
complete -c cq -n "__fish_cq_needs_command" -f -a "compact" -d 'Remove pulled records older than a given age'
complete -c cq -n "__fish_cq_needs_command" -f -a "stats" -d 'Measure the queue\'s load and say which tier of the rubric it belongs to'
complete -c cq -n "__fish_cq_needs_command" -f -a "migrate" -d 'Copy every record to another queue, of any tier'
complete -c cq -n "__fish_cq_needs_command" -f -a "meta" -d 'Add KEY=VALUE pairs to the record of the job this runs in'
complete -c cq -n "__fish_cq_needs_command" -f -a "completions" -d 'Print a completion script for a shell'
complete -c cq -n "__fish_cq_needs_command" -f -a "man" -d 'Print the cq(1) man page, or write every page to a directory'
complete -c cq -n "__fish_cq_needs_command" -f -a "init" -d 'Print shell integration to eval in an rc file'
complete -c cq -n "__fish_cq_needs_command" -f -a "where" -d 'Say which queue cq uses, why, and what it keeps beside it'
complete -c cq -n "__fish_cq_needs_command" -f -a "hook" -d 'Run by the hooks that `cq init claude` sets up, with Claude Code\'s hook input on stdin'
complete -c cq -n "__fish_cq_needs_command" -f -a "__candidates" -d 'Job names and ids for shell completion (run by the completion scripts)'
complete -c cq -n "__fish_cq_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cq -n "__fish_cq_using_subcommand wrap" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand wrap" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand wrap" -s n -l name -d 'Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]' -r
complete -c cq -n "__fish_cq_using_subcommand wrap" -s o -l output-dir -d 'Where the job\'s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]' -r -F
complete -c cq -n "__fish_cq_using_subcommand wrap" -s m -l meta -d 'Extra KEY=VALUE stored in the record\'s meta object (repeatable)' -r
complete -c cq -n "__fish_cq_using_subcommand wrap" -l log -d 'With --detach: CMD\'s stdout and stderr go here, created 0600 in a directory made if missing; a FIFO nobody reads is refused [default: OUTPUT_DIR/NAME.ID.log with -o or CQ_OUTPUT_DIR, else $XDG_STATE_HOME/cq/logs/NAME.ID.log]' -r -F
complete -c cq -n "__fish_cq_using_subcommand wrap" -l detached-id -d 'The detached wrapper\'s job id (set by --detach)' -r
complete -c cq -n "__fish_cq_using_subcommand wrap" -l ready-fd -d 'Where the detached wrapper says it registered the job (set by --detach)' -r
complete -c cq -n "__fish_cq_using_subcommand wrap" -s d -l detach -d 'Run CMD in the background, in a session of its own; print the job id once it is registered as running'
complete -c cq -n "__fish_cq_using_subcommand wrap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand wrap" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand push" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand push" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand push" -s n -l name -d 'Job name' -r
complete -c cq -n "__fish_cq_using_subcommand push" -s e -l exit-code -d 'The job\'s exit code (0 is success, anything else failure)' -r
complete -c cq -n "__fish_cq_using_subcommand push" -s s -l status -d 'The job\'s status, when there is no exit code' -r -f -a "success\t'Exit code 0'
failure\t'Any other exit code'"
complete -c cq -n "__fish_cq_using_subcommand push" -s o -l output-dir -d 'Where the job\'s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]' -r -F
complete -c cq -n "__fish_cq_using_subcommand push" -l started-at -d 'When the job started (RFC 3339); adds started_at and duration_ms' -r
complete -c cq -n "__fish_cq_using_subcommand push" -s m -l meta -d 'Extra KEY=VALUE stored in the record\'s meta object (repeatable)' -r
complete -c cq -n "__fish_cq_using_subcommand push" -l batch -d 'Read many records from standard input, one per line (see above)'
complete -c cq -n "__fish_cq_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand push" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand pull" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand pull" -s l -l limit -d 'Pull at most N records (with --follow: N in all, then exit 0)' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -s x -l exec -d 'Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -s j -l jobs -d 'With --exec: run up to N handlers at once' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l retries -d 'With --exec: try a failed record N more times before parking it as a dead letter' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l backoff -d 'With --exec: wait DUR after a failure before the next try, doubled each time (at most 1h)' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l key -d 'With --exec: records with equal values of this record key (or meta.KEY) are handled one at a time, in order' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -s t -l timeout -d 'With --wait or --follow: give up after DUR (exit 124)' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -s g -l group -d 'Pull as consumer group NAME, independently of other groups (Redis and Kafka)' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l from -d 'First replay from POINT: every record from the first completed at or after TIME (RFC 3339, or a duration ago such as 2h), or from the record with this ID, is made pending again (for --group NAME, that group\'s)' -r
complete -c cq -n "__fish_cq_using_subcommand pull" -l format -d 'Output format [default: table on a terminal, jsonl otherwise]' -r -f -a "table\t'Aligned columns for people'
jsonl\t'The record lines as stored, one per line'
brief\t'One plain sentence per record (name, status, exit code, when, duration, output directory): for agent sessions and notifications'"
complete -c cq -n "__fish_cq_using_subcommand pull" -s w -l wait -d 'Block until at least one record is pending, then pull'
complete -c cq -n "__fish_cq_using_subcommand pull" -s f -l follow -d 'Keep pulling records as they arrive, until interrupted'
complete -c cq -n "__fish_cq_using_subcommand pull" -l json -d 'Short for --format jsonl'
complete -c cq -n "__fish_cq_using_subcommand pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand pull" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand ack" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand ack" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand ack" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand ack" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand retry" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand retry" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand retry" -s a -l all -d 'Every dead letter'
complete -c cq -n "__fish_cq_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand retry" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand list" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand list" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand list" -s n -l name -d 'Only jobs whose name matches PATTERN (shell-style * and ?)' -r
complete -c cq -n "__fish_cq_using_subcommand list" -s s -l status -d 'Only records with this status' -r -f -a "success\t'Exit code 0'
failure\t'Any other exit code'"
complete -c cq -n "__fish_cq_using_subcommand list" -l since -d 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)' -r
complete -c cq -n "__fish_cq_using_subcommand list" -s l -l limit -d 'Only the N most recent matching records (still printed oldest first)' -r
complete -c cq -n "__fish_cq_using_subcommand list" -l columns -d 'The table\'s columns, comma-separated, in order: name, status, exit, completed, started, duration, output, pulled, id, host, pid, cwd, command, log (e.g. name,status,exit,id); a leading + adds them to the default (+id). Given alone, it means a table in a pipe too (--json still gives JSON lines). On a terminal, long cells lose their middle to fit its width ($COLUMNS, else the terminal\'s, else 80) and paths under HOME show as ~; in a pipe every cell is whole' -r
complete -c cq -n "__fish_cq_using_subcommand list" -l format -d 'Output format [default: table on a terminal, jsonl otherwise]' -r -f -a "table\t'Aligned columns for people'
jsonl\t'The record lines as stored, one per line'
brief\t'One plain sentence per record (name, status, exit code, when, duration, output directory): for agent sessions and notifications'"
complete -c cq -n "__fish_cq_using_subcommand list" -s r -l running -d 'Show running jobs (name, pid, host, start, command) instead of records'
complete -c cq -n "__fish_cq_using_subcommand list" -l dead -d 'Show the dead letters (records parked after their last retry)'
complete -c cq -n "__fish_cq_using_subcommand list" -s f -l follow -d 'Keep printing matching records as they arrive, until interrupted'
complete -c cq -n "__fish_cq_using_subcommand list" -l pending -d 'Only records not yet pulled'
complete -c cq -n "__fish_cq_using_subcommand list" -l pulled -d 'Only records already pulled'
complete -c cq -n "__fish_cq_using_subcommand list" -s c -l count -d 'Print only the number of matching records'
complete -c cq -n "__fish_cq_using_subcommand list" -l json -d 'Short for --format jsonl'
complete -c cq -n "__fish_cq_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand list" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand wait" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand wait" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand wait" -s t -l timeout -d 'Give up after DUR (90s, 10m, 2h): exit 124' -r
complete -c cq -n "__fish_cq_using_subcommand wait" -l format -d 'Output format [default: table on a terminal, jsonl otherwise]' -r -f -a "table\t'Aligned columns for people'
jsonl\t'The record lines as stored, one per line'
brief\t'One plain sentence per record (name, status, exit code, when, duration, output directory): for agent sessions and notifications'"
complete -c cq -n "__fish_cq_using_subcommand wait" -s p -l pull -d 'Mark the records printed as pulled'
complete -c cq -n "__fish_cq_using_subcommand wait" -l new-only -d 'Wait for a job that has not started yet: no check that something can answer NAME'
complete -c cq -n "__fish_cq_using_subcommand wait" -l json -d 'Short for --format jsonl'
complete -c cq -n "__fish_cq_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand wait" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand compact" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand compact" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand compact" -l older-than -d 'Remove pulled records completed more than DUR ago (90s, 10m, 2h, 7d)' -r
complete -c cq -n "__fish_cq_using_subcommand compact" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand compact" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand stats" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand stats" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand stats" -l since -d 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)' -r
complete -c cq -n "__fish_cq_using_subcommand stats" -l json -d 'One JSON object instead of the report'
complete -c cq -n "__fish_cq_using_subcommand stats" -s v -l verbose -d 'Every item of the rubric\'s checklist, not only the one behind the advice'
complete -c cq -n "__fish_cq_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand stats" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand migrate" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand migrate" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand migrate" -l to -d 'The queue to copy to, of any tier (as for --queue)' -r
complete -c cq -n "__fish_cq_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand meta" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand meta" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand meta" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand meta" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand completions" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand completions" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand completions" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand man" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand man" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand man" -s o -l out -d 'Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR' -r -F
complete -c cq -n "__fish_cq_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand man" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand init" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand init" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand init" -s w -l wrap -d 'Define a function CMD that runs CMD under `cq wrap` (repeatable)' -r
complete -c cq -n "__fish_cq_using_subcommand init" -l wake-for -d 'With claude: how long an idle session waits to be woken before it waits for its next turn instead [default: 1d]' -r
complete -c cq -n "__fish_cq_using_subcommand init" -l own-only -d 'With claude: the session hears only jobs started from it, not those that name no session'
complete -c cq -n "__fish_cq_using_subcommand init" -l install -d 'With claude: merge the hooks into ~/.claude/settings.json (keeping everything else; a backup in settings.json.bak) instead of printing them'
complete -c cq -n "__fish_cq_using_subcommand init" -l uninstall -d 'With claude: take cq\'s hooks out of the settings file, and nothing else'
complete -c cq -n "__fish_cq_using_subcommand init" -l project -d 'With --install or --uninstall: the project\'s .claude/settings.json instead of the user\'s'
complete -c cq -n "__fish_cq_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand init" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand where" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand where" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand where" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand where" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand hook" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand hook" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand hook" -l wake-for -d 'With --wake: give up (exit 0, nothing taken) after DUR, before the hook\'s timeout' -r
complete -c cq -n "__fish_cq_using_subcommand hook" -l wake -d 'Wait for the session\'s next record (an asyncRewake hook)'
complete -c cq -n "__fish_cq_using_subcommand hook" -l own-only -d 'Take only records that name this session, not those that name none'
complete -c cq -n "__fish_cq_using_subcommand hook" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand hook" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand __candidates" -s q -l queue -d 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]' -r
complete -c cq -n "__fish_cq_using_subcommand __candidates" -l color -d 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Colour when printing a table to a terminal and NO_COLOR is unset'
always\t'Always colour tables'
never\t'Never colour'"
complete -c cq -n "__fish_cq_using_subcommand __candidates" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cq -n "__fish_cq_using_subcommand __candidates" -s V -l version -d 'Print version'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "wrap" -d 'Run a command and append its completion record when it ends'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "push" -d 'Append the record of a job that already finished'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "pull" -d 'Print the records not yet pulled, oldest first, and mark them pulled'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "ack" -d 'Mark the given records pulled'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "retry" -d 'Put dead letters back for the consumer to handle again'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "list" -d 'Show records (or running jobs) without changing anything'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "wait" -d 'Block until every NAME has a record; exit with the first failure\'s status'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "compact" -d 'Remove pulled records older than a given age'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "stats" -d 'Measure the queue\'s load and say which tier of the rubric it belongs to'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "migrate" -d 'Copy every record to another queue, of any tier'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "meta" -d 'Add KEY=VALUE to the record of the wrapped job this runs in'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "completions" -d 'Print a completion script for a shell'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "man" -d 'Print the cq(1) man page, or write every page to a directory'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "init" -d 'Print shell integration to eval in an rc file'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "where" -d 'Say which queue cq uses, why, and what it keeps beside it'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "hook" -d 'Run by Claude Code\'s hooks (see cq init claude)'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "__candidates" -d 'Print job names and ids for shell completion'
complete -c cq -n "__fish_cq_using_subcommand help; and not __fish_seen_subcommand_from wrap push pull ack retry list wait compact stats migrate meta completions man init where hook __candidates help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

# What only the queue knows, and the command after `cq wrap --`: appended
# by `cq completions fish` (and `cq init fish`) to clap's completions,
# which complete everything else. Names and ids of running jobs and
# pending records come from the hidden `cq __candidates`.

# `cq __candidates WHAT` on the queue the command line names, else the
# one cq would use: a candidate a line, a tab before its description.
function __cq_candidates --argument-names what
    set -l tokens (commandline -opc)
    set -l queue
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case --queue -q
                set -l next (math $i + 1)
                set queue --queue $tokens[$next]
            case '--queue=*'
                set queue $tokens[$i]
        end
    end
    if test (count $queue) -eq 0; and functions -q __cq_bin
        __cq_bin __candidates $what 2>/dev/null
    else
        command cq $queue __candidates $what 2>/dev/null
    end
end

# Whether the command line has reached `cq wrap ... --`.
function __cq_wrapping
    __fish_cq_using_subcommand wrap; and contains -- -- (commandline -opc)
end

# The command after `cq wrap --`, and its own arguments: completed as if
# typed alone.
function __cq_wrapped
    set -l tokens (commandline -opc)
    set -l at (contains -i -- -- $tokens)
    set -l rest $tokens[(math $at + 1)..-1]
    if test (count $rest) -eq 0
        complete -C (commandline -ct)
    else
        complete -C (string join -- ' ' (string escape -- $rest) (commandline -ct))
    end
end

complete -c cq -n "__fish_cq_using_subcommand wait; and not __cq_wrapping" -f -a "(__cq_candidates wait)"
complete -c cq -n "__fish_cq_using_subcommand ack" -f -a "(__cq_candidates ack)"
complete -c cq -n "__fish_cq_using_subcommand list" -s n -l name -x -a "(__cq_candidates list)"
complete -c cq -n __cq_wrapping -f -a "(__cq_wrapped)"
