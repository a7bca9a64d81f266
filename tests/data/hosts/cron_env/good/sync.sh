#!/bin/sh
# Loads its own env file: cron gives a job almost no environment.
set -eu
set -a; . "$(dirname "$0")/.env"; set +a
node ./shopify-sync.js --token "$SHOPIFY_TOKEN"
