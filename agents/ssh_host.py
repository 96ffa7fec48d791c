"""Another Linux machine over SSH, as a :class:`~agents.host.Host`: key login, checked host key, read-only.

paramiko is imported only here, and only when probing: the agent on a ward
PC does not need it (it is the ``ssh`` extra, ``pip install
'hdc-readiness[ssh]'``).

Host keys are checked against the target's known_hosts file, the way
OpenSSH's ``StrictHostKeyChecking=yes`` does: an unknown key is refused
unless the target enables ``trust_on_first_use`` (then it is recorded in
that file, and checked from the next run on), and a changed key is always
refused. Files are read over SFTP (one request each, no shell), or with
``cat``/``ls``/``stat``/``readlink`` where the server offers no SFTP; the
only other commands are ``uname``, ``df``, ``ip -o addr`` and the package
query. Every wait is bounded: the connection and login by the connect
timeout, each command or file by the command timeout, and every answer by
size: a command's output by ``MAX_OUTPUT``, a file by ``MAX_FILE``.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import shlex
import socket
import stat
import threading
import time
from types import ModuleType
from typing import Optional, Sequence

from .linux_software import CommandFailed
from .targets import Target

MAX_OUTPUT = 64 * 1024 * 1024  # a package list is about 1 MB; a runaway command must not fill memory
MAX_FILE = 4 * 1024 * 1024  # the files read are small (/proc, /sys, /etc); a huge one must not fill memory
_KNOWN_HOSTS_LOCK = threading.Lock()  # targets sharing one known_hosts file learn keys one at a time


class SshUnavailable(Exception):
    """paramiko is not installed."""


class HostFailure(Exception):
    """This host could not be read; ``action`` when a person must fix something (key, login, file)."""

    def __init__(self, message: str, action: bool) -> None:
        super().__init__(message)
        self.action = action


def paramiko_module() -> ModuleType:
    """paramiko, or :class:`SshUnavailable` saying how to get it."""
    try:
        import paramiko
    except ImportError:
        raise SshUnavailable("probing over SSH needs paramiko, which is not installed; "
                             "install hdc-readiness[ssh] (pip install 'hdc-readiness[ssh]')") from None
    return paramiko


def fingerprint(key) -> str:
    """``SHA256:...`` as OpenSSH prints it, so it can be compared with ``ssh-keygen -lf``."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def connect(target: Target, connect_timeout: float, command_timeout: float) -> "SshHost":
    """Log in to ``target``; :class:`HostFailure` with a message naming the host when that fails."""
    paramiko = paramiko_module()
    client = paramiko.SSHClient()
    name = known_hosts_name(target.host, target.port)
    try:
        if target.known_hosts.is_file():
            client.load_host_keys(str(target.known_hosts))
        elif not target.trust_on_first_use:
            raise HostFailure(f"{name}: known_hosts file {target.known_hosts} not found; host key cannot be "
                              "checked, refused", action=True)
    except OSError as exc:
        raise HostFailure(f"{name}: cannot read known_hosts {target.known_hosts} ({exc.strerror or exc})",
                          action=True) from None
    client.set_missing_host_key_policy(_policy(paramiko, target))
    try:
        client.connect(target.host, port=target.port, username=target.user, key_filename=str(target.key_file),
                       look_for_keys=False, allow_agent=False, timeout=connect_timeout,
                       banner_timeout=connect_timeout, auth_timeout=connect_timeout,
                       channel_timeout=command_timeout)
    except HostFailure:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostFailure(f"{name}: host key CHANGED: {target.known_hosts} has {exc.expected_key.get_name()} "
                          f"{fingerprint(exc.expected_key)}, the host offered {exc.key.get_name()} "
                          f"{fingerprint(exc.key)}; refused (a reinstalled host, or someone in between: check "
                          "it, then replace its line in known_hosts)", action=True) from None
    except paramiko.AuthenticationException:
        client.close()
        raise HostFailure(f"{name}: login refused for user {target.user} with key {target.key_file}",
                          action=True) from None
    except paramiko.PasswordRequiredException:
        client.close()
        raise HostFailure(f"{name}: key {target.key_file} is encrypted; the prober needs a key without "
                          "passphrase", action=True) from None
    except (paramiko.SSHException, EOFError) as exc:
        client.close()
        raise HostFailure(f"{name}: SSH failed ({exc or type(exc).__name__})", action=False) from None
    except socket.timeout:
        client.close()
        raise HostFailure(f"{name}: no answer within {connect_timeout:g} s", action=False) from None
    except OSError as exc:
        client.close()
        raise HostFailure(f"{name}: cannot connect ({exc.strerror or exc})", action=False) from None
    return SshHost(client, name, command_timeout)


def _policy(paramiko, target: Target):
    """What to do with a key known_hosts does not list: refuse, or (trust on first use) record it."""

    class Refuse(paramiko.RejectPolicy):
        def missing_host_key(self, client, hostname, key):
            raise HostFailure(f"{hostname}: host key {key.get_name()} {fingerprint(key)} is not in "
                              f"{target.known_hosts}; refused (check the fingerprint on the host with "
                              "ssh-keygen -lf, then add it, or set trust_on_first_use: true for this target)",
                              action=True)

    class TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client, hostname, key):
            line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
            with _KNOWN_HOSTS_LOCK:
                target.known_hosts.parent.mkdir(parents=True, exist_ok=True)
                with open(target.known_hosts, "a", encoding="ascii") as out:
                    out.write(line)
            client.get_host_keys().add(hostname, key.get_name(), key)

    return TrustOnFirstUse() if target.trust_on_first_use else Refuse()


