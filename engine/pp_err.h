/*
 * pp_err: the one result type of pinpipe.
 *
 * Every function that can fail returns enum pp_err; 0 (PP_OK) is success.
 * Results travel through out-parameters. PP_AGAIN is a status, not a
 * failure: "the ring is full (or empty), try again". Foreign error codes
 * (errno, zstd, simdjson, ...) are translated once, in their wrapper.
 */
#ifndef PP_ERR_H
#define PP_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

enum pp_err {
    PP_OK = 0,
    PP_AGAIN,        /* would block: ring full or empty; retry later */
    PP_END,          /* end of input: no more items will come */
    PP_ERR_NOMEM,    /* allocation failed */
    PP_ERR_IO,       /* an operating-system I/O call failed */
    PP_ERR_NOTFOUND, /* a file, key or object does not exist */
    PP_ERR_CORRUPT,  /* stored data cannot be decoded (bad zstd frame, ...) */
    PP_ERR_INVALID,  /* invalid input value */
    PP_ERR_USAGE,    /* bad flag or configuration: exit code 2 */
    PP_ERR_TOOBIG,   /* a size limit was exceeded */
    PP_ERR_INTERNAL, /* a third-party library failed unexpectedly */
};

/* Short stable name of an error ("io", "corrupt", ...). Never NULL. */
const char *pp_err_str(enum pp_err err);

#ifdef __cplusplus
}
#endif

#endif
