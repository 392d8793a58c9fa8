/*
 * fuzz_config: one input is a properties file and `--set` arguments, read
 * the way `pinpipe run` reads its configuration: pp_config_load_text(),
 * each --set with pp_config_set_arg(), pp_config_validate(), then what
 * the run builds from a valid config (the sink layout, the store options,
 * the windows, the kafka.* properties, the notices).
 *
 * Input: the file's text up to the first NUL byte; after it, NUL-separated
 * --set arguments.
 *
 * Checked beyond "no crash":
 *  - every error is one non-empty line;
 *  - secrets set before the input (http.auth.token, a kafka.*password
 *    key) never appear in a message or the dump, unless the input itself
 *    holds them;
 *  - the dump of a loaded config loads back into a fresh config, which
 *    dumps the same text (dump escapes what the parser unescapes);
 *  - every window spec formats to text that parses back to the same spec.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pp_arena.h"
#include "pp_config.h"
#include "pp_sink.h"
#include "pp_store.h"
#include "pp_str.h"
#include "pp_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TOKEN "fuzz-token-3c1d9a"
#define FUZZ_PASSWORD "fuzz-password-77e0b4"

/*
 * Whether the input wrote s itself: as is, or through the escapes of a
 * properties file (`passwor\d`, `\u0064`, a line continued with a
 * backslash), which a message naming a key the input spelled may then
 * quote. Escapes are decoded as Properties.load does, so that this only
 * admits what the parser itself produces.
 */
static bool fuzz_input_has(const uint8_t *data, size_t size, const char *s)
{
    uint8_t *plain;
    size_t n = 0;
    bool has;

    if (memmem(data, size, s, strlen(s)) != NULL)
        return true;
    if ((plain = malloc(size + 1)) == NULL)
        abort();
    for (size_t i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c != '\\' || i + 1 == size) {
            plain[n++] = c;
            continue;
        }
        c = data[++i];
        if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < size && data[i + 1] == '\n')
                i++;
            while (i + 1 < size &&
                   (data[i + 1] == ' ' || data[i + 1] == '\t' || data[i + 1] == '\f'))
                i++;
            continue;
        }
        if (c == 'u' && i + 4 < size) {
            int v = 0;
            for (int k = 1; k <= 4 && v >= 0; k++) {
                int d = pp_hex_digit((char)data[i + k]);
                v = d < 0 ? -1 : v * 16 + d;
            }
            if (v >= 0) {
                plain[n++] = v < 0x80 ? (uint8_t)v : 0x80; /* not ASCII: in no secret */
                i += 4;
                continue;
            }
        }
        plain[n++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
    }
    has = memmem(plain, n, s, strlen(s)) != NULL;
    free(plain);
    return has;
}

/* A message: one non-empty line, without the secrets the input did not
 * write itself. */
static void fuzz_check_msg(const uint8_t *data, size_t size, const char *msg)
{
    if (msg[0] == '\0' || strchr(msg, '\n') != NULL)
        abort();
    if ((strstr(msg, FUZZ_TOKEN) && !fuzz_input_has(data, size, FUZZ_TOKEN)) ||
        (strstr(msg, FUZZ_PASSWORD) && !fuzz_input_has(data, size, FUZZ_PASSWORD)))
        abort();
}

static void fuzz_check_dump(const uint8_t *data, size_t size, const struct pp_config *cfg)
{
    struct pp_config *again = pp_config_new();
    struct pp_buf dump, dump2;
    char msg[512];

    pp_buf_init(&dump);
    pp_buf_init(&dump2);
    if (again == NULL || pp_config_dump(cfg, &dump) != PP_OK)
        abort();
    if ((memmem(dump.data, dump.len, FUZZ_TOKEN, strlen(FUZZ_TOKEN)) &&
         !fuzz_input_has(data, size, FUZZ_TOKEN)) ||
        (memmem(dump.data, dump.len, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD)) &&
         !fuzz_input_has(data, size, FUZZ_PASSWORD)))
        abort();
    if (pp_config_load_text(again, "dump", dump.data, dump.len, msg, sizeof msg) != PP_OK)
        abort();
    if (pp_config_dump(again, &dump2) != PP_OK || dump2.len != dump.len ||
        memcmp(dump.data, dump2.data, dump.len) != 0)
        abort();
    pp_buf_cleanup(&dump);
    pp_buf_cleanup(&dump2);
    pp_config_destroy(again);
}

static void fuzz_check_windows(const struct pp_config *cfg)
{
    const struct pp_config_window *specs;
    size_t n;

    specs = pp_config_windows(cfg, &n);
    if (n == 0 || specs[0].kind != PP_CONFIG_WINDOW_ALL)
        abort();
    for (size_t i = 0; i < n; i++) {
        char text[PP_CONFIG_WINDOW_TEXT_MAX];
        struct pp_config_window again;
        size_t len = pp_config_window_format(&specs[i], text, sizeof text);

        if (len >= sizeof text || pp_config_window_parse(text, len, &again, NULL) != PP_OK ||
            again.kind != specs[i].kind || again.size_ms != specs[i].size_ms ||
            again.slide_ms != specs[i].slide_ms)
            abort();
    }
}

/* What pinpipe run builds from a valid config. */
static void fuzz_use(const uint8_t *data, size_t size, const struct pp_config *cfg)
{
    const char *names[PP_TOPIC_COUNT] = {"p.pin", "p.geo", "p.user"};
    struct pp_store_options sopt;
    struct pp_sink_layout layout;
    char msg[512] = "";

    if (pp_sink_layout_init(&layout, cfg, names, msg, sizeof msg) != PP_OK)
        fuzz_check_msg(data, size, msg);
    pp_store_options_from_config(&sopt, cfg);
    fuzz_check_windows(cfg);
    for (size_t i = 0; i < pp_config_kafka_count(cfg); i++) {
        const char *name, *value;

        pp_config_kafka_at(cfg, i, &name, &value);
        if (name == NULL || value == NULL)
            abort();
    }
    for (size_t i = 0; i < pp_config_notice_count(cfg); i++)
        if (pp_config_notice_at(cfg, i) == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t file_len = nul ? (size_t)(nul - data) : size;
    struct pp_config *cfg = pp_config_new();
    char msg[512] = "";
    enum pp_err err;
    char *args;

    if (cfg == NULL)
        abort();
    if (pp_config_set_arg(cfg, "http.auth.token=" FUZZ_TOKEN, msg, sizeof msg) != PP_OK ||
        pp_config_set_arg(cfg, "kafka.sasl.password=" FUZZ_PASSWORD, msg, sizeof msg) != PP_OK)
        abort();
    err =
        pp_config_load_text(cfg, "fuzz.properties", (const char *)data, file_len, msg, sizeof msg);
    /* The --set arguments: NUL-terminated copies (the last one may lack
     * its NUL in the input). */
    if ((args = malloc(size - file_len + 1)) == NULL)
        abort();
    memcpy(args, data + file_len, size - file_len);
    args[size - file_len] = '\0';
    for (size_t pos = 1; err == PP_OK && pos < size - file_len;) {
        const char *arg = args + pos;

        err = pp_config_set_arg(cfg, arg, msg, sizeof msg);
        pos += strlen(arg) + 1;
    }
    free(args);
    if (err == PP_OK) {
        fuzz_check_dump(data, size, cfg);
        err = pp_config_validate(cfg, msg, sizeof msg);
    }
    if (err == PP_OK)
        fuzz_use(data, size, cfg);
    else if (err != PP_ERR_NOMEM)
        fuzz_check_msg(data, size, msg);
    pp_config_destroy(cfg);
    return 0;
}
