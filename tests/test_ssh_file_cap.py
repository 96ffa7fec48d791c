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

# A prefetch thread of paramiko's left running when its session closes fails on the closed socket.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]


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
    # Its size says it is over the cap before any of it is read.
    assert peak < MAX_FILE // 4, f"reading took {peak / 2**20:.0f} MiB of a {32 * MAX_FILE // 2**20} MiB file"


def test_a_file_within_the_cap_is_read_whole(host, tmp_path):
    small = tmp_path / "os-release"
    small.write_bytes(b'ID=debian\n' * 1000)
    assert host.read_bytes(str(small)) == b'ID=debian\n' * 1000


def test_a_file_without_a_size_is_read_to_its_end(host):
    """/proc and /sys files say 0 bytes; they are read to their end, within the cap."""
    status = host.read_bytes("/proc/self/status")  # the SFTP server's own process
    assert status.startswith(b"Name:") and b"\nPid:" in status
