"""What is installed on simulated Windows machines, and how a machine's list is picked.

Ward PCs carry hundreds of packages: Windows components and Store apps,
Office, everyday tools, drivers by vendor, and the catalog's applications by
the job of the person at the machine (one vendor per application per unit).
Servers carry SQL Server, IIS and backup tools. Linux packages are in
``simulate_linux_packages``.
"""
from __future__ import annotations

import random
from typing import Optional

from collector.simulate.machines import INTEL, Machine

_MS = "Microsoft Corporation"


# --------------------------------------------------------------------------- catalog applications

# Install names per catalog application, as the vendors' installers register
# them. A unit picks one variant per application (one vendor per contract).
APP_VARIANTS: dict[str, tuple[tuple[tuple[str, str, Optional[str]], ...], ...]] = {
    "one_stop_shop": ((("VNPT iGate Scan Plugin", "2.3.1", "VNPT-IT"),),
                      (("Viettel One-Stop Client", "3.1.0", "Viettel Solutions"),),
                      (("Một cửa điện tử liên thông", "4.0.2", "Văn phòng UBND TP Hà Nội"),)),
    "public_service_portal": ((("Plugin ký số Cổng Dịch vụ công", "1.0.8", "Văn phòng UBND TP Hà Nội"),),
                              (("DVC Plugin", "2.1.0", "VNPT-IT"),)),
    "e_office": ((("VNPT-iOffice Plugin", "4.2.0", "VNPT-IT"),), (("eDoc Client", "5.0.3", "CMC Corporation"),),
                 (("Phần mềm Quản lý văn bản và điều hành", "3.6", "Sở Thông tin và Truyền thông Hà Nội"),)),
    "civil_status": ((("Phần mềm Hộ tịch", "3.2.1", "Bộ Tư pháp"),),
                     (("Phan mem Ho tich", "3.1.0", "Bo Tu phap"),)),
    "e_certification": ((("Chứng thực bản sao điện tử", "1.4.0", "Bộ Tư pháp"),),),
    "population_vneid": ((("Phần mềm đọc thẻ CCCD gắn chip", "2.1.0", "Bộ Công an"),),
                         (("VNeID Desktop", "1.2.3", "Trung tâm RAR - Bộ Công an"),)),
    "ihanoi": ((("iHanoi", "1.6.2", "UBND TP Hà Nội"),),),
    "land_records": ((("ViLIS 2.0", "2.0.5", "Cục Công nghệ thông tin - Bộ TN&MT"),
                      ("gCadas 2020", "20.12", "Bộ Tài nguyên và Môi trường")),
                     (("ELIS Client", "3.4.1", "Sở Tài nguyên và Môi trường Hà Nội"), ("Famis", "2.0", None))),
    "commune_accounting": ((("MISA Mimosa.NET 2022", "R29", "MISA JSC"),),
                           (("MISA Bamboo.NET 2021", "R35", "MISA JSC"),)),
    "treasury": ((("Dịch vụ công Kho bạc Nhà nước", "2.0.4", "Kho bạc Nhà nước"),),
                 (("TABMIS Client", "6.1", "Kho bạc Nhà nước"),)),
    "e_tax": ((("HTKK", "5.2.6", "Tổng cục Thuế"), ("iTaxViewer", "2.4.0", "Tổng cục Thuế")),),
    "social_insurance": ((("VNPT-BHXH", "4.5.2", "VNPT"),), (("iBHXH", "3.2.0", "Thái Sơn"),),
                         (("EFY-eBHXH", "2.9.1", "EFY Việt Nam"),), (("KBHXH 2024", "1.0.12", "BHXH Việt Nam"),)),
    "social_protection": ((("Quản lý đối tượng Bảo trợ xã hội", "2.3", "Sở Lao động - Thương binh và Xã hội"),),),
    "hr_officials": ((("CSDL cán bộ, công chức, viên chức", "2.0.1", "Sở Nội vụ Hà Nội"),),
                     (("Quản lý hồ sơ cán bộ", "5.2", "Sở Nội vụ Hà Nội"),)),
    "reporting": ((("Hệ thống thông tin báo cáo", "1.3.0", "Văn phòng UBND TP Hà Nội"),),),
    "video_conferencing": ((("Zoom Workplace (64-bit)", "6.3.11", "Zoom Video Communications, Inc."),),
                           (("Microsoft Teams", "24295.605.3225.8804", _MS),
                            ("Teams Machine-Wide Installer", "1.7.0.19051", _MS)),
                           (("Cisco Webex Meetings", "44.10.1", "Cisco Webex LLC"),)),
    "digital_signature": ((("VGCA Sign Service", "2.0.5", "Ban Cơ yếu Chính phủ"),
                           ("vSignPDF", "4.0.2", "Ban Cơ yếu Chính phủ")),
                          (("Viettel-CA Token Manager", "1.1.8", "Viettel"),),
                          (("VNPT-CA Plugin", "1.0.4.2", "VNPT"),), (("BkavCA Token Manager", "2.3.0", "Bkav"),)),
    "digital_archive": ((("Phần mềm Lưu trữ hồ sơ điện tử", "2.1", "Chi cục Văn thư - Lưu trữ Hà Nội"),),),
    "queue_satisfaction": ((("Hệ thống xếp hàng tự động", "3.0.1", None),
                            ("Đánh giá mức độ hài lòng", "1.5.0", None)),),
    "official_email": ((("Mozilla Thunderbird (x64 vi)", "128.5.2", "Mozilla"),),
                       (("Microsoft Outlook 2016", "16.0.4266.1001", _MS),)),
}

