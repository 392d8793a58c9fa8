/*
 * awscred_get: a test-only driver of pp_awscred for test_awscred.sh.
 *
 *   awscred_get [OFFSET...]
 *
 * Makes one provider and calls pp_awscred_get at time(NULL) + OFFSET for
 * each OFFSET in turn (0 when none is given), so a test can step through
 * an instance role's expiry without waiting for it. Prints one line per
 * call on stdout:
 *   +OFFSET source=<source name> key=<access key id> token=<yes|no>
 *   +OFFSET error=<pp_err_str> <message>
 * and logs (pp_log, stderr) where the credentials came from. Never prints
 * the secret or the token: the test checks that. Exit 0 when every call
 * succeeded, 1 otherwise, 2 on a bad argument.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pp_awscred.h"
#include "pp_log.h"

int main(int argc, char **argv)
{
    struct pp_awscred *cred;
    int64_t t0 = (int64_t)time(NULL);
    int n_offsets = argc > 1 ? argc - 1 : 1;
    int rc = 0;

    if (pp_awscred_new(&cred) != PP_OK) {
        fprintf(stderr, "awscred_get: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n_offsets; i++) {
        struct pp_sigv4_creds creds;
        char msg[512];
        char *end = NULL;
        long long offset = argc > 1 ? strtoll(argv[i + 1], &end, 10) : 0;
        enum pp_err err;

        if (argc > 1 && (end == argv[i + 1] || *end != '\0')) {
            fprintf(stderr, "awscred_get: %s is not a number of seconds\n", argv[i + 1]);
            rc = 2;
            break;
        }
        err = pp_awscred_get(cred, t0 + offset, &creds, msg, sizeof msg);
        if (err != PP_OK) {
            printf("+%lld error=%s %s\n", offset, pp_err_str(err), msg);
            rc = 1;
            continue;
        }
        pp_log_info("AWS credentials from %s", pp_awscred_describe(cred));
        printf("+%lld source=%s key=%s token=%s\n", offset,
               pp_awscred_source_name(pp_awscred_source(cred)), creds.access_key_id,
               creds.session_token != NULL ? "yes" : "no");
    }
    pp_awscred_destroy(cred);
    return rc;
}
