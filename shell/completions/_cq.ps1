
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cq' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cq'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'cq' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('wrap', 'wrap', [CompletionResultType]::ParameterValue, 'Run a command and append its completion record when it ends')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Append the record of a job that already finished')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Print the records not yet pulled, oldest first, and mark them pulled')
            [CompletionResult]::new('ack', 'ack', [CompletionResultType]::ParameterValue, 'Mark the given records pulled')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Put dead letters back for the consumer to handle again')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show records without changing anything')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Block until every NAME has a record, print those records, and exit with the status of the first that failed')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Remove pulled records older than a given age')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Measure the queue''s load and say which tier of the rubric it belongs to')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every record to another queue, of any tier')
            [CompletionResult]::new('meta', 'meta', [CompletionResultType]::ParameterValue, 'Add KEY=VALUE pairs to the record of the job this runs in')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script for a shell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the cq(1) man page, or write every page to a directory')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print shell integration to eval in an rc file')
            [CompletionResult]::new('where', 'where', [CompletionResultType]::ParameterValue, 'Say which queue cq uses, why, and what it keeps beside it')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Run by the hooks that `cq init claude` sets up, with Claude Code''s hook input on stdin')
            [CompletionResult]::new('__candidates', '__candidates', [CompletionResultType]::ParameterValue, 'Job names and ids for shell completion (run by the completion scripts)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cq;wrap' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Extra KEY=VALUE stored in the record''s meta object (repeatable)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Extra KEY=VALUE stored in the record''s meta object (repeatable)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'With --detach: CMD''s stdout and stderr go here, created 0600 in a directory made if missing; a FIFO nobody reads is refused [default: OUTPUT_DIR/NAME.ID.log with -o or CQ_OUTPUT_DIR, else $XDG_STATE_HOME/cq/logs/NAME.ID.log]')
            [CompletionResult]::new('--detached-id', '--detached-id', [CompletionResultType]::ParameterName, 'The detached wrapper''s job id (set by --detach)')
            [CompletionResult]::new('--ready-fd', '--ready-fd', [CompletionResultType]::ParameterName, 'Where the detached wrapper says it registered the job (set by --detach)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Run CMD in the background, in a session of its own; print the job id once it is registered as running')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Run CMD in the background, in a session of its own; print the job id once it is registered as running')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;push' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Job name')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Job name')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'The job''s exit code (0 is success, anything else failure)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'The job''s exit code (0 is success, anything else failure)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The job''s status, when there is no exit code')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'The job''s status, when there is no exit code')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]')
            [CompletionResult]::new('--started-at', '--started-at', [CompletionResultType]::ParameterName, 'When the job started (RFC 3339); adds started_at and duration_ms')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Extra KEY=VALUE stored in the record''s meta object (repeatable)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Extra KEY=VALUE stored in the record''s meta object (repeatable)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Read many records from standard input, one per line (see above)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;pull' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Pull at most N records (with --follow: N in all, then exit 0)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Pull at most N records (with --follow: N in all, then exit 0)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'With --exec: run up to N handlers at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'With --exec: run up to N handlers at once')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'With --exec: try a failed record N more times before parking it as a dead letter')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'With --exec: wait DUR after a failure before the next try, doubled each time (at most 1h)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'With --exec: records with equal values of this record key (or meta.KEY) are handled one at a time, in order')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'With --wait or --follow: give up after DUR (exit 124)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'With --wait or --follow: give up after DUR (exit 124)')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Pull as consumer group NAME, independently of other groups (Redis and Kafka)')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Pull as consumer group NAME, independently of other groups (Redis and Kafka)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'First replay from POINT: every record from the first completed at or after TIME (RFC 3339, or a duration ago such as 2h), or from the record with this ID, is made pending again (for --group NAME, that group''s)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl otherwise]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Block until at least one record is pending, then pull')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Block until at least one record is pending, then pull')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep pulling records as they arrive, until interrupted')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep pulling records as they arrive, until interrupted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format jsonl')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;ack' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;retry' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Every dead letter')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every dead letter')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;list' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Only jobs whose name matches PATTERN (shell-style * and ?)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Only jobs whose name matches PATTERN (shell-style * and ?)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Only records with this status')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only records with this status')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Only the N most recent matching records (still printed oldest first)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Only the N most recent matching records (still printed oldest first)')
            [CompletionResult]::new('--columns', '--columns', [CompletionResultType]::ParameterName, 'The table''s columns, comma-separated, in order: name, status, exit, completed, started, duration, output, pulled, id, host, pid, cwd, command, log (e.g. name,status,exit,id); a leading + adds them to the default (+id). Given alone, it means a table in a pipe too (--json still gives JSON lines). On a terminal, long cells lose their middle to fit its width ($COLUMNS, else the terminal''s, else 80) and paths under HOME show as ~; in a pipe every cell is whole')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl otherwise]')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Show running jobs (name, pid, host, start, command) instead of records')
            [CompletionResult]::new('--running', '--running', [CompletionResultType]::ParameterName, 'Show running jobs (name, pid, host, start, command) instead of records')
            [CompletionResult]::new('--dead', '--dead', [CompletionResultType]::ParameterName, 'Show the dead letters (records parked after their last retry)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing matching records as they arrive, until interrupted')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing matching records as they arrive, until interrupted')
            [CompletionResult]::new('--pending', '--pending', [CompletionResultType]::ParameterName, 'Only records not yet pulled')
            [CompletionResult]::new('--pulled', '--pulled', [CompletionResultType]::ParameterName, 'Only records already pulled')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Print only the number of matching records')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Print only the number of matching records')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format jsonl')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;wait' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Give up after DUR (90s, 10m, 2h): exit 124')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after DUR (90s, 10m, 2h): exit 124')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl otherwise]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Mark the records printed as pulled')
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'Mark the records printed as pulled')
            [CompletionResult]::new('--new-only', '--new-only', [CompletionResultType]::ParameterName, 'Wait for a job that has not started yet: no check that something can answer NAME')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --format jsonl')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;compact' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Remove pulled records completed more than DUR ago (90s, 10m, 2h, 7d)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;stats' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object instead of the report')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Every item of the rubric''s checklist, not only the one behind the advice')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Every item of the rubric''s checklist, not only the one behind the advice')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;migrate' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The queue to copy to, of any tier (as for --queue)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;meta' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;completions' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;man' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;init' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Define a function CMD that runs CMD under `cq wrap` (repeatable)')
            [CompletionResult]::new('--wrap', '--wrap', [CompletionResultType]::ParameterName, 'Define a function CMD that runs CMD under `cq wrap` (repeatable)')
            [CompletionResult]::new('--wake-for', '--wake-for', [CompletionResultType]::ParameterName, 'With claude: how long an idle session waits to be woken before it waits for its next turn instead [default: 1d]')
            [CompletionResult]::new('--own-only', '--own-only', [CompletionResultType]::ParameterName, 'With claude: the session hears only jobs started from it, not those that name no session')
            [CompletionResult]::new('--install', '--install', [CompletionResultType]::ParameterName, 'With claude: merge the hooks into ~/.claude/settings.json (keeping everything else; a backup in settings.json.bak) instead of printing them')
            [CompletionResult]::new('--uninstall', '--uninstall', [CompletionResultType]::ParameterName, 'With claude: take cq''s hooks out of the settings file, and nothing else')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'With --install or --uninstall: the project''s .claude/settings.json instead of the user''s')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;where' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;hook' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('--wake-for', '--wake-for', [CompletionResultType]::ParameterName, 'With --wake: give up (exit 0, nothing taken) after DUR, before the hook''s timeout')
            [CompletionResult]::new('--wake', '--wake', [CompletionResultType]::ParameterName, 'Wait for the session''s next record (an asyncRewake hook)')
            [CompletionResult]::new('--own-only', '--own-only', [CompletionResultType]::ParameterName, 'Take only records that name this session, not those that name none')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;__candidates' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'cq;help' {
            [CompletionResult]::new('wrap', 'wrap', [CompletionResultType]::ParameterValue, 'Run a command and append its completion record when it ends')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Append the record of a job that already finished')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Print the records not yet pulled, oldest first, and mark them pulled')
            [CompletionResult]::new('ack', 'ack', [CompletionResultType]::ParameterValue, 'Mark the given records pulled')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Put dead letters back for the consumer to handle again')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show records (or running jobs) without changing anything')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Block until every NAME has a record; exit with the first failure''s status')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Remove pulled records older than a given age')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Measure the queue''s load and say which tier of the rubric it belongs to')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every record to another queue, of any tier')
            [CompletionResult]::new('meta', 'meta', [CompletionResultType]::ParameterValue, 'Add KEY=VALUE to the record of the wrapped job this runs in')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script for a shell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the cq(1) man page, or write every page to a directory')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print shell integration to eval in an rc file')
            [CompletionResult]::new('where', 'where', [CompletionResultType]::ParameterValue, 'Say which queue cq uses, why, and what it keeps beside it')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Run by Claude Code''s hooks (see cq init claude)')
            [CompletionResult]::new('__candidates', '__candidates', [CompletionResultType]::ParameterValue, 'Print job names and ids for shell completion')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cq;help;wrap' {
            break
        }
        'cq;help;push' {
            break
        }
        'cq;help;pull' {
            break
        }
        'cq;help;ack' {
            break
        }
        'cq;help;retry' {
            break
        }
        'cq;help;list' {
            break
        }
        'cq;help;wait' {
            break
        }
        'cq;help;compact' {
            break
        }
        'cq;help;stats' {
            break
        }
        'cq;help;migrate' {
            break
        }
        'cq;help;meta' {
            break
        }
        'cq;help;completions' {
            break
        }
        'cq;help;man' {
            break
        }
        'cq;help;init' {
            break
        }
        'cq;help;where' {
            break
        }
        'cq;help;hook' {
            break
        }
        'cq;help;__candidates' {
            break
        }
        'cq;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
