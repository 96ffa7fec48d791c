"""Windows 11 CPU support, decided the way Microsoft's HardwareReadiness.ps1 decides it.

Microsoft publishes lists of supported processors by name, but names are
unreliable in inventories (OEM strings, VMs, truncated WMI fields). Its own
readiness script (HardwareReadiness.ps1, https://aka.ms/HWReadinessScript)
instead gates on CPUID numbers, which every probe reads exactly; we apply the
same numeric gate so a ward's verdict matches what Microsoft's tool says on
that PC. The numbers are the display family and model Windows shows in
``Intel64 Family 6 Model 158 Stepping 10`` (extended fields already added).

What the script does, for x64 processors:

- GenuineIntel: family >= 6 with model <= 95 fails, except family 6 model 85;
  family 6 models 142 and 158 at stepping 9 pass only with a particular
  "Platform Specific Field 1" registry value (16 for model 142, 8 for 158);
  everything else passes.
- AuthenticAMD: family < 23 fails, family 23 models 1 and 17 (Zen 1 and
  Raven Ridge) fail; everything else passes.
- Any other vendor fails.

It is a coarse gate, not the list: Coffee Lake (8th gen) and Kaby Lake share
model 158 and differ only by stepping, and the script never looks at the
brand string (apart from a one-off i7-7820HQ device exception, which needs
the machine's model name and is out of scope here).

Where a report cannot reproduce the script, or the script says nothing
meaningful, this module decides as follows (unknown rather than a guessed "no"):

- model 142/158 stepping 9: mostly 7th-generation Core (not supported), but
  also Amber Lake and Kaby Lake-X (supported); reports carry no platform id,
  so unknown;
- family 6 model 85 (Core X-series and Xeon W of the Skylake generation, which
  Microsoft added to its list in 2021, and Xeon Scalable): the script exempts
  the whole model without further checks, so we pass it too, with a note
  saying the pass comes from that exemption;
- Intel families other than 6 and 15: the gate was written for families 6
  and 15 (NetBurst, which fails); a new family says nothing by that rule;
- Intel family < 6 fails: those are 32-bit-only parts, which the script
  rejects through its 64-bit address-width check;
- other vendors (Hygon, Zhaoxin, Qualcomm on ARM) and missing facts: unknown,
  since a verdict must never be a guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

INTEL = "GenuineIntel"
AMD = "AuthenticAMD"


@dataclass(frozen=True)
class CpuSupport:
    """``supported`` is None when the facts at hand cannot decide; the reasons say why, in English and Vietnamese."""

    supported: Optional[bool]
    reason: str
    reason_vi: str


def win11_cpu_support(vendor: Optional[str], family: Optional[int], model: Optional[int],
                      stepping: Optional[int] = None) -> CpuSupport:
    """Apply HardwareReadiness.ps1's CPU gate to CPUID vendor, display family, model and stepping."""
    vendor = (vendor or "").strip()
    key = vendor.casefold()  # the script compares ignoring case
    if key not in (INTEL.casefold(), AMD.casefold()):
        shown = vendor or "not reported"
        return CpuSupport(None, f"CPU vendor {shown}: only Intel and AMD are decided from CPUID",
                          f"hãng {vendor or 'chưa rõ'}: chỉ xác định được với Intel và AMD")
    if family is None or model is None:
        return CpuSupport(None, "CPU family/model not reported", "báo cáo thiếu family/model của CPU")
    if key == INTEL.casefold():
        return _intel(family, model, stepping)
    return _amd(family, model)


def _intel(family: int, model: int, stepping: Optional[int]) -> CpuSupport:
    if family < 6:
        return CpuSupport(False, f"Intel family {family} is a 32-bit-era processor",
                          f"Intel family {family} là dòng 32-bit đời cũ")
    if family == 15:
        return CpuSupport(False, "Intel family 15 (Pentium 4/D, NetBurst) is older than 8th-generation Core",
                          "Intel family 15 (Pentium 4/D) cũ hơn Core thế hệ 8")
    if family != 6:
        return CpuSupport(None, f"Intel family {family} is outside the readiness script's gate",
                          f"Intel family {family} nằm ngoài phạm vi quy tắc của Microsoft")
    if model == 85:
        return CpuSupport(True, "Intel family 6 model 85 (Core X, Xeon W, Xeon Scalable) is exempted "
                                "by the readiness script",
                          "Intel family 6 model 85 (Core X, Xeon W, Xeon Scalable) được công cụ "
                          "kiểm tra của Microsoft chấp nhận")
    if model <= 95:
        return CpuSupport(False, f"Intel family 6 model {model} is older than 8th-generation Core",
                          f"Intel family 6 model {model} cũ hơn Core thế hệ 8")
    if model in (142, 158):
        if stepping is None:
            return CpuSupport(None, f"Intel family 6 model {model} needs its stepping to tell "
                                    "Kaby Lake from later generations",
                              f"Intel family 6 model {model} cần stepping để phân biệt Kaby Lake với thế hệ mới hơn")
        if stepping == 9:
            return CpuSupport(None, f"Intel family 6 model {model} stepping 9 (Kaby Lake, Amber Lake or "
                                    "Kaby Lake-X): decided by the platform id, which the report does not carry",
                              f"Intel family 6 model {model} stepping 9 (Kaby Lake, Amber Lake hoặc Kaby Lake-X): "
                              "cần mã nền tảng mà báo cáo không có")
    return CpuSupport(True, f"Intel family 6 model {model} passes the readiness script's gate",
                      f"Intel family 6 model {model} qua được kiểm tra của Microsoft")


def _amd(family: int, model: int) -> CpuSupport:
    if family < 23:
        return CpuSupport(False, f"AMD family {family} is older than Zen+",
                          f"AMD family {family} cũ hơn thế hệ Zen+")
    if family == 23 and model in (1, 17):
        name = "Zen 1" if model == 1 else "Raven Ridge"
        return CpuSupport(False, f"AMD family 23 model {model} ({name}) is excluded by Microsoft",
                          f"AMD family 23 model {model} ({name}) bị Microsoft loại trừ")
    return CpuSupport(True, f"AMD family {family} model {model} passes the readiness script's gate",
                      f"AMD family {family} model {model} qua được kiểm tra của Microsoft")
