/* The floor of `cq wrap -- CMD`: the same durable work in plain C, with
 * none of cq's guarantees beyond it. fork + exec CMD, wait, flock the
 * queue's lock file, append one JSON line with O_APPEND, fdatasync.
 * bench/run compiles it (cc -O2) and times it beside cq and its peers.
 *
 *   floor QUEUE CMD [ARGS]...
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    pid_t pid = fork();
    if (pid == 0) { execvp(argv[2], argv + 2); _exit(127); }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return 125;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char lock[4096], line[8192], at[32];
    snprintf(lock, sizeof lock, "%s.lock", argv[1]);
    int l = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l < 0 || flock(l, LOCK_SH) < 0) return 125;
    int q = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (q < 0) return 125;
    time_t now = time(NULL);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int n = snprintf(line, sizeof line,
        "{\"name\":\"%s\",\"completed_at\":\"%s\",\"output_dir\":\"/\",\"status\":\"%s\",\"pulled\":false,\"exit_code\":%d}\n",
        argv[2], at, code ? "failure" : "success", code);
    if (write(q, line, n) != n || fdatasync(q) < 0) return 125;
    return code;
}
