#!/bin/sh
# npm's postinstall: isolated-vm with patches/isolated-vm+5.0.4.patch, built from its source.
# The patch keeps isolated-vm from running a function's code when it copies a thrown value out of
# an isolate (docs/functions.md "Thrown values"). isolated-vm's own install script is not approved
# (package.json allowScripts): it would fetch an unpatched prebuilt binary where a network allows.
# The compiler's output is shown only when the build fails.
set -e
patch-package
cd node_modules/isolated-vm
log="$(mktemp)"
if ! node-gyp rebuild --release -j max > "$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "isolated-vm failed to build (it needs python3, make and a C++ compiler)" >&2
  exit 1
fi
rm -f "$log"
node-gyp clean --loglevel=warn
