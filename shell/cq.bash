# shellcheck shell=bash
# cq shell integration for bash: put `eval "$(cq init bash)"` in ~/.bashrc.
# `cq init` prints this file after a function __cq_bin (how to run cq) and
# before cq's completions and the functions asked for with --wrap.

# The number of records waiting to be pulled. Cheap enough for a prompt:
# one cq process that reads only the pending tail of the queue.
__cq_pending() {
    \builtin local __cq_n
    __cq_n=$(__cq_bin list --pending --count 2>/dev/null) || __cq_n=0
    \builtin printf '%s\n' "${__cq_n:-0}"
}

# "cq:N " when N records wait, else nothing, for PS1='$(__cq_prompt)\$ '.
# Keeps $? for whatever the prompt shows after it.
__cq_prompt() {
    \builtin local __cq_status=$? __cq_n
    __cq_n=$(__cq_pending)
    if [[ ${__cq_n} != 0 ]]; then
        \builtin printf 'cq:%s ' "${__cq_n}"
    fi
    \builtin return "${__cq_status}"
}
