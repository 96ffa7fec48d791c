"""Read a Windows machine into plain facts: winreg, and CIM through PowerShell.

Querying lives here and parsing in :mod:`agents.windows_parse`, so the
parsing is tested on recorded outputs anywhere. Only the standard library
and psutil are used: the registry through ``winreg``, CIM through one
``powershell.exe -NoProfile -NonInteractive`` running ``Get-CimInstance ...
| ConvertTo-Json`` for every class, each with its own operation timeout,
the process with an overall one. A query that fails or times out leaves
its facts unknown with a note; it never hangs the scheduled task.

Written for Windows 7 SP1 (with PowerShell 3.0 or later for CIM) up to
Windows 11 24H2 and Windows Server 2008 R2 to 2025; older systems still
give their registry facts (OS, CPU, software).
"""
from __future__ import annotations

import base64
import json
import os
import platform
import socket
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Sequence

import psutil

from inventory.report import rfc3339

from .builder import Facts
from .host_psutil import psutil_fact, read_core_counts, read_interfaces
from .windows_parse import (
    identity_clues,
    integer,
    parse_cpu,
    parse_device,
    parse_disks,
    parse_firmware,
    parse_memory,
    parse_os,
    parse_software,
    parse_system_disk,
)

HKLM = "HKEY_LOCAL_MACHINE"
HKU = "HKEY_USERS"
UNINSTALL = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
UNINSTALL_32 = r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"
CENTRAL_PROCESSOR_0 = HKLM + r"\HARDWARE\DESCRIPTION\System\CentralProcessor\0"
CURRENT_VERSION = HKLM + r"\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
CONTROL = HKLM + r"\SYSTEM\CurrentControlSet\Control"
SECURE_BOOT_STATE = CONTROL + r"\SecureBoot\State"
CRYPTOGRAPHY = HKLM + r"\SOFTWARE\Microsoft\Cryptography"

CIM_OPERATION_TIMEOUT = 20  # seconds for each Get-CimInstance
POWERSHELL_TIMEOUT = 180.0  # seconds for the whole PowerShell process
# Accounts that are services, not people: their hives hold no user-installed programs.
_SERVICE_SIDS = ("S-1-5-18", "S-1-5-19", "S-1-5-20", ".DEFAULT")


class RegistryError(Exception):
    """A registry key exists but could not be read (access denied, corrupt hive)."""


class Registry(Protocol):
    """The three registry reads the probe needs; paths start with the hive's full name."""

    def values(self, path: str) -> Optional[dict]:
        """Value name -> value of a key, None when the key does not exist."""

    def subkeys(self, path: str) -> Optional[list]:
        """Names of a key's subkeys, None when the key does not exist."""


@dataclass(frozen=True)
class CimQuery:
    """One CIM class to read: ``pipeline`` is PowerShell producing the instances to keep."""

    key: str
    pipeline: str


def _select(cls: str, properties: str, namespace: Optional[str] = None, where: Optional[str] = None) -> str:
    ns = f" -Namespace '{namespace}'" if namespace else ""
    flt = f' -Filter "{where}"' if where else ""
    return f"Get-CimInstance -ClassName {cls}{ns}{flt} -OperationTimeoutSec $t | Select-Object {properties}"


