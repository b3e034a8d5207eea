#!/usr/bin/env bash
# Run the C unit tests (TAP); print their TAP output with a header per
# binary; exit non-zero if any failed.
set -u
rc=0
for t in "$@"; do
  echo "# unit: $(basename "$t")"
  if ! "$t"; then rc=1; fi
done
exit $rc
