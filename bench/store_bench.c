/*
 * store_bench: how fast pp_store writes durable objects to a local
 * directory, through io_uring and through plain system calls.
 *
 *   store_bench --dir DIR [--total-mib 2048] [--object-kib 1024]
 *               [--backend uring|syscalls] [--in-flight 16] [--runs 3]
 *
 * Each run writes total-mib MiB as objects of object-kib KiB under
 * DIR/run-<n>/ (spread over 8 directories, as partitions would be), each
 * object fsynced, renamed and its directory fsynced (pp_store's contract),
 * and prints MB/s and objects/s from the first put to the last callback.
 * The objects are removed between runs (outside the timing). Each object
 * is copied into its own buffer before the put (the store takes
 * ownership, as from the sink); that copy is inside the timing.
 *
 * A benchmark, not a test: see docs/store.md for the figures.
 */
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_store.h"

struct bench {
    uint64_t done;
    uint64_t failed;
};

static void bench_on_done(void *arg, enum pp_err err)
{
    struct bench *bench = arg;

    bench->done++;
    if (err != PP_OK)
        bench->failed++;
}

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void bench_usage(void)
{
    fprintf(stderr, "usage: store_bench --dir DIR [--total-mib N] [--object-kib N] "
                    "[--backend uring|syscalls] [--in-flight N] [--runs N]\n");
    exit(2);
}

static long bench_parse(const char *text)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);

    if (end == text || *end != '\0' || value <= 0)
        bench_usage();
    return value;
}

/* One run: returns 0, or 1 when a put failed. */
static int bench_run(const char *url, bool is_uring_off, size_t in_flight, uint64_t n_objects,
                     size_t object_len, const char *pattern, double *seconds)
{
    struct pp_store_options options = {url, is_uring_off, in_flight};
    struct pp_store *store = NULL;
    struct bench bench = {0, 0};
    char msg[512];
    char key[64];
    uint64_t i;
    double start;

    if (pp_store_open(&options, &store, msg, sizeof msg) != PP_OK) {
        fprintf(stderr, "store_bench: %s\n", msg);
        return 1;
    }
    start = bench_now();
    for (i = 0; i < n_objects; i++) {
        struct pp_buf data;
        enum pp_err err;

        pp_buf_init(&data);
        if (pp_buf_append(&data, pattern, object_len) != PP_OK) {
            fprintf(stderr, "store_bench: out of memory\n");
            return 1;
        }
        snprintf(key, sizeof key, "part=%d/obj-%010llu.json", (int)(i % 8),
                 (unsigned long long)i);
        while ((err = pp_store_put(store, key, &data, bench_on_done, &bench)) == PP_AGAIN)
            pp_store_poll(store, -1, NULL);
        if (err != PP_OK) {
            fprintf(stderr, "store_bench: put %s: %s\n", key, pp_err_str(err));
            return 1;
        }
    }
    while (pp_store_in_flight(store) > 0)
        pp_store_poll(store, -1, NULL);
    *seconds = bench_now() - start;
    if (bench.failed > 0)
        fprintf(stderr, "store_bench: %llu puts failed, the last: %s\n",
                (unsigned long long)bench.failed, pp_store_error(store));
    pp_store_close(store);
    return bench.failed > 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long total_mib = 2048;
    long object_kib = 1024;
    long in_flight = 16;
    long runs = 3;
    bool is_uring_off = false;
    size_t object_len;
    uint64_t n_objects;
    char *pattern;
    char url[4096];
    long run;
    int i;

    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            bench_usage();
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (strcmp(argv[i], "--total-mib") == 0)
            total_mib = bench_parse(argv[++i]);
        else if (strcmp(argv[i], "--object-kib") == 0)
            object_kib = bench_parse(argv[++i]);
        else if (strcmp(argv[i], "--in-flight") == 0)
            in_flight = bench_parse(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = bench_parse(argv[++i]);
        else if (strcmp(argv[i], "--backend") == 0) {
            i++;
            if (strcmp(argv[i], "uring") == 0)
                is_uring_off = false;
            else if (strcmp(argv[i], "syscalls") == 0)
                is_uring_off = true;
            else
                bench_usage();
        } else
            bench_usage();
    }
    if (dir == NULL)
        bench_usage();
    object_len = (size_t)object_kib * 1024;
    n_objects = (uint64_t)total_mib * 1024 / (uint64_t)object_kib;
    pattern = malloc(object_len);
    if (pattern == NULL)
        return 1;
    for (i = 0; (size_t)i < object_len; i++)
        pattern[i] = (char)('a' + (i * 7 + i / 13) % 26);
    printf("backend\tobject_kib\tobjects\tin_flight\tseconds\tMB/s\tobjects/s\n");
    for (run = 0; run < runs; run++) {
        double seconds = 0;

        snprintf(url, sizeof url, "%s/run-%ld", dir, run);
        if (bench_run(url, is_uring_off, (size_t)in_flight, n_objects, object_len, pattern,
                      &seconds) != 0)
            return 1;
        printf("%s\t%ld\t%llu\t%ld\t%.2f\t%.1f\t%.0f\n", is_uring_off ? "syscalls" : "io_uring",
               object_kib, (unsigned long long)n_objects, in_flight, seconds,
               (double)n_objects * (double)object_len / 1e6 / seconds,
               (double)n_objects / seconds);
        fflush(stdout);
        nftw(url, bench_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(pattern);
    return 0;
}
