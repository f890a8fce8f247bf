#!/usr/bin/env python3
"""An independent verifier of a cosigned Amanah export, written from the C2SP texts
(signed-note, tlog-checkpoint, tlog-cosignature, tlog-policy) and RFC 9162, sharing no code
with Amanah. Amanah's tests run it beside `amanah audit verify --policy` on the same exports and
require the same verdict.

    verify_cosigned.py EXPORT_DIR POLICY_FILE [NOW]

EXPORT_DIR holds `events.jsonl` (line i: the leaf bytes of entry i) and `checkpoint` (the signed
note). NOW is POSIX seconds (default: the clock). Exit 0: verified, printing the size, the root
and each witness with its time; 1: it does not verify, with the reason; 2: unusable input.
Needs the `cryptography` package.
"""

import base64
import hashlib
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

NOTE_KEY = 0x01  # signed-note Ed25519
COSIGNATURE_V1 = 0x04  # tlog-cosignature
MAX_SKEW = 600  # seconds a cosignature may be dated in the future


class Failed(Exception):
    pass


def parse_vkey(vkey, key_type):
    """`<name>+<hex key ID>+<base64(type || public key)>` (signed-note)."""
    name, key_id, encoded = vkey.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != key_type:
        raise ValueError(f"{vkey}: not a key of type {key_type:#04x}")
    computed = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if computed.hex() != key_id:
        raise ValueError(f"{vkey}: the key ID does not match")
    return name, computed, Ed25519PublicKey.from_public_bytes(raw[1:])


def parse_policy(text):
    """tlog-policy: `log`, `witness`, `group`, `quorum`; names defined before use."""
    log, witnesses, groups, quorum = None, {}, {}, None
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        keyword, args = fields[0], fields[1:]
        if keyword == "log":
            log = parse_vkey(args[0], NOTE_KEY)
        elif keyword == "witness":
            witnesses[args[0]] = parse_vkey(args[1], COSIGNATURE_V1)
        elif keyword == "group":
            name, threshold, members = args[0], args[1], args[2:]
            for member in members:
                if member not in witnesses and member not in groups:
                    raise ValueError(f"{member} is used before it is defined")
            k = {"any": 1, "all": len(members)}.get(threshold)
            groups[name] = (int(threshold) if k is None else k, members)
        elif keyword == "quorum":
            quorum = args[0]
        else:
            raise ValueError(f"unknown policy line {line!r}")
    if log is None or quorum is None:
        raise ValueError("the policy needs a log and a quorum")
    return log, witnesses, groups, quorum


def met(name, witnesses, groups, cosigned):
    if name == "none":
        return True
    if name in witnesses:
        return name in cosigned
    k, members = groups[name]
    return sum(met(m, witnesses, groups, cosigned) for m in members) >= k


def mth(leaves):
    """RFC 9162 §2.1.1, over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def verify(export_dir, policy_text, now):
    (log_name, log_id, log_key), witnesses, groups, quorum = parse_policy(policy_text)
    note = open(f"{export_dir}/checkpoint", "rb").read().decode("utf-8")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Failed("the checkpoint is not a signed note")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    signed_by_log = False
    cosigned = {}
    for line in lines:
        if not line.startswith("\u2014 "):
            raise Failed(f"not a signature line: {line!r}")
        name, encoded = line[2:].rsplit(" ", 1)
        payload = base64.b64decode(encoded, validate=True)
        key_id, signature = payload[:4], payload[4:]
        if (name, key_id) == (log_name, log_id):
            try:
                log_key.verify(signature, text.encode())
            except InvalidSignature:
                raise Failed("the log's signature does not verify")
            signed_by_log = True
            continue
        for witness, (w_name, w_id, w_key) in witnesses.items():
            if (name, key_id) != (w_name, w_id):
                continue
            if len(signature) != 72:
                raise Failed(f"witness {witness}: a cosignature has 72 bytes after the key ID")
            stamp = int.from_bytes(signature[:8], "big")
            message = b"cosignature/v1\ntime %d\n" % stamp + text.encode()
            try:
                w_key.verify(signature[8:], message)
            except InvalidSignature:
                raise Failed(f"witness {witness}: the cosignature does not verify")
            if stamp > now + MAX_SKEW:
                raise Failed(f"witness {witness}: the cosignature is dated in the future")
            cosigned[witness] = max(stamp, cosigned.get(witness, 0))
    if not signed_by_log:
        raise Failed("no signature by the log's key")
    body = text.split("\n")
    origin, size, root = body[0], int(body[1]), base64.b64decode(body[2], validate=True)
    if origin != log_name:
        raise Failed("the checkpoint is not the policy's log")
    if not met(quorum, witnesses, groups, cosigned):
        raise Failed(f"quorum not met (verified: {', '.join(sorted(cosigned))})")
    with open(f"{export_dir}/events.jsonl", "rb") as events:
        leaves = [hashlib.sha256(b"\x00" + line[:-1]).digest() for line in events]
    if len(leaves) != size or mth(leaves) != root:
        raise Failed("the events do not add up to the checkpoint's root")
    return size, body[2], cosigned


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    now = int(sys.argv[3]) if len(sys.argv) == 4 else int(time.time())
    try:
        policy = open(sys.argv[2], encoding="utf-8").read()
        size, root, cosigned = verify(sys.argv[1], policy, now)
    except Failed as failure:
        print(f"not verified: {failure}")
        return 1
    except (OSError, ValueError, IndexError) as error:
        print(f"unusable: {error}", file=sys.stderr)
        return 2
    print(f"verified {size} entries; root {root}")
    for witness, stamp in sorted(cosigned.items()):
        print(f"cosigned by {witness} at {stamp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
