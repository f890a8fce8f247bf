#!/usr/bin/env bash
# Regenerates the committed test keys. Test-only keys: never use them anywhere else.
#
#   PEMs:  OpenSSL 3 `genpkey` (PKCS#8 private keys) and `pkey -pubout` (SPKI public keys).
#   JWKS:  jwks.py (Python `cryptography`) reads the PEMs and writes jwks.json and
#          jwks-rotated.json (the same set plus rsa-2, for the key-rotation test).
#
# The Rust test `committed_jwks_match_the_pems` checks that the JWKS agree with the PEMs.
set -euo pipefail
cd "$(dirname "$0")"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-private.pem
openssl pkey -in rsa-private.pem -pubout -out rsa-public.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2-private.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-private.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384-private.pem
openssl genpkey -algorithm ed25519 -out ed-private.pem

python3 jwks.py
