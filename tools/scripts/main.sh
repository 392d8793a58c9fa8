#!/usr/bin/env bash
# The main job on one machine: installs and builds pinpipe, emulates a lake
# of posts (the recorded topics of the original pipeline), and answers the
# nine analytics queries over it.
#
#   tools/scripts/main.sh [--count N] [--lake DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
count=100000
lake="$here/lake"
while [ $# -gt 0 ]; do
    case "$1" in
    --count) count=$2; shift ;;
    --lake) lake=$2; shift ;;
    *) echo "main.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

"$here/tools/scripts/setup.sh"
pinpipe="$here/build/tools/pinpipe"
if [ ! -d "$lake/topics" ]; then
    "$pinpipe" emulate --to "$lake" --count "$count" --seed 100
fi
"$pinpipe" query --from "$lake"
