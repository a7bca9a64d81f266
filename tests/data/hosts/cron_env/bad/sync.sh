#!/bin/sh
# Works in an interactive shell, where ~/.bashrc exported the token and nvm put node on PATH.
set -eu
node ./shopify-sync.js --token "$SHOPIFY_TOKEN"