QUERIES = (
    CimQuery("Win32_ComputerSystem", _select(
        "Win32_ComputerSystem", "Manufacturer,Model,DNSHostName,Name,PCSystemType,PCSystemTypeEx,TotalPhysicalMemory")),
    CimQuery("Win32_ComputerSystemProduct", _select("Win32_ComputerSystemProduct", "UUID,IdentifyingNumber")),
    CimQuery("Win32_SystemEnclosure", _select("Win32_SystemEnclosure", "ChassisTypes")),
    # ReleaseDate formatted here: ConvertTo-Json would write a UTC instant that can fall on the day before.
    CimQuery("Win32_BIOS", _select(
        "Win32_BIOS", "Manufacturer,SMBIOSBIOSVersion,Version,SerialNumber,"
                      "@{n='ReleaseDate';e={if ($_.ReleaseDate) { $_.ReleaseDate.ToString('yyyy-MM-dd', "
                      "[Globalization.CultureInfo]::InvariantCulture) }}}")),
    CimQuery("Win32_Processor", _select(
        "Win32_Processor", "Name,Manufacturer,Caption,Level,Revision,NumberOfCores,NumberOfLogicalProcessors,"
                           "MaxClockSpeed")),
    CimQuery("Win32_PhysicalMemory", _select("Win32_PhysicalMemory", "Capacity")),
    CimQuery("Win32_DiskDrive", _select("Win32_DiskDrive", "Index,DeviceID,Model,Size,MediaType,InterfaceType")),
    CimQuery("MSFT_PhysicalDisk", _select(
        "MSFT_PhysicalDisk", "DeviceId,FriendlyName,Model,Size,MediaType,BusType", r"root\Microsoft\Windows\Storage")),
    CimQuery("Win32_LogicalDisk", _select("Win32_LogicalDisk", "DeviceID,Size,FreeSpace", where="DriveType=3")),
    CimQuery("SystemDiskIndex",
             "Get-CimInstance -ClassName Win32_LogicalDisk -Filter \"DeviceID='$env:SystemDrive'\" "
             "-OperationTimeoutSec $t | Get-CimAssociatedInstance -ResultClassName Win32_DiskPartition "
             "-OperationTimeoutSec $t | Select-Object DiskIndex"),
    CimQuery("Win32_Tpm", _select(
        "Win32_Tpm", "SpecVersion,IsEnabled_InitialValue,IsActivated_InitialValue,ManufacturerVersion",
        r"root\cimv2\Security\MicrosoftTpm")),
)


def powershell_script(queries: Sequence[CimQuery], operation_timeout: int = CIM_OPERATION_TIMEOUT) -> str:
    """One script for every query: each in its own try, the whole answer one JSON object.

    ``{"Win32_BIOS": {"ok": [...]}, "Win32_Tpm": {"error": "Access denied"}}``.
    PowerShell 2.0 (Windows 7 as shipped) has neither Get-CimInstance nor
    ConvertTo-Json; it answers with a readable error instead.
    """
    lines = [
        "$ErrorActionPreference = 'Stop'",
        "$ProgressPreference = 'SilentlyContinue'",
        "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }",
        "if ($PSVersionTable.PSVersion.Major -lt 3) "
        "{ [Console]::Out.Write('{\"_error\":\"PowerShell 3.0 or later is needed for CIM queries\"}'); exit 0 }",
        f"$t = {int(operation_timeout)}",
        "$r = @{}",
    ]
    for query in queries:
        lines.append(f"try {{ $r['{query.key}'] = @{{ok = @({query.pipeline})}} }} "
                     f"catch {{ $r['{query.key}'] = @{{error = $_.Exception.Message}} }}")
    lines.append("[Console]::Out.Write((ConvertTo-Json -InputObject $r -Depth 5 -Compress))")
    return "\n".join(lines)


