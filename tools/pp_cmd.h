/*
 * pp_cmd: the command entry points of the pinpipe executable.
 *
 * Each takes the arguments after "pinpipe" (argv[0] is the command name,
 * options follow), runs on the main thread, writes diagnostics to stderr as
 * one "pinpipe: <command>: ..." line and returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef PP_CMD_H
#define PP_CMD_H

/* pinpipe emulate --to <lake dir> [--count N] [--seed N] ...: writes
 * generated posts as raw topic objects of a lake (see --help). */
int pp_cmd_emulate(int argc, char **argv);

/* pinpipe query --from <lake> [--format table|csv|json] [--query NAME]...:
 * the nine answers over a recorded lake (see --help). */
int pp_cmd_query(int argc, char **argv);

/* pinpipe broker [--listen 127.0.0.1:9092] [--partitions N]: the in-memory
 * development Kafka broker (see --help). Runs until SIGINT or SIGTERM. */
int pp_cmd_broker(int argc, char **argv);

/* pinpipe replay --from <lake> --to kafka://<bootstrap> [--rate N|max]:
 * recorded topics back into Kafka, keyed by ind, in offset order per
 * partition (see --help). */
int pp_cmd_replay(int argc, char **argv);

/* pinpipe run [-c pinpipe.properties] [--set key=value]...: the streaming
 * engine (see --help). Runs until SIGINT or SIGTERM. */
int pp_cmd_run(int argc, char **argv);
/* pinpipe demo [--listen host:port] [--rate N]...: broker, emulator, engine
 * and dashboard in one process (see --help). Runs until SIGINT or SIGTERM. */
int pp_cmd_demo(int argc, char **argv);

#endif
