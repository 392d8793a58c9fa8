/*
 * pp_awscred: where pinpipe's AWS credentials come from, in the order of
 * the AWS SDKs (docs/s3.md):
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
 *      optional AWS_SESSION_TOKEN;
 *   2. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE or
 *      ~/.aws/credentials, profile AWS_PROFILE or "default";
 *   3. the EC2 instance role, through IMDSv2 (a session token from
 *      PUT /latest/api/token, then the role's credentials), at
 *      http://169.254.169.254 or AWS_EC2_METADATA_SERVICE_ENDPOINT; skipped
 *      when AWS_EC2_METADATA_DISABLED=true. Each request has a 1 s
 *      timeout, so a machine outside EC2 fails fast.
 *
 * The chain is walked once, at the first pp_awscred_get; environment and
 * file credentials are then kept, instance-role credentials are fetched
 * again before they expire (PP_AWSCRED_REFRESH_BEFORE_S).
 *
 * Which source was used can be logged (pp_awscred_describe). The secret
 * and the session token never appear in a log line or a message of this
 * module; they are wiped from memory when replaced or destroyed.
 *
 * Threads: a provider belongs to one owner thread; every function below is
 * called on it.
 */
#ifndef PP_AWSCRED_H
#define PP_AWSCRED_H

#include <stddef.h>
#include <stdint.h>

#include "pp_err.h"
#include "pp_sigv4.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Instance-role credentials are fetched again when fewer than this many
 * seconds remain before their Expiration. */
#define PP_AWSCRED_REFRESH_BEFORE_S (15 * 60)
/* While the held credentials stay usable, a failed (or still soon
 * expiring) refresh is tried again after this many seconds, not sooner. */
#define PP_AWSCRED_RETRY_S 60
/* Credentials closer than this to their Expiration are not used. */
#define PP_AWSCRED_USABLE_MARGIN_S 60
/* The timeout of each instance-metadata request. */
#define PP_AWSCRED_IMDS_TIMEOUT_MS 1000L

enum pp_awscred_source {
    PP_AWSCRED_NONE = 0, /* nothing resolved yet */
    PP_AWSCRED_ENV,
    PP_AWSCRED_FILE,
    PP_AWSCRED_IMDS,
};

struct pp_awscred;

/* An empty provider (nothing read yet). PP_ERR_NOMEM. The caller frees it
 * with pp_awscred_destroy. Owner thread. */
enum pp_err pp_awscred_new(struct pp_awscred **out);

/* Wipes and frees the held credentials. Accepts NULL. Owner thread. */
void pp_awscred_destroy(struct pp_awscred *cred);

/*
 * Fills creds with credentials valid at now (seconds since the epoch;
 * time(NULL) outside tests). creds' strings are borrowed: valid until the
 * next pp_awscred_get, pp_awscred_invalidate or pp_awscred_destroy.
 *
 * The first call walks the chain; later calls return the same credentials,
 * fetching instance-role ones again when they come within
 * PP_AWSCRED_REFRESH_BEFORE_S of expiring. A refresh that fails while the
 * held credentials remain usable keeps them (with a warning in the log)
 * and is retried after PP_AWSCRED_RETRY_S.
 *
 * Errors (msg, which may be NULL, gets one line naming the variable, file,
 * line or URL at fault, never a secret):
 *   PP_ERR_NOTFOUND  no source has credentials (the line says what each
 *                    source lacked);
 *   PP_ERR_USAGE     a source is set up wrongly: one of the two key
 *                    variables without the other, AWS_PROFILE naming a
 *                    profile the file lacks, a malformed file, a profile
 *                    with a key id and no secret (or the reverse);
 *   PP_ERR_IO        a file cannot be read, or instance-role credentials
 *                    expired and could not be fetched again;
 *   PP_ERR_CORRUPT   the instance metadata answered something malformed;
 *   PP_ERR_NOMEM.
 * Owner thread; may block up to about 3 s (three metadata requests).
 */
enum pp_err pp_awscred_get(struct pp_awscred *cred, int64_t now, struct pp_sigv4_creds *creds,
                           char *msg, size_t msg_len);

/* Forgets the held credentials, so the next pp_awscred_get walks the chain
 * again (for a request that S3 refused as expired). Owner thread. */
void pp_awscred_invalidate(struct pp_awscred *cred);

/* The source of the held credentials; PP_AWSCRED_NONE before the first
 * successful pp_awscred_get. Owner thread. */
enum pp_awscred_source pp_awscred_source(const struct pp_awscred *cred);

/* "none", "environment", "shared credentials file" or "instance role".
 * Never NULL. Any thread. */
const char *pp_awscred_source_name(enum pp_awscred_source source);

/* One line for logs about the held credentials: the source, and the file
 * and profile or the role and expiry ("instance role app-role, expires
 * 2024-05-01T12:00:00Z"); never a secret. Valid until the next call on
 * cred. Owner thread. */
const char *pp_awscred_describe(const struct pp_awscred *cred);

/* When the held credentials expire (seconds since the epoch), 0 when they
 * do not (environment, file) or nothing is held. Owner thread. */
int64_t pp_awscred_expiration(const struct pp_awscred *cred);

#ifdef __cplusplus
}
#endif

#endif
