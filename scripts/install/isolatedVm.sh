#!/bin/sh
# npm's postinstall: isolated-vm with patches/isolated-vm+5.0.4.patch, built from its source.
# The patch keeps isolated-vm from running a function's code when it copies a thrown value out of
# an isolate (docs/functions.md "Thrown values"). isolated-vm's own install script is not approved
# (package.json allowScripts): it would fetch an unpatched prebuilt binary where a network allows.
set -e
patch-package
cd node_modules/isolated-vm
node-gyp rebuild --release -j max --loglevel=warn > /dev/null
node-gyp clean --loglevel=warn
