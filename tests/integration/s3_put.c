/*
 * s3_put: a test-only driver of pp_store for test_s3.sh.
 *
 *   s3_put [--endpoint URL] [--region R] [--part-size BYTES] [--in-flight N]
 *          [--uring-off] [--pace-ms MS] <store URL> KEY=FILE...
 *
 * Opens the store (its preflight included), puts each FILE's bytes under
 * KEY in order (waiting MS milliseconds between puts while polling the
 * store), then closes it (waiting for every put). Prints one line per put
 * as it is reported, then the counters:
 *   done <key> ok
 *   done <key> error <pp_store_error>
 *   objects=N bytes=N retries=N backend=<name>
 * pp_store_open's failure is one line on stderr, exit 1 (PP_ERR_IO and the
 * like) or 2 (PP_ERR_USAGE). Exit 0 when every put succeeded, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_clock.h"
#include "pp_log.h"
#include "pp_store.h"

struct s3_put_item {
    struct pp_store *store;
    const char *key;
    bool *is_failed;
};

static void s3_put_done(void *arg, enum pp_err err)
{
    struct s3_put_item *item = arg;

    if (err == PP_OK) {
        printf("done %s ok\n", item->key);
    } else {
        printf("done %s error %s\n", item->key, pp_store_error(item->store));
        *item->is_failed = true;
    }
    fflush(stdout);
}

static int s3_put_read(const char *path, struct pp_buf *buf)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (pp_buf_append(buf, chunk, n) != PP_OK) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    struct pp_store_options options;
    struct pp_store *store = NULL;
    struct pp_store_stats stats;
    struct s3_put_item *items;
    char msg[1024] = "";
    long pace_ms = 0;
    bool is_failed = false;
    enum pp_err err;
    int i = 1;

    memset(&options, 0, sizeof options);
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--uring-off") == 0) {
            options.is_uring_off = true;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, "s3_put: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--endpoint") == 0)
            options.endpoint = value;
        else if (strcmp(argv[i], "--region") == 0)
            options.region = value;
        else if (strcmp(argv[i], "--part-size") == 0)
            options.part_size = strtoull(value, NULL, 10);
        else if (strcmp(argv[i], "--in-flight") == 0)
            options.max_in_flight = strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--pace-ms") == 0)
            pace_ms = strtol(value, NULL, 10);
        else {
            fprintf(stderr, "s3_put: unknown option %s\n", argv[i]);
            return 2;
        }
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: s3_put [options] <store URL> KEY=FILE...\n");
        return 2;
    }
    options.url = argv[i++];
    err = pp_store_open(&options, &store, msg, sizeof msg);
    if (err != PP_OK) {
        fprintf(stderr, "%s\n", msg);
        return err == PP_ERR_USAGE ? 2 : 1;
    }
    items = calloc((size_t)argc, sizeof *items);
    if (items == NULL)
        return 1;
    for (; i < argc; i++) {
        char *eq = strrchr(argv[i], '='); /* keys may hold "=" */
        struct pp_buf data;

        if (eq == NULL) {
            fprintf(stderr, "s3_put: %s is not KEY=FILE\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        pp_buf_init(&data);
        if (s3_put_read(eq + 1, &data) != 0) {
            fprintf(stderr, "s3_put: cannot read %s: %s\n", eq + 1, strerror(errno));
            return 1;
        }
        items[i].store = store;
        items[i].key = argv[i];
        items[i].is_failed = &is_failed;
        while ((err = pp_store_put(store, argv[i], &data, s3_put_done, &items[i])) == PP_AGAIN)
            if (pp_store_poll(store, 100, NULL) != PP_OK)
                break;
        if (err != PP_OK) {
            printf("done %s error %s\n", argv[i], pp_err_str(err));
            is_failed = true;
            pp_buf_cleanup(&data);
        }
        for (int64_t end = pp_clock_ms() + pace_ms; pace_ms > 0 && pp_clock_ms() < end;)
            pp_store_poll(store, (int)(end - pp_clock_ms()), NULL);
    }
    while (pp_store_in_flight(store) > 0)
        if (pp_store_poll(store, -1, NULL) != PP_OK)
            break;
    pp_store_get_stats(store, &stats);
    printf("objects=%llu bytes=%llu retries=%llu backend=%s\n", (unsigned long long)stats.objects,
           (unsigned long long)stats.bytes, (unsigned long long)stats.retries,
           pp_store_backend(store));
    pp_store_close(store);
    free(items);
    return is_failed ? 1 : 0;
}
