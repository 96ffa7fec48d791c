"""Reading foreign agents' bodies: encoding from the first bytes, bounded inflation."""
from __future__ import annotations

import gzip
import time
import zlib

import pytest

from collector.ingest.encoding import GZIP, JSON, XML, ZLIB, BodyError, encode_reply, read_body, sniff

XML_DOC = b'<?xml version="1.0"?><REQUEST><QUERY>PROLOG</QUERY></REQUEST>'


@pytest.mark.parametrize("data, expected", [
    (zlib.compress(XML_DOC), ZLIB), (zlib.compress(XML_DOC, 9), ZLIB), (zlib.compress(XML_DOC, 1), ZLIB),
    (gzip.compress(XML_DOC, mtime=0), GZIP), (XML_DOC, XML), (b"\xef\xbb\xbf\n  <REQUEST/>", XML),
    (b' {"action": "contact"}', JSON), (b"PK\x03\x04", None), (b"x", None),
])
def test_sniff(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize("encode", [zlib.compress, gzip.compress, lambda d: d])
def test_read_body_inflates_each_encoding(encode):
    body = read_body(encode(XML_DOC), None, 10_000)
    assert (body.kind, body.data) == (XML, XML_DOC)
    reply = encode_reply(b"<REPLY/>", body.encoding)
    assert {ZLIB: zlib.decompress, GZIP: gzip.decompress, XML: bytes}[body.encoding](reply) == b"<REPLY/>"


def test_compression_bomb_is_refused_without_inflating_it():
    compressor = zlib.compressobj(1)
    chunk = b"<" + b"\0" * (1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()  # 256 MiB inflated
    assert len(bomb) < 2 << 20
    started = time.monotonic()
    with pytest.raises(BodyError) as info:
        read_body(bomb, "application/x-compress-zlib", 1 << 20)
    assert (info.value.status, info.value.reason) == (413, "too_large")
    assert time.monotonic() - started < 0.25  # inflating all 256 MiB takes over half a second


@pytest.mark.parametrize("data, content_type, status, words", [
    (b"", None, 400, "empty body"),
    (zlib.compress(XML_DOC)[:-6], None, 400, "truncated"),
    (zlib.compress(XML_DOC) + b"junk", None, 400, "after the end"),
    (b"\x78\x9c" + b"\xff" * 20, None, 400, "corrupt"),
    (gzip.compress(XML_DOC, mtime=0), "application/x-compress-zlib", 415, "says zlib, but the body is gzip"),
    (XML_DOC, "application/json", 415, "says json, but the body is xml"),
    (zlib.compress(b"\x89PNG...."), None, 415, "does not hold XML or JSON"),
    (b"\x00\x01binary", "application/octet-stream", 415, "neither zlib, gzip, XML nor JSON"),
])
def test_unreadable_bodies(data, content_type, status, words):
    with pytest.raises(BodyError) as info:
        read_body(data, content_type, 10_000)
    assert info.value.status == status and words in info.value.message


def test_plain_body_over_the_limit_is_too_large():
    with pytest.raises(BodyError) as info:
        read_body(b"<" + b" " * 100, None, 50)
    assert info.value.status == 413
