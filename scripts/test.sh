#!/usr/bin/env bash
# Runs every test file with Node's test runner through tsx. Node 20 does not expand
# globs, so the files are listed here. Pass file paths to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find shared services tools test -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
