/*
 * pp_sigv4: AWS Signature Version 4 for S3 (service "s3", header-based
 * authorization), the way botocore's S3SigV4Auth signs, and SHA-256. The
 * only module that uses OpenSSL (libcrypto); nothing of OpenSSL appears in
 * this header. docs/s3.md describes what is signed and how it is tested.
 *
 * The caller gives the request as plain text (the object path unencoded,
 * query parameters as name/value pairs, headers as sent); the signer
 * encodes, folds and sorts. It adds x-amz-date, x-amz-content-sha256 and,
 * with a session token, x-amz-security-token, signs them with the
 * caller's headers, and gives back the header lines to send.
 *
 * Threads: every function may be called from any thread; a
 * pp_sigv4_sha256 hasher and a struct pp_sigv4_signature belong to one
 * thread at a time.
 */
#ifndef PP_SIGV4_H
#define PP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A SHA-256 digest in lowercase hex, with its NUL. */
#define PP_SIGV4_SHA256_HEX_LEN 65
/* The payload hash of a body that is not hashed (S3 over https). */
#define PP_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* A query parameter, plain text (the signer encodes it). value NULL is a
 * parameter without value ("?uploads"), signed as "uploads=". */
struct pp_sigv4_param {
    const char *name; /* non-empty */
    const char *value;
};

/* A header as it is sent. Names are compared case-insensitively; a name
 * given twice is signed once with its values joined by ',' in the given
 * order (as botocore does). */
struct pp_sigv4_header {
    const char *name;
    const char *value; /* may hold spaces and tabs; no CR, LF or NUL */
};

/* Credentials, borrowed for the call. The secret is used to derive the
 * signing key and appears in no output. */
struct pp_sigv4_creds {
    const char *access_key_id;     /* non-empty; no '/', ',', space or control */
    const char *secret_access_key; /* non-empty */
    const char *session_token;     /* NULL or "" for none */
};

struct pp_sigv4_request {
    const char *method; /* "GET", "PUT", ...: upper-case letters */
    /* The path as plain UTF-8 text, starting with '/' (e.g.
     * "/bucket/dir/a b+ü.json"); "" means "/". Each byte other than an
     * unreserved one (A-Z a-z 0-9 - _ . ~) and '/' is encoded %XX; S3 does
     * not normalise paths, so "//", "." and ".." segments stay as given. */
    const char *path;
    const struct pp_sigv4_param *params; /* may be NULL when n_params is 0 */
    size_t n_params;
    /* Headers to sign, "host" among them (required). Refused, because the
     * signer sets them: authorization, x-amz-date, x-amz-content-sha256,
     * x-amz-security-token. Not signed, because proxies rewrite them (as in
     * botocore): expect, user-agent, x-amzn-trace-id. */
    const struct pp_sigv4_header *headers;
    size_t n_headers;
    /* 64 lowercase hex digits (pp_sigv4_sha256_hex of the body), or
     * PP_SIGV4_UNSIGNED_PAYLOAD. */
    const char *payload_sha256;
    const char *region; /* e.g. "eu-west-1": letters, digits, '-' */
    int64_t time;       /* the request time, seconds since the epoch (UTC) */
};

/*
 * What signing produces. All strings point into text and are valid until
 * the next pp_sigv4_sign into the same struct or its cleanup.
 */
struct pp_sigv4_signature {
    /* "Authorization: ...", "x-amz-date: ...", "x-amz-content-sha256:
     * ...", and "x-amz-security-token: ..." when a token was given;
     * NULL-terminated, ready for pp_httpc_request.headers next to the
     * caller's own header lines. They hold the session token: never log. */
    const char *header_lines[5];
    const char *authorization; /* the Authorization value */
    const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" */
    /* For tests and debugging. The canonical request holds the session
     * token (x-amz-security-token is signed): never log it when a token
     * was given. Neither holds the secret. */
    const char *canonical_request;
    const char *string_to_sign;
    struct pp_buf text; /* owns the bytes above */
};

/* Prepares an empty signature (nothing to free yet). */
void pp_sigv4_signature_init(struct pp_sigv4_signature *sig);
/* Frees its bytes; accepts a signature that was never signed into. */
void pp_sigv4_signature_cleanup(struct pp_sigv4_signature *sig);

/*
 * Signs req with creds into sig (initialised with
 * pp_sigv4_signature_init; a previous signature in it is replaced).
 * PP_ERR_INVALID when a field breaks the rules above (msg, which may be
 * NULL, names the field but never a value: values may be secret),
 * PP_ERR_NOMEM, PP_ERR_INTERNAL when libcrypto fails.
 */
enum pp_err pp_sigv4_sign(const struct pp_sigv4_request *req, const struct pp_sigv4_creds *creds,
                          struct pp_sigv4_signature *sig, char *msg, size_t msg_len);

/*
 * Appends bytes[0..len) URI-encoded the S3 way to buf: unreserved bytes
 * (A-Z a-z 0-9 - _ . ~) as they are, '/' as it is when is_path (object
 * paths) and as %2F otherwise (query names and values), every other byte
 * as %XX with upper-case hex (UTF-8 is encoded byte by byte; '%' becomes
 * %25, so nothing is ever decoded or encoded twice). The S3 client builds
 * its URLs with it, so the URL and the signature agree. PP_ERR_NOMEM.
 */
enum pp_err pp_sigv4_uri_encode(struct pp_buf *buf, const char *bytes, size_t len, bool is_path);

/* hex (PP_SIGV4_SHA256_HEX_LEN bytes) receives the SHA-256 of
 * bytes[0..len) in lowercase hex. bytes may be NULL when len is 0.
 * PP_ERR_NOMEM or PP_ERR_INTERNAL (libcrypto). */
enum pp_err pp_sigv4_sha256_hex(const void *bytes, size_t len, char *hex);

/* A streaming SHA-256, for bodies hashed as they are built (multipart
 * parts). One thread at a time. */
struct pp_sigv4_sha256;

/* A hasher ready for a message. PP_ERR_NOMEM, PP_ERR_INTERNAL. The caller
 * frees it with pp_sigv4_sha256_destroy. */
enum pp_err pp_sigv4_sha256_new(struct pp_sigv4_sha256 **out);
/* Adds bytes[0..len) to the message (bytes may be NULL when len is 0). A
 * libcrypto failure is kept and reported by the next _final. */
void pp_sigv4_sha256_update(struct pp_sigv4_sha256 *hasher, const void *bytes, size_t len);
/* hex (PP_SIGV4_SHA256_HEX_LEN bytes) receives the digest of everything
 * added since the hasher was made or last finalised; the hasher is then
 * ready for a new message. PP_ERR_INTERNAL when libcrypto failed (hex is
 * then ""). */
enum pp_err pp_sigv4_sha256_final(struct pp_sigv4_sha256 *hasher, char *hex);
/* Accepts NULL. */
void pp_sigv4_sha256_destroy(struct pp_sigv4_sha256 *hasher);

#ifdef __cplusplus
}
#endif

#endif