# Catalog applications by the job of the person at the machine.
ROLE_APPS = {
    "one_stop": ("one_stop_shop", "public_service_portal", "civil_status", "e_certification", "population_vneid",
                 "queue_satisfaction", "digital_signature", "e_office"),
    "accounting": ("commune_accounting", "treasury", "e_tax", "social_insurance", "digital_signature", "e_office"),
    "land": ("land_records", "digital_signature", "e_office"),
    "leader": ("e_office", "digital_signature", "video_conferencing", "official_email", "ihanoi"),
    "clerk": ("e_office", "hr_officials", "social_protection", "digital_archive", "reporting"),
    "meeting": ("video_conferencing", "e_office"),
    "office": ("e_office", "reporting"),
}
_EXTRA_APPS = (("official_email", 0.3), ("ihanoi", 0.08), ("video_conferencing", 0.08))
# Which catalog application an install row belongs to, so a migrated application's rows can leave the PCs.
APP_OF_ROW: dict[tuple[str, Optional[str], Optional[str]], str] = {
    row: app for app, variants in APP_VARIANTS.items() for variant in variants for row in variant}


# --------------------------------------------------------------------------- Windows software

def _vcredist() -> tuple[tuple[str, str, str], ...]:
    rows = [("Microsoft Visual C++ 2005 Redistributable", "8.0.61001", _MS),
            ("Microsoft Visual C++ 2005 Redistributable (x64)", "8.0.61000", _MS)]
    for arch in ("x86", "x64"):
        rows.append((f"Microsoft Visual C++ 2008 Redistributable - {arch} 9.0.30729.6161", "9.0.30729.6161", _MS))
        rows.append((f"Microsoft Visual C++ 2010  {arch} Redistributable - 10.0.40219", "10.0.40219", _MS))
        for year, ver in (("2012", "11.0.61030"), ("2013", "12.0.40664"), ("2022", "14.40.33810")):
            label = "2015-2022" if year == "2022" else year
            rows.append((f"Microsoft Visual C++ {label} Redistributable ({arch}) - {ver}", f"{ver}.0", _MS))
            for kind in ("Additional", "Minimum"):
                rows.append((f"Microsoft Visual C++ {year} {arch.upper() if year == '2022' else arch} {kind} "
                             f"Runtime - {ver}", ver, _MS))
    return tuple(rows)


VCREDIST = _vcredist()
RUNTIMES = (("Microsoft Windows Desktop Runtime - 6.0.36 (x64)", "6.0.36.34217", _MS),
            ("Microsoft Windows Desktop Runtime - 8.0.11 (x64)", "8.0.11.34221", _MS),
            ("Microsoft .NET Runtime - 8.0.11 (x64)", "8.0.11.34217", _MS),
            ("Microsoft .NET Host - 8.0.11 (x64)", "64.44.6346", _MS),
            ("Microsoft .NET Host FX Resolver - 8.0.11 (x64)", "64.44.6346", _MS),
            ("Microsoft Visual Studio 2010 Tools for Office Runtime (x64)", "10.0.60917", _MS))
