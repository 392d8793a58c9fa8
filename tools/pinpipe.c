/*
 * pinpipe: the command-line entry point. Each command lives in its own
 * pp_cmd_<name>.c; this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "pp_cmd.h"

#ifndef PP_VERSION
#define PP_VERSION "0.1.0"
#endif

static const char main_usage[] =
    "usage: pinpipe <command> [options]\n"
    "\n"
    "commands:\n"
    "  query     answer the nine analytics queries over a recorded lake\n"
    "  emulate   write emulated posts (pin, geo, user) into a lake\n"
    "  broker    run an in-memory development Kafka broker\n"
    "  replay    produce a recorded lake's topics back into Kafka\n"
    "  run       the streaming engine: Kafka in, windowed answers on HTTP\n"
    "  demo      everything on one machine: broker, emulator, engine, dashboard\n"
    "\n"
    "Run 'pinpipe <command> --help' for a command's options.\n";

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL) {
        fprintf(stderr, "pinpipe: no command given (see pinpipe --help)\n");
        return 2;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("pinpipe %s\n", PP_VERSION);
        return 0;
    }
    if (strcmp(cmd, "query") == 0)
        return pp_cmd_query(argc - 1, argv + 1);
    if (strcmp(cmd, "emulate") == 0)
        return pp_cmd_emulate(argc - 1, argv + 1);
    if (strcmp(cmd, "broker") == 0)
        return pp_cmd_broker(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return pp_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return pp_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return pp_cmd_demo(argc - 1, argv + 1);
    fprintf(stderr, "pinpipe: unknown command '%s' (see pinpipe --help)\n", cmd);
    return 2;
}