def _too_large(path: str) -> OSError:
    """The error of a file over ``MAX_FILE``: the probe reports it and reads no further."""
    return OSError(errno.EFBIG, f"larger than {MAX_FILE // 2**20} MiB, not read", path)


class SshHost:
    """A logged-in SSH session read as a :class:`~agents.host.Host`. Close it (or use ``with``)."""

    def __init__(self, client, name: str, command_timeout: float) -> None:
        self.client = client
        self.name = name
        self.timeout = command_timeout
        self._sftp = None
        self._sftp_refused = False

    def __enter__(self) -> "SshHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def alive(self) -> bool:
        """False once the session broke: what was read after that is not the host's answer."""
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
        self.client.close()

    # --- commands -------------------------------------------------------------------------

    def run(self, argv: Sequence[str]) -> str:
        status, out, err = self._execute(shlex.join(argv))
        if status == 127:
            raise CommandFailed(f"{argv[0]} not installed", missing=True)
        if status != 0:
            first = err.decode("utf-8", "replace").strip().splitlines()
            raise CommandFailed(f"{argv[0]} exited {status}" + (f": {first[0][:200]}" if first else ""))
        return out.decode("utf-8", "replace")

    def _execute(self, command: str) -> tuple:
        """(exit status, stdout, stderr) of ``command``, within the command timeout."""
        paramiko = paramiko_module()
        try:
            channel = self.client.get_transport().open_session(timeout=self.timeout)
            channel.settimeout(self.timeout)
            channel.exec_command(command)
            deadline = time.monotonic() + self.timeout
            out, err = bytearray(), bytearray()
            # sshd may send the exit status before the last of the output, so the output is read until the
            # server's end-of-file (or close), not until the exit status is known.
            while True:
                if time.monotonic() > deadline:
                    channel.close()
                    raise CommandFailed(f"{command.split()[0]} timed out after {self.timeout:g} s")
                if channel.recv_ready():
                    out += channel.recv(65536)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                elif (channel.eof_received or channel.closed) and channel.exit_status_ready():
                    break
                else:
                    time.sleep(0.005)
                if len(out) > MAX_OUTPUT:
                    channel.close()
                    raise CommandFailed(f"{command.split()[0]} printed more than {MAX_OUTPUT // 2**20} MiB")
            status = channel.recv_exit_status()
            channel.close()
            return status, bytes(out), bytes(err)
        except (socket.timeout, EOFError, OSError) as exc:
            raise CommandFailed(f"{command.split()[0]}: connection to {self.name} failed ({exc})") from None
        except paramiko.SSHException as exc:  # the session broke, or the server refused a channel
            raise CommandFailed(f"{command.split()[0]}: {self.name} refused ({exc})") from None

    # --- files: SFTP, else commands -------------------------------------------------------

    def _sftp_client(self):
        if self._sftp is None and not self._sftp_refused:
            try:
                self._sftp = self.client.open_sftp()
                self._sftp.get_channel().settimeout(self.timeout)
            except paramiko_module().SSHException:  # no SFTP subsystem on this server
                self._sftp_refused = True
        return self._sftp

    def read_bytes(self, path: str) -> bytes:
        """The file's content; OSError (EFBIG) when it is larger than ``MAX_FILE``, read no further."""
        sftp = self._sftp_client()
        if sftp is not None:
            with sftp.open(path, "rb") as remote:
                size = remote.stat().st_size or 0  # 0 for /proc and /sys files, whose size is unknown
                if size > MAX_FILE:
                    raise _too_large(path)
                if size:
                    # Requests in flight together up to the file's end only: none left
                    # running in paramiko's prefetch thread when the connection closes.
                    remote.prefetch(size)
                data = remote.read(MAX_FILE + 1)
        else:
            data = self._file_command(["cat", "--", path])  # bounded by MAX_OUTPUT
        if len(data) > MAX_FILE:
            raise _too_large(path)
        return data

    def listdir(self, path: str) -> list:
        sftp = self._sftp_client()
        if sftp is not None:
            return sftp.listdir(path)
        return self._file_command(["ls", "-1A", "--", path]).decode("utf-8", "replace").splitlines()

    def kind(self, path: str) -> Optional[str]:
        sftp = self._sftp_client()
        try:
            if sftp is not None:
                return "dir" if stat.S_ISDIR(sftp.stat(path).st_mode or 0) else "file"
            return "dir" if self._file_command(["stat", "-L", "-c", "%F", "--", path]).strip() == b"directory" \
                else "file"
        except OSError:
            return None

    def realpath(self, path: str) -> str:
        sftp = self._sftp_client()
        if sftp is not None:
            return sftp.normalize(path)
        return self._file_command(["readlink", "-f", "--", path]).decode("utf-8", "replace").strip()

    def _file_command(self, argv: list) -> bytes:
        """A file command's output; its failure as the OSError a local read would raise."""
        try:
            status, out, err = self._execute(shlex.join(argv))
        except CommandFailed as exc:
            raise OSError(errno.EIO, str(exc)) from None
        if status == 0:
            return out
        message = err.decode("utf-8", "replace")
        if "No such file" in message:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", argv[-1])
        if "Permission denied" in message:
            raise PermissionError(errno.EACCES, "Permission denied", argv[-1])
        raise OSError(errno.EIO, message.strip()[:200] or f"{argv[0]} exited {status}", argv[-1])