WINDOWS_BASE = (("Microsoft Edge", "131.0.2903.112", _MS), ("Microsoft Edge Update", "1.3.195.39", None),
                ("Microsoft Edge WebView2 Runtime", "131.0.2903.112", _MS),
                ("Microsoft Update Health Tools", "5.72.0.0", _MS), ("Microsoft OneDrive", "24.226.1110.0004", _MS))
WIN10_ONLY = (("Windows PC Health Check", "3.6.2204.08001", _MS),
              ("Update for Windows 10 for x64-based Systems (KB5001716)", "8.94.0.0", _MS))
APPX_COMMON = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.WindowsCalculator", "11.2405.2.0"), ("Microsoft.WindowsCamera", "2024.2408.1.0"),
    ("Microsoft.Windows.Photos", "2024.11100.16009.0"), ("Microsoft.WindowsStore", "22410.1401.5.0"),
    ("Microsoft.ScreenSketch", "11.2409.25.0"), ("Microsoft.WindowsAlarms", "11.2408.4.0"),
    ("Microsoft.WindowsMaps", "11.2407.3.0"), ("Microsoft.WindowsSoundRecorder", "11.2408.6.0"),
    ("Microsoft.WindowsFeedbackHub", "1.2405.21221.0"), ("Microsoft.GetHelp", "10.2409.22951.0"),
    ("Microsoft.Getstarted", "10.2312.1.0"), ("Microsoft.BingWeather", "4.53.60911.0"),
    ("Microsoft.BingNews", "4.55.62231.0"), ("Microsoft.MicrosoftSolitaireCollection", "4.21.11050.0"),
    ("Microsoft.MicrosoftStickyNotes", "6.1.2.0"), ("Microsoft.YourPhone", "1.24102.126.0"),
    ("Microsoft.ZuneMusic", "11.2409.6.0"), ("Microsoft.ZuneVideo", "10.24091.10041.0"),
    ("Microsoft.Xbox.TCUI", "1.24.10001.0"), ("Microsoft.XboxGameOverlay", "1.54.4001.0"),
    ("Microsoft.XboxGamingOverlay", "7.124.9172.0"), ("Microsoft.XboxIdentityProvider", "12.115.1001.0"),
    ("Microsoft.XboxSpeechToTextOverlay", "1.97.17002.0"), ("Microsoft.GamingApp", "2410.1001.7.0"),
    ("Microsoft.DesktopAppInstaller", "1.24.25200.0"), ("Microsoft.StorePurchaseApp", "22409.1401.1.0"),
    ("Microsoft.HEIFImageExtension", "1.2.3.0"), ("Microsoft.VP9VideoExtensions", "1.2.2.0"),
    ("Microsoft.WebMediaExtensions", "1.1.1295.0"), ("Microsoft.WebpImageExtension", "1.1.1221.0"),
    ("Microsoft.RawImageExtension", "2.5.2.0"), ("Microsoft.VCLibs.140.00", "14.0.33519.0"),
    ("Microsoft.VCLibs.140.00.UWPDesktop", "14.0.33728.0"), ("Microsoft.UI.Xaml.2.7", "7.2409.9001.0"),
    ("Microsoft.UI.Xaml.2.8", "8.2310.30001.0"), ("Microsoft.NET.Native.Framework.2.2", "2.2.29512.0"),
    ("Microsoft.NET.Native.Runtime.2.2", "2.2.28604.0"), ("Microsoft.Services.Store.Engagement", "10.0.23012.0"),
    ("Microsoft.WindowsAppRuntime.1.5", "5001.275.500.0"), ("Microsoft.SecHealthUI", "1000.27703.1006.0"),
    ("Microsoft.Windows.ShellExperienceHost", "10.0.19041.4355"), ("Microsoft.Windows.Search", "1.14.17.19041"),
    ("Microsoft.Windows.CloudExperienceHost", "10.0.19041.4355"), ("Microsoft.AAD.BrokerPlugin", "1000.19041.4355.0"),
    ("Microsoft.AccountsControl", "10.0.19041.4355"), ("Microsoft.LockApp", "10.0.19041.4355"),
    ("Microsoft.Win32WebViewHost", "10.0.19041.4355"), ("Microsoft.Windows.ContentDeliveryManager", "10.0.19041.4355"),
    ("Microsoft.Windows.PeopleExperienceHost", "10.0.19041.4355"), ("Microsoft.MicrosoftOfficeHub", "18.2410.1171.0"),
    ("Microsoft.Todos", "2.114.7122.0"), ("Microsoft.PowerAutomateDesktop", "11.2410.249.0"),
    ("MicrosoftCorporationII.QuickAssist", "2.0.32.0"), ("Microsoft.Windows.DevHome", "0.1900.694.0"),
))
# Frameworks come once per architecture, and system apps (some named by a GUID) are listed too.
APPX_SYSTEM = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.VCLibs.140.00", "14.0.33519.0"), ("Microsoft.VCLibs.140.00.UWPDesktop", "14.0.33728.0"),
    ("Microsoft.UI.Xaml.2.7", "7.2409.9001.0"), ("Microsoft.UI.Xaml.2.8", "8.2310.30001.0"),
    ("Microsoft.NET.Native.Framework.2.2", "2.2.29512.0"), ("Microsoft.NET.Native.Runtime.2.2", "2.2.28604.0"),
    ("Microsoft.WindowsAppRuntime.1.5", "5001.275.500.0"), ("Microsoft.WindowsAppRuntime.1.4", "4000.1309.2056.0"),
    ("Microsoft.LanguageExperiencePackvi-VN", "19041.78.242.0"), ("Microsoft.Windows.NarratorQuickStart",
                                                                "10.0.19041.4355"),
    ("Microsoft.Windows.ParentalControls", "1000.19041.4355.0"), ("Microsoft.Windows.Apprep.ChxApp",
                                                                 "1000.19041.4355.0"),
    ("Microsoft.Windows.AssignedAccessLockApp", "1000.19041.4355.0"), ("Microsoft.Windows.CapturePicker",
                                                                      "10.0.19041.4355"),
    ("Microsoft.Windows.OOBENetworkCaptivePortal", "10.0.19041.4355"),
    ("Microsoft.Windows.OOBENetworkConnectionFlow", "10.0.19041.4355"),
    ("Microsoft.Windows.PinningConfirmationDialog", "1000.19041.4355.0"),
    ("Microsoft.Windows.XGpuEjectDialog", "10.0.19041.4355"), ("Microsoft.XboxGameCallableUI", "1000.19041.4355.0"),
    ("Microsoft.ECApp", "10.0.19041.4355"), ("Microsoft.CredDialogHost", "10.0.19041.4355"),
    ("Microsoft.BioEnrollment", "10.0.19041.4355"), ("Microsoft.MicrosoftEdgeDevToolsClient", "1000.19041.4355.0"),
    ("Microsoft.Windows.SecureAssessmentBrowser", "10.0.19041.4355"), ("Microsoft.AsyncTextService",
                                                                      "10.0.19041.4355"),
    ("Microsoft.Windows.CallingShellApp", "1000.19041.4355.0"), ("NcsiUwpApp", "1000.19041.4355.0"),
    ("Windows.CBSPreview", "10.0.19041.4355"), ("windows.immersivecontrolpanel", "10.0.2.1000"),
    ("Windows.PrintDialog", "6.2.3.0"), ("MicrosoftWindows.Client.CBS", "1000.19061.1000.0"),
    ("1527c705-839a-4832-9118-54d4Bd6a0c89", "10.0.19041.4355"),
    ("c5e2524a-ea46-4f67-841f-6a9465d9d515", "10.0.19041.4355"),
    ("E2A4F912-2574-4A75-9BB0-0D023378592B", "10.0.19041.4355"),
    ("F46D4000-FD22-4DB4-AC8E-4E1DDDE828FE", "10.0.19041.4355"),
))
APPX_WIN10 = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.People", "10.2202.100.0"), ("Microsoft.MSPaint", "6.2203.1037.0"),
    ("Microsoft.Microsoft3DViewer", "7.2211.24012.0"), ("Microsoft.SkypeApp", "15.130.3204.0"),
    ("Microsoft.549981C3F5F10", "4.2308.1005.0"), ("Microsoft.MixedReality.Portal", "2000.21051.1282.0"),
    ("Microsoft.Wallet", "2.4.18324.0"), ("Microsoft.Office.OneNote", "16001.14326.21904.0"),
))
APPX_WIN11 = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.WindowsNotepad", "11.2409.9.0"), ("Microsoft.Paint", "11.2410.28.0"),
    ("MicrosoftWindows.Client.WebExperience", "424.1301.270.9"), ("Clipchamp.Clipchamp", "3.1.12030.0"),
    ("Microsoft.WindowsTerminal", "1.21.3231.0"), ("Microsoft.OutlookForWindows", "1.2024.1113.400"),
    ("Microsoft.WindowsAppRuntime.1.6", "6000.311.13.0"), ("Microsoft.Windows.StartMenuExperienceHost",
                                                          "10.0.26100.2454"),
))


