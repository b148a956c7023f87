#!/usr/bin/env bash
# deploy/copy-web.sh DEST — copies the page's files (and only those: no READMEs,
# tests, screenshots or package files) from deploy/web into DEST, which must be
# empty or absent. Used by deploy/install.sh and deploy/dev/stack.
set -euo pipefail
(($# == 1)) || { echo "usage: deploy/copy-web.sh DEST" >&2; exit 2; }
from=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/web" && pwd -P)
dest=$1
mkdir -p "$dest/css" "$dest/js"
cp "$from"/*.html "$from"/*.svg "$dest/"
cp "$from"/css/*.css "$dest/css/"
cp "$from"/js/*.js "$dest/js/"
chmod -R a+rX,go-w "$dest"