def default_powershell() -> str:
    """The inbox Windows PowerShell by absolute path: as SYSTEM, PATH is not to be trusted."""
    root = os.environ.get("SystemRoot", r"C:\Windows")
    return os.path.join(root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")


class PowerShellCim:
    """Runs the CIM queries in one time-bounded PowerShell process."""

    def __init__(self, executable: Optional[str] = None, timeout: float = POWERSHELL_TIMEOUT,
                 operation_timeout: int = CIM_OPERATION_TIMEOUT) -> None:
        self.executable = executable or default_powershell()
        self.timeout = timeout
        self.operation_timeout = operation_timeout

    def query(self, queries: Sequence[CimQuery], notes: list) -> dict:
        """key -> list of instances, or None (with a note) for a query that failed."""
        script = powershell_script(queries, self.operation_timeout)
        # -EncodedCommand: the script's quotes survive; -Command lets the command line eat them.
        encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
        argv = [self.executable, "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]
        failure = None
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.timeout, stdin=subprocess.DEVNULL,
                                  check=False, **_no_window())
        except FileNotFoundError:
            failure = f"{self.executable} not found"
        except subprocess.TimeoutExpired:
            failure = f"PowerShell did not finish within {self.timeout:g} s"
        except OSError as exc:
            failure = f"PowerShell could not start ({exc.strerror or exc})"
        else:
            failure, answers = _answers(done.returncode, done.stdout, done.stderr)
        if failure is not None:
            notes.append(f"cim: {failure}; hardware, firmware and TPM facts from CIM are unknown")
            return dict.fromkeys((q.key for q in queries), None)
        return {q.key: _instances(q.key, answers.get(q.key), notes) for q in queries}


def _no_window() -> dict:
    """Keeps a console window from flashing on a logged-in user's screen."""
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    return {"creationflags": flags} if flags else {}


def _answers(returncode: int, stdout: bytes, stderr: bytes) -> tuple:
    text = stdout.decode("utf-8-sig", "replace").strip()
    if returncode != 0 or not text:
        reason = stderr.decode("utf-8", "replace").strip().splitlines()
        return f"PowerShell exited {returncode}" + (f": {reason[0][:200]}" if reason else " without output"), {}
    try:
        answers = json.loads(text)
    except ValueError:
        return "PowerShell's output is not JSON", {}
    if not isinstance(answers, dict):
        return "PowerShell's output is not a JSON object", {}
    if answers.get("_error"):
        return str(answers["_error"])[:200], {}
    return None, answers


def _instances(key: str, answer: Any, notes: list) -> Optional[list]:
    if not isinstance(answer, dict):
        notes.append(f"cim {key}: no answer")
        return None
    if "error" in answer:
        message = " ".join(str(answer["error"]).split())[:300]
        hint = " (needs the agent to run as SYSTEM or an administrator)" if "denied" in message.lower() else ""
        notes.append(f"cim {key}: {message}{hint}")
        return None
    found = answer.get("ok")
    if found is None:
        return []
    found = found if isinstance(found, list) else [found]
    return [i for i in found if isinstance(i, dict)]


class WinRegistry:
    """``winreg`` on the 64-bit view, so a 32-bit Python still sees the machine's own keys."""

    def __init__(self) -> None:
        import winreg  # Windows only; imported here so the module loads (and is tested) anywhere

        # typeshed declares winreg's contents only under sys.platform == "win32", and mypy checks this
        # project for the platform it runs on, so the module is typed Any here rather than empty.
        self._winreg: Any = winreg
        self._access = self._winreg.KEY_READ | self._winreg.KEY_WOW64_64KEY

    def _open(self, path: str):
        hive_name, _, sub = path.partition("\\")
        hive = getattr(self._winreg, hive_name)
        try:
            return self._winreg.OpenKey(hive, sub, 0, self._access)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryError(f"{path}: {exc.strerror or exc}") from exc

    def values(self, path: str) -> Optional[dict]:
        key = self._open(path)
        if key is None:
            return None
        with key:
            count = self._winreg.QueryInfoKey(key)[1]
            result = {}
            for index in range(count):
                try:
                    name, value, _kind = self._winreg.EnumValue(key, index)
                except OSError:
                    break  # a value removed while reading
                result[name] = value
            return result

    def subkeys(self, path: str) -> Optional[list]:
        key = self._open(path)
        if key is None:
            return None
        with key:
            count = self._winreg.QueryInfoKey(key)[0]
            names = []
            for index in range(count):
                try:
                    names.append(self._winreg.EnumKey(key, index))
                except OSError:
                    break
            return names


def probe(registry: Optional[Registry] = None, cim: Optional[Callable[[Sequence[CimQuery], list], dict]] = None,
          system_drive: Optional[str] = None, architecture: Optional[str] = None) -> Facts:
    """Read everything this account may read. As SYSTEM (the scheduled task) that is everything;
    as a plain user the TPM and other users' programs stay unknown, with notes."""
    collected_at = rfc3339()
    notes: list = []
    registry = registry if registry is not None else WinRegistry()
    cim_results = (cim or PowerShellCim().query)(QUERIES, notes)
    read = _RegistryReader(registry, notes)
    drive = system_drive or os.environ.get("SystemDrive", "C:")
    system_index = next((integer(i.get("DiskIndex")) for i in cim_results.get("SystemDiskIndex") or []), None)

    def first(key: str) -> Optional[dict]:
        found = cim_results.get(key)
        return found[0] if found else None

    bios = first("Win32_BIOS")
    cpu = parse_cpu(read.values(CENTRAL_PROCESSOR_0, "cpu"), cim_results.get("Win32_Processor"), notes,
                    fallback_cores=read_core_counts(notes))
    memory = parse_memory(cim_results.get("Win32_PhysicalMemory"), first("Win32_ComputerSystem"), notes)
    if memory is None:
        memory = psutil_fact(lambda: psutil.virtual_memory().total, "memory", notes)
    disks = parse_disks(cim_results.get("Win32_DiskDrive"), cim_results.get("MSFT_PhysicalDisk"), system_index, notes)
    volumes = cim_results.get("Win32_LogicalDisk")
    if volumes is None:
        usage = psutil_fact(lambda: psutil.disk_usage(os.path.join(drive, os.sep)), "system disk usage", notes)
        volumes = [{"DeviceID": drive, "Size": usage.total, "FreeSpace": usage.free}] if usage else []
    hardware = {"cpu": cpu, "memory_bytes": memory, "disks": disks,
                "system_disk": parse_system_disk(volumes, drive, disks, notes)}
    firmware = parse_firmware(read.values(CONTROL, "boot mode"), read.values(SECURE_BOOT_STATE, "secure boot"),
                              cim_results.get("Win32_Tpm"), bios, notes)
    product = first("Win32_ComputerSystemProduct")
    device = parse_device(first("Win32_ComputerSystem"), product, first("Win32_SystemEnclosure"), bios,
                          socket.gethostname(), notes)
    identity = identity_clues(product,
                              (read.values(CRYPTOGRAPHY, "device id (MachineGuid)") or {}).get("MachineGuid"))
    os_facts = parse_os(read.values(CURRENT_VERSION, "os"), architecture or _architecture(), notes)
    software = parse_software(read.uninstall_hives(), notes)
    return Facts(device=device, hardware=hardware, firmware=firmware, os=os_facts, software=software,
                 interfaces=read_interfaces(notes), notes=notes, collected_at=collected_at, identity=identity)


def _architecture() -> str:
    """The machine's, not this Python's: a 32-bit Python on 64-bit Windows sees PROCESSOR_ARCHITEW6432."""
    return os.environ.get("PROCESSOR_ARCHITEW6432") or os.environ.get("PROCESSOR_ARCHITECTURE") or platform.machine()


class _RegistryReader:
    """Registry reads whose failures become notes naming the fact that stays unknown."""

    def __init__(self, registry: Registry, notes: list) -> None:
        self.registry = registry
        self.notes = notes

    def values(self, path: str, what: str) -> Optional[dict]:
        try:
            return self.registry.values(path)
        except RegistryError as exc:
            self.notes.append(f"{what}: registry key unreadable ({exc})")
            return None

    def uninstall_hives(self) -> list:
        """Machine-wide programs (64- and 32-bit views), then per-user ones of the users logged on.

        Profiles of users not logged on are not loaded, so their per-user
        programs (Zalo, a user-installed Chrome) are missing until they are.
        """
        paths = [f"{HKLM}\\{UNINSTALL}", f"{HKLM}\\{UNINSTALL_32}"]
        try:
            users = self.registry.subkeys(HKU) or []
        except RegistryError as exc:
            self.notes.append(f"software: cannot list user profiles ({exc})")
            users = []
        paths += [f"{HKU}\\{sid}\\{UNINSTALL}" for sid in users
                  if sid not in _SERVICE_SIDS and not sid.endswith("_Classes")]
        hives = []
        for path in paths:
            try:
                names = self.registry.subkeys(path)
            except RegistryError as exc:
                self.notes.append(f"software: {exc}")
                continue
            hive = {}
            for name in names or []:
                try:
                    hive[name] = self.registry.values(f"{path}\\{name}") or {}
                except RegistryError as exc:
                    self.notes.append(f"software: {exc}")
            hives.append(hive)
        return hives
