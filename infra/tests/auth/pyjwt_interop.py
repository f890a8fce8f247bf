"""Cross-checks Amanah's verifier against an independent JWT library (PyJWT + cryptography).

    pyjwt_interop.py mint KEYS_DIR SECRET ISSUER AUDIENCE
        prints a JSON object of tokens minted by PyJWT: HS256 (the secret), RS256 (kid rsa-1),
        ES256 (kid ec-1), EdDSA (kid ed-1), plus "expired" (HS256), "none" (alg none) and
        "wrong_audience" (RS256) that the verifier must refuse.
    pyjwt_interop.py decode SECRET ISSUER AUDIENCE TOKEN
        decodes a token minted by `mint_hs256` with PyJWT (signature, exp, iss, aud required)
        and prints its claims as JSON.

Run by the Rust test `interop_tests::pyjwt_tokens_verify_and_minted_tokens_decode`, which
skips itself when `python3 -c "import jwt, cryptography"` fails.
"""

import json
import pathlib
import sys
import time
import uuid

import jwt


def mint(keys_dir: str, secret: str, issuer: str, audience: str) -> None:
    keys = pathlib.Path(keys_dir)
    now = int(time.time())
    claims = {
        "sub": "pyjwt-user",
        "roles": ["auditor", "viewer"],
        "org": str(uuid.UUID("0190f3c2-8a6e-7c1a-9b2d-3e4f5a6b7c8d")),
        "name": "Py JWT",
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    pem = lambda name: (keys / name).read_bytes()  # noqa: E731
    out = {
        "HS256": jwt.encode(claims, secret, algorithm="HS256"),
        "RS256": jwt.encode(claims, pem("rsa-private.pem"), algorithm="RS256", headers={"kid": "rsa-1"}),
        "ES256": jwt.encode(claims, pem("ec-private.pem"), algorithm="ES256", headers={"kid": "ec-1"}),
        "EdDSA": jwt.encode(claims, pem("ed-private.pem"), algorithm="EdDSA", headers={"kid": "ed-1"}),
        "expired": jwt.encode({**claims, "exp": now - 3600}, secret, algorithm="HS256"),
        "none": jwt.encode(claims, None, algorithm="none"),
        "wrong_audience": jwt.encode(
            {**claims, "aud": "someone-else"}, pem("rsa-private.pem"), algorithm="RS256", headers={"kid": "rsa-1"}
        ),
    }
    print(json.dumps(out))


def decode(secret: str, issuer: str, audience: str, token: str) -> None:
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
    print(json.dumps(claims))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"mint": mint, "decode": decode}[command](*args)
