# shellcheck shell=bash
# What only the queue knows, and the command after `cq wrap --`: appended
# by `cq completions bash` (and `cq init bash`) to clap's _cq, which
# completes everything else. Names and ids of running jobs and pending
# records come from the hidden `cq __candidates`.

# The candidates for `cq wait` (names and ids), `cq ack` (ids) and
# `cq list --name` (names) that start with the word being completed.
__cq_candidates() {
    \builtin local __cq_word __cq_rest
    while IFS=$'\t' \builtin read -r __cq_word __cq_rest; do
        if [[ -n ${__cq_word} && ${__cq_word} == "${cur}"* ]]; then
            COMPREPLY+=("${__cq_word}")
        fi
    done < <(__cq_candidates_of "$1" 2>/dev/null)
}

# Runs `cq __candidates WHAT` on the queue the command line names, else
# the one cq would use.
__cq_candidates_of() {
    if [[ ${#__cq_queue[@]} -eq 0 ]] && \builtin declare -F __cq_bin >/dev/null; then
        __cq_bin __candidates "$1"
    else
        \command cq "${__cq_queue[@]}" __candidates "$1"
    fi
}

__cq_complete() {
    \builtin local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    \builtin local __cq_i __cq_sub="" __cq_dashdash=0
    \builtin local -a __cq_queue
    __cq_queue=()
    for ((__cq_i = 1; __cq_i < COMP_CWORD; __cq_i++)); do
        case ${COMP_WORDS[__cq_i]} in
            --queue | -q)
                __cq_queue=(--queue "${COMP_WORDS[__cq_i + 1]}")
                ((__cq_i++))
                ;;
            --queue=*) __cq_queue=("${COMP_WORDS[__cq_i]}") ;;
            --color) ((__cq_i++)) ;;
            --)
                if [[ ${__cq_sub} == wrap ]]; then
                    __cq_dashdash=${__cq_i}
                    break
                fi
                ;;
            -*) ;;
            *) [[ -z ${__cq_sub} ]] && __cq_sub=${COMP_WORDS[__cq_i]} ;;
        esac
    done
    COMPREPLY=()
    if ((__cq_dashdash > 0)); then
        if ((COMP_CWORD == __cq_dashdash + 1)); then
            # The command: what bash would run.
            while IFS= \builtin read -r __cq_i; do
                COMPREPLY+=("${__cq_i}")
            done < <(\builtin compgen -c -- "${cur}" | LC_ALL=C \command sort -u)
        elif \builtin declare -F _command_offset >/dev/null; then
            # Its arguments: its own completion (bash-completion).
            _command_offset $((__cq_dashdash + 1))
        else
            \builtin compopt -o default 2>/dev/null
        fi
        return 0
    fi
    case ${__cq_sub} in
        wait | ack)
            if [[ ${cur} != -* && ${prev} != @(-t|--timeout|--format|-q|--queue|--color) ]]; then
                __cq_candidates "${__cq_sub}"
                return 0
            fi
            ;;
        list)
            if [[ ${prev} == @(-n|--name) ]]; then
                __cq_candidates list
                return 0
            fi
            ;;
    esac
    _cq "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    \builtin complete -F __cq_complete -o nosort -o bashdefault -o default cq
else
    \builtin complete -F __cq_complete -o bashdefault -o default cq
fi
