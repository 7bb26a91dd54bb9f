
use builtin;
use str;

set edit:completion:arg-completer[cq] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cq'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cq'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand wrap 'Run a command and append its completion record when it ends'
            cand push 'Append the record of a job that already finished'
            cand pull 'Print the records not yet pulled, oldest first, and mark them pulled'
            cand ack 'Mark the given records pulled'
            cand retry 'Put dead letters back for the consumer to handle again'
            cand list 'Show records without changing anything'
            cand wait 'Block until every NAME has a record, print those records, and exit with the status of the first that failed'
            cand compact 'Remove pulled records older than a given age'
            cand stats 'Measure the queue''s load and say which tier of the rubric it belongs to'
            cand migrate 'Copy every record to another queue, of any tier'
            cand meta 'Add KEY=VALUE pairs to the record of the job this runs in'
            cand completions 'Print a completion script for a shell'
            cand man 'Print the cq(1) man page, or write every page to a directory'
            cand init 'Print shell integration to eval in an rc file'
            cand where 'Say which queue cq uses, why, and what it keeps beside it'
            cand hook 'Run by the hooks that `cq init claude` sets up, with Claude Code''s hook input on stdin'
            cand __candidates 'Job names and ids for shell completion (run by the completion scripts)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cq;wrap'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -n 'Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]'
            cand --name 'Job name [default: $CQ_NAME, else the basename of CMD; an empty CMD needs one]'
            cand -o 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]'
            cand --output-dir 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]'
            cand -m 'Extra KEY=VALUE stored in the record''s meta object (repeatable)'
            cand --meta 'Extra KEY=VALUE stored in the record''s meta object (repeatable)'
            cand --log 'With --detach: CMD''s stdout and stderr go here, created 0600 in a directory made if missing; a FIFO nobody reads is refused [default: OUTPUT_DIR/NAME.ID.log with -o or CQ_OUTPUT_DIR, else $XDG_STATE_HOME/cq/logs/NAME.ID.log]'
            cand --detached-id 'The detached wrapper''s job id (set by --detach)'
            cand --ready-fd 'Where the detached wrapper says it registered the job (set by --detach)'
            cand -d 'Run CMD in the background, in a session of its own; print the job id once it is registered as running'
            cand --detach 'Run CMD in the background, in a session of its own; print the job id once it is registered as running'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;push'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -n 'Job name'
            cand --name 'Job name'
            cand -e 'The job''s exit code (0 is success, anything else failure)'
            cand --exit-code 'The job''s exit code (0 is success, anything else failure)'
            cand -s 'The job''s status, when there is no exit code'
            cand --status 'The job''s status, when there is no exit code'
            cand -o 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]'
            cand --output-dir 'Where the job''s output lives, valid UTF-8 (as is the working directory) [default: $CQ_OUTPUT_DIR, else the working directory]'
            cand --started-at 'When the job started (RFC 3339); adds started_at and duration_ms'
            cand -m 'Extra KEY=VALUE stored in the record''s meta object (repeatable)'
            cand --meta 'Extra KEY=VALUE stored in the record''s meta object (repeatable)'
            cand --batch 'Read many records from standard input, one per line (see above)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;pull'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -l 'Pull at most N records (with --follow: N in all, then exit 0)'
            cand --limit 'Pull at most N records (with --follow: N in all, then exit 0)'
            cand -x 'Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0'
            cand --exec 'Run CMD (by sh -c) once per record and acknowledge the record only when it exits 0'
            cand -j 'With --exec: run up to N handlers at once'
            cand --jobs 'With --exec: run up to N handlers at once'
            cand --retries 'With --exec: try a failed record N more times before parking it as a dead letter'
            cand --backoff 'With --exec: wait DUR after a failure before the next try, doubled each time (at most 1h)'
            cand --key 'With --exec: records with equal values of this record key (or meta.KEY) are handled one at a time, in order'
            cand -t 'With --wait or --follow: give up after DUR (exit 124)'
            cand --timeout 'With --wait or --follow: give up after DUR (exit 124)'
            cand -g 'Pull as consumer group NAME, independently of other groups (Redis and Kafka)'
            cand --group 'Pull as consumer group NAME, independently of other groups (Redis and Kafka)'
            cand --from 'First replay from POINT: every record from the first completed at or after TIME (RFC 3339, or a duration ago such as 2h), or from the record with this ID, is made pending again (for --group NAME, that group''s)'
            cand --format 'Output format [default: table on a terminal, jsonl otherwise]'
            cand -w 'Block until at least one record is pending, then pull'
            cand --wait 'Block until at least one record is pending, then pull'
            cand -f 'Keep pulling records as they arrive, until interrupted'
            cand --follow 'Keep pulling records as they arrive, until interrupted'
            cand --json 'Short for --format jsonl'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;ack'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;retry'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -a 'Every dead letter'
            cand --all 'Every dead letter'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;list'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -n 'Only jobs whose name matches PATTERN (shell-style * and ?)'
            cand --name 'Only jobs whose name matches PATTERN (shell-style * and ?)'
            cand -s 'Only records with this status'
            cand --status 'Only records with this status'
            cand --since 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)'
            cand -l 'Only the N most recent matching records (still printed oldest first)'
            cand --limit 'Only the N most recent matching records (still printed oldest first)'
            cand --columns 'The table''s columns, comma-separated, in order: name, status, exit, completed, started, duration, output, pulled, id, host, pid, cwd, command, log (e.g. name,status,exit,id); a leading + adds them to the default (+id). Given alone, it means a table in a pipe too (--json still gives JSON lines). On a terminal, long cells lose their middle to fit its width ($COLUMNS, else the terminal''s, else 80) and paths under HOME show as ~; in a pipe every cell is whole'
            cand --format 'Output format [default: table on a terminal, jsonl otherwise]'
            cand -r 'Show running jobs (name, pid, host, start, command) instead of records'
            cand --running 'Show running jobs (name, pid, host, start, command) instead of records'
            cand --dead 'Show the dead letters (records parked after their last retry)'
            cand -f 'Keep printing matching records as they arrive, until interrupted'
            cand --follow 'Keep printing matching records as they arrive, until interrupted'
            cand --pending 'Only records not yet pulled'
            cand --pulled 'Only records already pulled'
            cand -c 'Print only the number of matching records'
            cand --count 'Print only the number of matching records'
            cand --json 'Short for --format jsonl'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;wait'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -t 'Give up after DUR (90s, 10m, 2h): exit 124'
            cand --timeout 'Give up after DUR (90s, 10m, 2h): exit 124'
            cand --format 'Output format [default: table on a terminal, jsonl otherwise]'
            cand -p 'Mark the records printed as pulled'
            cand --pull 'Mark the records printed as pulled'
            cand --new-only 'Wait for a job that has not started yet: no check that something can answer NAME'
            cand --json 'Short for --format jsonl'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;compact'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand --older-than 'Remove pulled records completed more than DUR ago (90s, 10m, 2h, 7d)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;stats'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand --since 'Only records completed since DUR ago (90s, 10m, 2h, 7d) or since TS (RFC 3339)'
            cand --json 'One JSON object instead of the report'
            cand -v 'Every item of the rubric''s checklist, not only the one behind the advice'
            cand --verbose 'Every item of the rubric''s checklist, not only the one behind the advice'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;migrate'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand --to 'The queue to copy to, of any tier (as for --queue)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;meta'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;completions'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;man'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -o 'Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR'
            cand --out 'Write cq.1, one cq-COMMAND.1 per command and cq-queue.5 to DIR'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;init'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -w 'Define a function CMD that runs CMD under `cq wrap` (repeatable)'
            cand --wrap 'Define a function CMD that runs CMD under `cq wrap` (repeatable)'
            cand --wake-for 'With claude: how long an idle session waits to be woken before it waits for its next turn instead [default: 1d]'
            cand --own-only 'With claude: the session hears only jobs started from it, not those that name no session'
            cand --install 'With claude: merge the hooks into ~/.claude/settings.json (keeping everything else; a backup in settings.json.bak) instead of printing them'
            cand --uninstall 'With claude: take cq''s hooks out of the settings file, and nothing else'
            cand --project 'With --install or --uninstall: the project''s .claude/settings.json instead of the user''s'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;where'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;hook'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand --wake-for 'With --wake: give up (exit 0, nothing taken) after DUR, before the hook''s timeout'
            cand --wake 'Wait for the session''s next record (an asyncRewake hook)'
            cand --own-only 'Take only records that name this session, not those that name none'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;__candidates'= {
            cand -q 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --queue 'Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]'
            cand --color 'When to colour tables: auto (a terminal, and NO_COLOR unset), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cq;help'= {
            cand wrap 'Run a command and append its completion record when it ends'
            cand push 'Append the record of a job that already finished'
            cand pull 'Print the records not yet pulled, oldest first, and mark them pulled'
            cand ack 'Mark the given records pulled'
            cand retry 'Put dead letters back for the consumer to handle again'
            cand list 'Show records (or running jobs) without changing anything'
            cand wait 'Block until every NAME has a record; exit with the first failure''s status'
            cand compact 'Remove pulled records older than a given age'
            cand stats 'Measure the queue''s load and say which tier of the rubric it belongs to'
            cand migrate 'Copy every record to another queue, of any tier'
            cand meta 'Add KEY=VALUE to the record of the wrapped job this runs in'
            cand completions 'Print a completion script for a shell'
            cand man 'Print the cq(1) man page, or write every page to a directory'
            cand init 'Print shell integration to eval in an rc file'
            cand where 'Say which queue cq uses, why, and what it keeps beside it'
            cand hook 'Run by Claude Code''s hooks (see cq init claude)'
            cand __candidates 'Print job names and ids for shell completion'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cq;help;wrap'= {
        }
        &'cq;help;push'= {
        }
        &'cq;help;pull'= {
        }
        &'cq;help;ack'= {
        }
        &'cq;help;retry'= {
        }
        &'cq;help;list'= {
        }
        &'cq;help;wait'= {
        }
        &'cq;help;compact'= {
        }
        &'cq;help;stats'= {
        }
        &'cq;help;migrate'= {
        }
        &'cq;help;meta'= {
        }
        &'cq;help;completions'= {
        }
        &'cq;help;man'= {
        }
        &'cq;help;init'= {
        }
        &'cq;help;where'= {
        }
        &'cq;help;hook'= {
        }
        &'cq;help;__candidates'= {
        }
        &'cq;help;help'= {
        }
    ]
    $completions[$command]
}