def _office_msi(year: str, suite: str, parts: tuple[str, ...], bits: str) -> tuple[tuple[str, str, str], ...]:
    version = {"2010": "14.0.7015.1000", "2016": "16.0.4266.1001"}[year]
    prefix = "Microsoft Office " if year == "2010" else "Microsoft "
    rows = [(f"Microsoft Office {suite} {year}", version, _MS),
            (f"Microsoft Office {bits} Components {year}", version, _MS),
            (f"Microsoft Office Shared {bits} MUI (English) {year}", version, _MS),
            (f"Microsoft Office Shared Setup Metadata MUI (English) {year}", version, _MS),
            (f"Microsoft Office Proofing (English) {year}", version, _MS),
            (f"Microsoft Office Proofing Tools {year} - English", version, _MS),
            (f"Microsoft Office Proofing Tools {year} - Español", version, _MS),
            (f"Outils de vérification linguistique {year} de Microsoft Office - Français", version, _MS)]
    rows += [(f"{prefix}{part} MUI (English) {year}", version, _MS) for part in parts]
    return tuple(rows)


_OFFICE_PARTS = ("Access", "Excel", "PowerPoint", "Publisher", "Outlook", "Word", "OneNote", "InfoPath", "Groove")
OFFICE = {
    "2010": _office_msi("2010", "Professional Plus", _OFFICE_PARTS, "32-bit"),
    "2016": _office_msi("2016", "Professional Plus", _OFFICE_PARTS + ("Skype for Business", "DCF"), "32-bit"),
    "2021": (("Microsoft Office LTSC Professional Plus 2021 - en-us", "16.0.14332.20812", _MS),
             ("Microsoft Office LTSC Professional Plus 2021 - vi-vn", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Extensibility Component", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Licensing Component", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Localization Component", "16.0.14332.20812", _MS)),
    "365": (("Microsoft 365 Apps for enterprise - en-us", "16.0.18129.20158", _MS),
            ("Microsoft 365 Apps for enterprise - vi-vn", "16.0.18129.20158", _MS),
            ("Office 16 Click-to-Run Extensibility Component", "16.0.18129.20158", _MS),
            ("Office 16 Click-to-Run Licensing Component", "16.0.18129.20158", _MS)),
    "wps": (("WPS Office", "12.2.0.18283", "Kingsoft Corp."),),
    "libre": (("LibreOffice 7.6.4.1", "7.6.4.1", "The Document Foundation"),),
}
# (probability, packages) of the everyday software on a ward PC.
COMMON_APPS = (
    (0.92, (("Google Chrome", "131.0.6778.205", "Google LLC"),)),
    (0.55, (("Cốc Cốc", "131.0.6778.214", "Công ty TNHH Cốc Cốc"),)),
    (0.25, (("Mozilla Firefox (x64 vi)", "133.0.3", "Mozilla"), ("Mozilla Maintenance Service", "133.0.3", "Mozilla"))),
    (0.85, (("Zalo", "24.12.1", "VNG Corp."),)),
    (0.70, (("UltraViewer version 6.6.105", "6.6.105", "DucFabulous"),)),
    (0.45, (("TeamViewer", "15.61.3", "TeamViewer"),)),
    (0.15, (("AnyDesk", "ad 9.0.5", "AnyDesk Software GmbH"),)),
    (0.60, (("Foxit PDF Reader", "2024.4.0.27683", "Foxit Software Inc."),)),
    (0.45, (("Adobe Acrobat (64-bit)", "24.005.20320", "Adobe"),)),
    (0.75, (("WinRAR 7.01 (64-bit)", "7.01.0", "win.rar GmbH"),)),
    (0.35, (("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov"),)),
    (0.30, (("UniKey 4.3 RC5", "4.3.5", "Phạm Kim Long"),)),
    (0.30, (("Bộ font chữ tiếng Việt (VNI, TCVN3, Unicode)", "1.0", None),)),
    (0.30, (("VLC media player", "3.0.21", "VideoLAN"),)),
    (0.15, (("K-Lite Codec Pack 18.6.5 Basic", "18.6.5", "KLCP"),)),
    (0.20, (("Notepad++ (64-bit x64)", "8.7.4", "Notepad++ Team"),)),
    (0.55, (("Java 8 Update 431", "8.0.4310.10", "Oracle Corporation"),
            ("Java Auto Updater", "2.8.431.10", "Oracle Corporation"))),
    (0.30, (("Kaspersky Endpoint Security for Windows", "12.7.0.533", "AO Kaspersky Lab"),
            ("Kaspersky Security Center Network Agent", "14.2.0.26967", "AO Kaspersky Lab"))),
    (0.30, (("Bkav Pro Internet Security", "5.3.0", "Bkav Corporation"),)),
    (0.10, (("Telegram Desktop", "5.9", "Telegram FZ-LLC"),)),
    (0.15, (("Skype version 8.134", "8.134", "Skype Technologies S.A."),)),
    (0.25, (("Microsoft Access database engine 2010 (English)", "14.0.7015.1000", _MS),)),
    (0.20, (("Google Drive", "104.0.2.0", "Google LLC"),)),
    (0.15, (("CCleaner", "6.31", "Piriform"),)),
    (0.10, (("Internet Download Manager", "6.42.27", "Tonec Inc."),)),
)
PRINTERS = (
    (("Canon LBP2900/2900B Printer Driver", "3.30", "Canon Inc."),),
    (("Canon LBP6030/6040/6018L", "1.20", "Canon Inc."), ("Canon MF Scan Utility", "1.10.0.2", "Canon Inc.")),
    (("HP LaserJet Pro MFP M127-M128 Basic Device Software", "33.2.120.1032", "HP Inc."),),
    (("Brother MFL-Pro Suite DCP-L2520D series", "1.0.3.0", "Brother Industries, Ltd."),),
    (("EPSON L3110 Series Printer Uninstall", None, "Seiko Epson Corporation"),),
)
ROLE_SOFTWARE = {
    "one_stop": (("PaperStream IP (TWAIN) 2.12.0", "2.12.0", "PFU Limited"),
                 ("PaperStream Capture", "3.3.0", "PFU Limited")),
    "accounting": (("Microsoft SQL Server 2014 (64-bit)", "12.3.6024.0", _MS),
                   ("Microsoft SQL Server 2014 Setup (English)", "12.3.6024.0", _MS),
                   ("Microsoft SQL Server 2012 Native Client", "11.4.7462.6", _MS),
                   ("Microsoft ODBC Driver 11 for SQL Server", "12.3.6024.0", _MS),
                   ("SQL Server Browser for SQL Server 2014", "12.3.6024.0", _MS),
                   ("Microsoft VSS Writer for SQL Server 2014", "12.3.6024.0", _MS),
                   ("SAP Crystal Reports runtime engine for .NET Framework (64-bit)", "13.0.32.4286", "SAP")),
    "land": (("MicroStation V8i (SELECTseries 4)", "08.11.09.578", "Bentley Systems, Incorporated"),
             ("AutoCAD 2019 - English", "23.0.47.0", "Autodesk")),
}
VENDOR_TOOLS = {
    "dell": (("Dell SupportAssist", "4.4.3.26567", "Dell Inc."), ("Dell Command | Update", "5.4.0", "Dell Inc."),
             ("Dell SupportAssist Remediation", "5.5.13.18342", "Dell Inc.")),
    "hp": (("HP Support Assistant", "9.38.33.0", "HP Inc."), ("HP Wolf Security", "4.5.21.1152", "HP Inc."),
           ("HP Notifications", "1.1.30.1", "HP")),
    "lenovo": (("Lenovo Vantage Service", "4.1.65.0", "Lenovo Group Ltd."),
               ("Lenovo System Update", "5.08.02.25", "Lenovo")),
    "asus": (("MyASUS", "4.0.27.0", "ASUSTeK COMPUTER INC."), ("ASUS System Control Interface", "3.1.34.0", "ASUS")),
    "oem": (),
}
INTEL_DRIVERS = (("Intel(R) Chipset Device Software", "10.1.19263.8344", "Intel(R) Corporation"),
                 ("Intel(R) Management Engine Components", "2040.100.0.1029", "Intel Corporation"),
                 ("Intel(R) Rapid Storage Technology", "17.11.3.1010", "Intel Corporation"))
INTEL_OLD_DRIVERS = (("Intel(R) Processor Graphics", "20.19.15.4531", "Intel Corporation"),
                     ("Intel(R) USB 3.0 eXtensible Host Controller Driver", "4.0.4.51", "Intel Corporation"))
# Drivers installed from vendor CDs on older PCs register one entry each.
DRIVER_PACKAGES = (
    ("Windows Driver Package - Intel (e1dexpress) Net  (12.15.22.6)", "12.15.22.6", "Intel"),
    ("Windows Driver Package - Realtek (RTL8192EU) Net  (03/25/2015 1030.9.0325.2015)", "03/25/2015 1030.9.0325.2015",
     "Realtek"),
    ("Windows Driver Package - Canon (CNAB3LA) Printers  (03/08/2012 3.30.0.0)", "03/08/2012 3.30.0.0", "Canon"),
    ("Windows Driver Package - Intel Corporation (iaStorA) HDC  (12/17/2014 13.6.0.1002)",
     "12/17/2014 13.6.0.1002", "Intel Corporation"),
    ("Windows Driver Package - Generic USB Audio (USBAudio) MEDIA  (01/01/2015 1.0.0.0)", "01/01/2015 1.0.0.0", None),
)
AMD_DRIVERS = (("AMD Software", "24.10.1", "Advanced Micro Devices, Inc."),
               ("AMD Chipset Software", "6.10.17.152", "Advanced Micro Devices, Inc."))
AMD_OLD_DRIVERS = (("AMD Catalyst Install Manager", "8.0.916.0", "Advanced Micro Devices, Inc."),)
REALTEK = (("Realtek High Definition Audio Driver", "6.0.9239.1", "Realtek Semiconductor Corp."),
           ("Realtek Ethernet Controller Driver", "10.68.1003.2023", "Realtek"))
LAPTOP_DRIVERS = (("Realtek Card Reader", "10.0.22000.31274", "Realtek Semiconductor Corp."),
                  ("Intel(R) Wireless Bluetooth(R)", "23.60.0.1", "Intel Corporation"),
                  ("Intel(R) PROSet/Wireless Software", "23.60.0", "Intel Corporation"),
                  ("Synaptics Pointing Device Driver", "19.5.35.8", "Synaptics Incorporated"))
SERVER_SOFTWARE = (
    ("Microsoft SQL Server 2019 (64-bit)", "15.0.4405.4", _MS), ("Microsoft SQL Server 2019 Setup (English)",
                                                                 "15.0.4405.4", _MS),
    ("SQL Server 2019 Database Engine Services", "15.0.4405.4", _MS),
    ("SQL Server 2019 Database Engine Shared", "15.0.4405.4", _MS),
    ("SQL Server 2019 Common Files", "15.0.4405.4", _MS), ("SQL Server 2019 Connection Info", "15.0.4405.4", _MS),
    ("Microsoft SQL Server Management Studio - 19.3", "19.3.4.0", _MS),
    ("Microsoft ODBC Driver 17 for SQL Server", "17.10.6.1", _MS),
    ("Microsoft OLE DB Driver for SQL Server", "18.7.4.0", _MS), ("Microsoft VSS Writer for SQL Server 2019",
                                                                 "15.0.4405.4", _MS),
    ("IIS URL Rewrite Module 2", "7.2.1993", _MS), ("Microsoft Web Deploy 4.0", "10.0.8616", _MS),
    ("Microsoft ASP.NET Core 8.0.11 Hosting Bundle", "8.0.11.24521", _MS),
    ("Veeam Agent for Microsoft Windows", "6.2.0.121", "Veeam Software Group GmbH"),
    ("Kaspersky Security 11 for Windows Server", "11.0.1.897", "AO Kaspersky Lab"),
    ("Google Chrome", "131.0.6778.205", "Google LLC"), ("Notepad++ (64-bit x64)", "8.7.4", "Notepad++ Team"),
    ("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov"), ("WinRAR 7.01 (64-bit)", "7.01.0", "win.rar GmbH"),
    ("UltraViewer version 6.6.105", "6.6.105", "DucFabulous"),
)


# --------------------------------------------------------------------------- picking a machine's list

def windows_software(rng: random.Random, machine: Machine, role: str, variants: dict[str, int],
                     removed: frozenset[str],
                     printers: tuple[int, ...]) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    """What a Windows PC at ``role``'s desk has installed, with the unit's vendors (``variants``), without
    the applications it no longer uses (``removed``), and drivers for one or two of its ``printers``."""
    rows: list[tuple[str, Optional[str], Optional[str]]] = list(WINDOWS_BASE)
    rows += [r for r in VCREDIST if rng.random() < 0.85]
    rows += [r for r in RUNTIMES if rng.random() < 0.6]
    rows += APPX_COMMON + APPX_SYSTEM + (APPX_WIN11 if machine.os == "win11" else APPX_WIN10 + WIN10_ONLY)
    old = machine.platform.year <= 2017
    office = rng.choices(("2010", "2016", "2021", "365", "wps", "libre"),
                         (0.35, 0.5, 0.05, 0.02, 0.05, 0.03) if old else (0.05, 0.45, 0.3, 0.12, 0.05, 0.03))[0]
    rows += OFFICE[office]
    for probability, packages in COMMON_APPS:
        if rng.random() < probability:
            rows += packages
    rows += _drivers(machine)
    for printer in printers[:rng.randint(1, 2)]:
        rows += PRINTERS[printer]
    rows += ROLE_SOFTWARE.get(role, ())
    rows += _catalog_apps(rng, role, variants, removed)
    return tuple(rows)


def _drivers(machine: Machine) -> list[tuple[str, Optional[str], Optional[str]]]:
    old = machine.platform.year <= 2017
    rows: list[tuple[str, Optional[str], Optional[str]]] = list(REALTEK)
    if machine.cpu.vendor == INTEL:
        rows += INTEL_DRIVERS + (INTEL_OLD_DRIVERS + DRIVER_PACKAGES if old else ())
    else:
        rows += AMD_OLD_DRIVERS if old else AMD_DRIVERS
    rows += VENDOR_TOOLS[machine.platform.serial_style]
    if machine.platform.device_class == "laptop":
        rows += LAPTOP_DRIVERS
    return rows


def _catalog_apps(rng: random.Random, role: str, variants: dict[str, int],
                  removed: frozenset[str]) -> list[tuple[str, Optional[str], Optional[str]]]:
    wanted = [app for app in ROLE_APPS[role] if rng.random() < 0.9]
    wanted += [app for app, probability in _EXTRA_APPS if rng.random() < probability]
    rows: list[tuple[str, Optional[str], Optional[str]]] = []
    for app in dict.fromkeys(wanted):
        if app not in removed:
            rows += APP_VARIANTS[app][variants[app]]
    return rows


def server_software(rng: random.Random, virtual: bool) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    """What a Windows server has installed; a ``virtual`` one has VMware Tools too."""
    rows: list[tuple[str, Optional[str], Optional[str]]] = [r for r in VCREDIST if rng.random() < 0.7]
    rows += RUNTIMES[:5]
    rows += [r for r in SERVER_SOFTWARE if rng.random() < 0.75]
    if virtual:
        rows.append(("VMware Tools", "12.4.5.23787635", "VMware, Inc."))
    if rng.random() < 0.3:
        rows += APP_VARIANTS["queue_satisfaction"][0]
    return tuple(rows)

