# cq shell integration for fish: put `cq init fish | source` in
# ~/.config/fish/config.fish. `cq init` prints this file after a function
# __cq_bin (how to run cq) and before cq's completions and the functions
# asked for with --wrap.

# The number of records waiting to be pulled. Cheap enough for a prompt:
# one cq process that reads only the pending tail of the queue.
function __cq_pending --description 'Number of cq records waiting to be pulled'
    set -l __cq_n (__cq_bin list --pending --count 2>/dev/null)
    or set __cq_n 0
    builtin printf '%s\n' $__cq_n
end

# "cq:N " when N records wait, else nothing, for a fish_prompt.
# Keeps $status for whatever the prompt shows after it.
function __cq_prompt --description 'cq:N when N cq records wait'
    set -l __cq_status $status
    set -l __cq_n (__cq_pending)
    if test "$__cq_n" != 0
        builtin printf 'cq:%s ' $__cq_n
    end
    return $__cq_status
end
