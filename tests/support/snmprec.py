"""Reading snmpsim ``.snmprec`` recordings (``OID|TYPE|VALUE`` lines) into what a probe would have walked."""
from __future__ import annotations

import binascii
from pathlib import Path
from typing import Iterable, Union

# snmpsim's type tags (BER tag numbers): OCTET STRING 4, INTEGER 2, OID 6, IpAddress 64, Counter32 65,
# Gauge32 66, TimeTicks 67, Opaque 68, Counter64 70; a trailing "x" means the value is hex.
_TEXT, _OID, _ADDRESS = "4", "6", "64"


def read_snmprec(path: Union[str, Path], subtrees: Iterable[str]) -> dict:
    """The recording's values under ``subtrees`` as the domain takes them (bytes, int, dotted str)."""
    wanted = tuple(subtrees)
    out: dict = {}
    for line in Path(path).read_text(encoding="ascii").splitlines():
        oid, tag, value = line.split("|", 2)
        oid = oid.lstrip(".")
        if not any(oid == w or oid.startswith(w + ".") for w in wanted):
            continue
        hexed = tag.endswith("x")
        raw = binascii.unhexlify(value) if hexed else value.encode("latin-1")
        tag = tag.rstrip("x")
        if tag == _TEXT:
            out[oid] = raw
        elif tag == _OID:
            out[oid] = raw.decode("ascii")
        elif tag == _ADDRESS:
            out[oid] = ".".join(str(b) for b in raw) if hexed else raw.decode("ascii")
        else:
            out[oid] = int(raw)
    return out
