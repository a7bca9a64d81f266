#!/bin/sh
# CS ticket monitor (every 15 minutes, 06-20). Works by hand, where ~/.bashrc exported the
# helpdesk URL and token; cron has neither (lesson 14).
set -eu
printf '%s\n' "polling $HELPDESK_API_URL with token ${HELPDESK_TOKEN}"
