#include "pp_err.h"

const char *pp_err_str(enum pp_err err)
{
    switch (err) {
    case PP_OK: return "ok";
    case PP_AGAIN: return "again";
    case PP_END: return "end";
    case PP_ERR_NOMEM: return "out of memory";
    case PP_ERR_IO: return "i/o error";
    case PP_ERR_NOTFOUND: return "not found";
    case PP_ERR_CORRUPT: return "corrupt data";
    case PP_ERR_INVALID: return "invalid value";
    case PP_ERR_USAGE: return "usage error";
    case PP_ERR_TOOBIG: return "too large";
    case PP_ERR_INTERNAL: return "internal library error";
    }
    return "unknown error";
}
