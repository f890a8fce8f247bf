#!/usr/bin/env bash
# Fetches the GraphiQL build served at /graphiql from npm, at the pinned versions, checks each
# package tarball against its pinned npm integrity (SHA-512), and copies the files the page loads
# next to this script. The SHA-256 of each copied file is pinned in api/src/graphiql.rs, whose test
# fails when a file here differs. Run it only to change versions; then update both lists.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name@version  npm integrity (sha512, base64)
packages=(
    "graphiql@3.9.0 sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA=="
    "react@18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=="
    "react-dom@18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=="
)
for entry in "${packages[@]}"; do
    read -r package integrity <<<"$entry"
    (cd "$work" && npm pack "$package" --silent >/dev/null)
    tarball="$work/$(echo "$package" | tr '@' '-').tgz"
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    [ "$actual" = "$integrity" ] || { echo "integrity mismatch for $package: $actual" >&2; exit 1; }
    mkdir -p "$work/${package%@*}"
    tar xzf "$tarball" -C "$work/${package%@*}"
done
cp "$work/graphiql/package/graphiql.min.js" "$work/graphiql/package/graphiql.min.css" "$here/"
cp "$work/graphiql/package/LICENSE" "$here/LICENSE-graphiql"
cp "$work/react/package/umd/react.production.min.js" "$here/"
cp "$work/react/package/LICENSE" "$here/LICENSE-react"
cp "$work/react-dom/package/umd/react-dom.production.min.js" "$here/"
cp "$work/react-dom/package/LICENSE" "$here/LICENSE-react-dom"
(cd "$here" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js)
