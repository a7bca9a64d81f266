#!/bin/sh
# CS ticket monitor (every 15 minutes, 06-20). Cron gives a job almost no environment, so it loads
# its own and fails fast when something is missing (lesson 14).
set -eu
set -a; . "$(dirname "$0")/.env"; set +a
: "${HELPDESK_API_URL:?set in bin/.env}"
: "${HELPDESK_TOKEN:?set in bin/.env}"
printf '%s\n' "polling $HELPDESK_API_URL"
