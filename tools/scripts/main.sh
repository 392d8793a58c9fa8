#!/usr/bin/env bash
# The main job on one machine: installs and builds pinpipe, then runs
# `pinpipe demo`: the development Kafka broker, the post emulator, the
# streaming engine and the HTTP API with its dashboard, in one process.
# It prints the dashboard's URL and a live status line; Ctrl-C stops it.
#
#   tools/scripts/main.sh [pinpipe demo options, e.g. --rate 500 --duration 60]
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/tools/scripts/setup.sh"
exec "$here/build/tools/pinpipe" demo "$@"
