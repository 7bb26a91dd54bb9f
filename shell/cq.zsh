# cq shell integration for zsh: put `eval "$(cq init zsh)"` in ~/.zshrc,
# after compinit (completions are registered only when compdef exists).
# `cq init` prints this file after a function __cq_bin (how to run cq) and
# before cq's completions and the functions asked for with --wrap.

# The number of records waiting to be pulled. Cheap enough for a prompt:
# one cq process that reads only the pending tail of the queue.
function __cq_pending {
    \builtin emulate -L zsh
    \builtin local __cq_n
    __cq_n=$(__cq_bin list --pending --count 2>/dev/null) || __cq_n=0
    \builtin print -r -- "${__cq_n:-0}"
}

# "cq:N " when N records wait, else nothing, for PROMPT='$(__cq_prompt)%# '
# (with setopt prompt_subst). Keeps $? for whatever the prompt shows after it.
function __cq_prompt {
    \builtin local __cq_status=$?
    \builtin emulate -L zsh
    \builtin local __cq_n
    __cq_n=$(__cq_pending)
    if [[ ${__cq_n} != 0 ]]; then
        \builtin print -rn -- "cq:${__cq_n} "
    fi
    \builtin return ${__cq_status}
}
