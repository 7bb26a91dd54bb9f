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
