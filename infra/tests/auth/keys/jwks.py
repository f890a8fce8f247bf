"""Builds jwks.json / jwks-rotated.json from the PEMs beside this file (Python `cryptography`)."""

import base64
import json
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = pathlib.Path(__file__).resolve().parent


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int, size: int | None = None) -> str:
    size = size or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(size, "big"))


def private(name: str):
    return serialization.load_pem_private_key((HERE / name).read_bytes(), password=None)


def jwk(name: str, kid: str, alg: str) -> dict:
    key = private(name).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        return {"kty": "RSA", "kid": kid, "alg": alg, "use": "sig", "n": uint(nums.n), "e": uint(nums.e)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        nums = key.public_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
        return {"kty": "EC", "kid": kid, "alg": alg, "use": "sig", "crv": crv,
                "x": uint(nums.x, size), "y": uint(nums.y, size)}
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "kid": kid, "alg": alg, "use": "sig", "crv": "Ed25519", "x": b64u(raw)}
    raise TypeError(name)


keys = [
    jwk("rsa-private.pem", "rsa-1", "RS256"),
    jwk("ec-private.pem", "ec-1", "ES256"),
    jwk("ed-private.pem", "ed-1", "EdDSA"),
    # A P-384 key: an ES256 token naming it must be rejected (curve does not match the alg).
    jwk("ec384-private.pem", "ec384-1", "ES384"),
    # A symmetric key published in the JWKS: the verifier must never use it (HS256 only ever
    # verifies with the configured secret). Its value is the ASCII of "jwks-oct-key-must-never-be-used!".
    {"kty": "oct", "kid": "oct-1", "alg": "HS256", "k": b64u(b"jwks-oct-key-must-never-be-used!")},
    # A key type nobody knows: loading must skip it, not fail.
    {"kty": "XYZ", "kid": "weird-1", "foo": "bar"},
]
(HERE / "jwks.json").write_text(json.dumps({"keys": keys}, indent=2) + "\n")
rotated = keys + [jwk("rsa2-private.pem", "rsa-2", "RS256")]
(HERE / "jwks-rotated.json").write_text(json.dumps({"keys": rotated}, indent=2) + "\n")
