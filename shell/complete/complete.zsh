# What only the queue knows, and the command after `cq wrap --`: put by
# `cq completions zsh` (and `cq init zsh`) around clap's completion, which
# is __cq_clap here and completes everything else. Names and ids of running
# jobs and pending records come from the hidden `cq __candidates`.
_cq() {
    local __cq_i __cq_sub= __cq_dashdash=0
    local -a __cq_queue
    for (( __cq_i = 2; __cq_i < CURRENT; __cq_i++ )); do
        case ${words[__cq_i]} in
            (--queue|-q) __cq_queue=(--queue "${words[__cq_i+1]}"); (( __cq_i++ )) ;;
            (--queue=*) __cq_queue=("${words[__cq_i]}") ;;
            (--color) (( __cq_i++ )) ;;
            (--) if [[ $__cq_sub == wrap ]]; then __cq_dashdash=$__cq_i; break; fi ;;
            (-*) ;;
            (*) [[ -z $__cq_sub ]] && __cq_sub=${words[__cq_i]} ;;
        esac
    done
    if (( __cq_dashdash )); then
        # The command and its arguments, completed as if typed alone.
        words=("${(@)words[__cq_dashdash+1,-1]}")
        (( CURRENT -= __cq_dashdash ))
        _normal
        return
    fi
    local __cq_prev=${words[CURRENT-1]} __cq_cur=${words[CURRENT]}
    case $__cq_sub in
        (wait|ack)
            if [[ $__cq_cur != -* && $__cq_prev != (-t|--timeout|--format|-q|--queue|--color) ]]; then
                __cq_candidates $__cq_sub
                return
            fi ;;
        (list)
            if [[ $__cq_prev == (-n|--name) ]]; then
                __cq_candidates list
                return
            fi ;;
    esac
    __cq_clap "$@"
}

__cq_candidates() {
    local -a __cq_c
    local __cq_line __cq_out
    if (( ! $#__cq_queue )) && (( $+functions[__cq_bin] )); then
        __cq_out=$(__cq_bin __candidates $1 2>/dev/null)
    else
        __cq_out=$(command cq $__cq_queue __candidates $1 2>/dev/null)
    fi
    for __cq_line in "${(@f)__cq_out}"; do
        [[ -n $__cq_line ]] || continue
        __cq_c+=("${${__cq_line%%$'\t'*}//:/\\:}:${__cq_line#*$'\t'}")
    done
    _describe -t jobs 'job' __cq_c
}
