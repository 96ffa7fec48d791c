"""A file read over SFTP is capped like a command's output: a huge one leaves the fact unknown, with a note.

Against the real OpenSSH server of ``support.sshd`` on a loopback port.
"""
from __future__ import annotations

import tracemalloc

import pytest

from agents.probe_linux import _Reader as Reader
from agents.ssh_host import MAX_FILE, connect
from agents.targets import load_targets

from support.sshd import targets_file

pytestmark = pytest.mark.integration


@pytest.fixture
def host(sshd_server, tmp_path):
    [target] = load_targets(targets_file(tmp_path, sshd_server), "00070").targets
    with connect(target, 5, 60) as session:
        yield session


def test_a_file_larger_than_the_cap_is_not_read_whole(host, tmp_path):
    huge = tmp_path / "os-release"
    with huge.open("wb") as out:
        out.truncate(32 * MAX_FILE)  # 128 MiB of zeros, sparse on disk
    notes: list = []
    tracemalloc.start()
    try:
        assert Reader(host, notes).read(str(huge), "operating system") is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert notes == [f"operating system: {huge} larger than {MAX_FILE // 2**20} MiB, not read"]
    # What is read stops at the cap; paramiko's prefetch buffers and read() concatenation hold a few copies of
    # it at once (about 3x, more when its transport thread runs ahead on a loaded machine) -- never the file.
    assert peak < 6 * MAX_FILE, f"reading took {peak / 2**20:.0f} MiB of a {32 * MAX_FILE // 2**20} MiB file"


def test_a_file_within_the_cap_is_read_whole(host, tmp_path):
    small = tmp_path / "os-release"
    small.write_bytes(b'ID=debian\n' * 1000)
    assert host.read_bytes(str(small)) == b'ID=debian\n' * 1000
