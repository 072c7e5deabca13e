/*
 * The "application" of the distroless tests, demo and benchmark: a static
 * program (gcc -static, so the rootfs needs no libc) that reports what the app
 * would see after the agent's execve, as one JSON object on stdout:
 *
 *   pid, ppid, uid, gid, cwd, argv, environ (in order), fds (open descriptors),
 *   pids (every process visible in /proc), has_sh (whether /bin/sh exists),
 *   root_writable (whether it can create a file in /)
 *
 * Strings are written as JSON strings; bytes >= 0x80 pass through unchanged, so
 * UTF-8 values arrive as themselves. With PROBE_WAIT=1 in its environment it
 * then waits for SIGTERM/SIGINT and exits 7 (signal tests).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

extern char **environ;

static void json_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
            else putchar(*p);
        }
    }
    putchar('"');
}

static void json_numbers_in_dir(const char *dir, int skip_fd) {
    putchar('[');
    DIR *d = opendir(dir);
    int first = 1;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char *end;
            long n = strtol(e->d_name, &end, 10);
            if (*e->d_name == '\0' || *end != '\0') continue;
            if (skip_fd && n == dirfd(d)) continue; /* the descriptor of this listing */
            printf(first ? "%ld" : ",%ld", n);
            first = 0;
        }
        closedir(d);
    }
    putchar(']');
}

static volatile sig_atomic_t got_signal = 0;
static void on_signal(int sig) { got_signal = sig; }

int main(int argc, char **argv) {
    const char *wait = getenv("PROBE_WAIT");
    int waiting = wait && strcmp(wait, "1") == 0;
    if (waiting) {
        /* Before the report: once it is read, a signal must find the handler (PID 1
         * of a PID namespace gets only the signals it has a handler for). */
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
    int fd = open("/.probe-write-test", O_WRONLY | O_CREAT | O_EXCL, 0600);
    int root_writable = fd >= 0;
    if (fd >= 0) { close(fd); unlink("/.probe-write-test"); }

    printf("{\"pid\":%d,\"ppid\":%d,\"uid\":%d,\"gid\":%d,\"cwd\":", (int)getpid(), (int)getppid(),
           (int)getuid(), (int)getgid());
    json_string(cwd);
    fputs(",\"argv\":[", stdout);
    for (int i = 0; i < argc; i++) {
        if (i) putchar(',');
        json_string(argv[i]);
    }
    fputs("],\"environ\":[", stdout);
    for (char **e = environ; *e; e++) {
        if (e != environ) putchar(',');
        json_string(*e);
    }
    fputs("],\"fds\":", stdout);
    json_numbers_in_dir("/proc/self/fd", 1);
    fputs(",\"pids\":", stdout);
    json_numbers_in_dir("/proc", 0);
    printf(",\"has_sh\":%s,\"root_writable\":%s}\n", access("/bin/sh", F_OK) == 0 ? "true" : "false",
           root_writable ? "true" : "false");
    fflush(stdout);

    if (waiting) {
        while (!got_signal) pause();
        printf("{\"signal\":%d}\n", (int)got_signal);
        return 7;
    }
    return 0;
}
