#!/bin/bash
# Runs the gateway command given as arguments (`node dist/gateway/src/main.js`) with its stderr
# passed through a filter that drops one line: the warning the pinned uWebSockets.js build prints
# for every accepted WebSocket (the gateway completes upgrades uncorked to avoid that build's
# reset after an upgrade inside a cork; docs/operations.md, "The uWS warning on stderr"). Every
# other stderr line passes unchanged. `exec`: the gateway itself is this process (PID 1 in the
# image), so it receives SIGTERM directly and its exit code is the container's.
set -u
readonly UWS_CORK_WARNING='Warning: uWS.HttpResponse writes must be made from within a corked callback. See documentation for uWS.HttpResponse.cork and consult the user manual.'
exec "$@" 2> >(exec grep --line-buffered --invert-match --fixed-strings --line-regexp -e "$UWS_CORK_WARNING" >&2)
