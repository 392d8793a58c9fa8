/*
 * pp_spool: a scratch file of fixed-size blocks, for bytes that must wait
 * a long time before they are used and need not stay in memory meanwhile
 * (the sink's open lake objects: docs/sink.md, "Open objects wait in the
 * spool").
 *
 * The file has no name (O_TMPFILE, or a name unlinked at once where the
 * file system lacks it), so nothing is left behind by a crash and nothing
 * shows in the directory. Blocks are PP_SPOOL_BLOCK bytes; a released
 * block is reused by the next write, so the file grows only to the most
 * blocks held at once. Nothing is fsynced: the spool is not durable and
 * need not be (what it holds is rebuilt from Kafka after a crash).
 *
 * Writes and reads are plain pwrite/pread on the caller's thread: the
 * bytes go to the page cache, which the kernel writes back or keeps as it
 * sees fit; they no longer count in the process's resident memory.
 *
 * Threads: a spool belongs to one thread (the sink's, the loop thread).
 */
#ifndef PP_SPOOL_H
#define PP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "pp_arena.h"
#include "pp_err.h"

/* The size of one block, in bytes. */
#define PP_SPOOL_BLOCK (32u * 1024u)

struct pp_spool;

/*
 * Opens a new, empty spool in directory dir (which must exist). PP_ERR_IO
 * when no file can be made there, with msg (msg_len bytes) naming dir and
 * the cause; PP_ERR_NOMEM.
 */
enum pp_err pp_spool_open(const char *dir, struct pp_spool **spool, char *msg, size_t msg_len);

/* Writes PP_SPOOL_BLOCK bytes of data into a free block; *block gets its
 * number. PP_ERR_IO (a full disk, ...), PP_ERR_NOMEM; nothing is held
 * then. */
enum pp_err pp_spool_write(struct pp_spool *spool, const void *data, uint32_t *block);

/* Appends the PP_SPOOL_BLOCK bytes of block to out. PP_ERR_IO,
 * PP_ERR_NOMEM. */
enum pp_err pp_spool_read(struct pp_spool *spool, uint32_t block, struct pp_buf *out);

/* Gives block back for reuse; its bytes are gone. */
void pp_spool_release(struct pp_spool *spool, uint32_t block);

/* Blocks held (written and not released). */
size_t pp_spool_blocks(const struct pp_spool *spool);

/* The spool's directory, as given to pp_spool_open. */
const char *pp_spool_dir(const struct pp_spool *spool);

/* Closes the file (its blocks go with it) and frees the spool. Accepts
 * NULL. */
void pp_spool_close(struct pp_spool *spool);

#endif
