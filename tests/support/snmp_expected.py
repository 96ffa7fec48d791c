"""What each recorded SNMP walk says, read by hand from the .snmprec files (each value names its OID)."""

# file stem: (vendor, class, model, serial) — serial None where the recording has none.
EXPECTED = {
    # sysObjectID 14823.1.2.59; sysDescr "ArubaOS (MODEL: 225), Version 8.4.0.0-8.4.0.0"
    "access-point-aruba-instant-ap-225": ("Aruba", "access_point", "AP-225", None),
    # generic net-snmp sysObjectID; UBNT-UniFi-MIB unifiApSystemModel 41112.1.6.3.3.0 "UAP-nanoHD"
    "access-point-ubiquiti-unifi-uap-nanohd": ("Ubiquiti", "access_point", "UAP-nanoHD", None),
    # entPhysicalModelName.1 "FGT_60F", entPhysicalSerialNum.1 "FGT60FTK00000000"
    "firewall-fortinet-fortigate-60f": ("Fortinet", "firewall", "FGT_60F", "FGT60FTK00000000"),
    # SYNOLOGY-SYSTEM-MIB 6574.1.5.1.0 "RS2212RP+", 6574.1.5.2.0 "3005AWL999111"
    "nas-synology-rs2212rp-plus": ("Synology", "nas", "RS2212RP+", "3005AWL999111"),
    # hrDeviceDescr.1 "Brother MFC-L2710DW series"; brInfoSerialNumber 2435.2.3.9.4.2.1.5.5.1.0
    "printer-brother-mfc-l2710dw": ("Brother", "printer", "MFC-L2710DW", "000A5J431816"),
    # hrDeviceDescr.1 "Canon LBP6670"; prtGeneralSerialNumber.1 "MKRA012345"
    "printer-canon-lbp6670": ("Canon", "printer", "LBP6670", "MKRA012345"),
    # hrDeviceDescr.1 "HP LaserJet MFP M130nw"; prtGeneralSerialNumber.1 "VNCRC48198"
    "printer-hp-laserjet-mfp-m130nw": ("HP", "printer", "LaserJet MFP M130nw", "VNCRC48198"),
    # hrDeviceDescr.1 "RICOH Aficio MP C3002"; prtGeneralSerialNumber.1 "W492KB03439"
    "printer-ricoh-aficio-mp-c3002": ("Ricoh", "printer", "Aficio MP C3002", "W492KB03439"),
    # entPhysicalModelName.1 "ISR4321/K9", entPhysicalSerialNum.1 "FDO2249A154"
    "router-cisco-isr4321": ("Cisco", "router", "ISR4321/K9", "FDO2249A154"),
    # MIKROTIK-MIB mtxrBoardName 14988.1.1.7.9.0, mtxrSerialNumber 14988.1.1.7.3.0
    "router-mikrotik-rb750gr3": ("MikroTik", "router", "RB750Gr3", "6F3A071688EA"),
    # sysDescr (hex) "... C2960S Software (C2960S-UNIVERSALK9-M), Version 15.2(2a)E1 ..."; ENTITY serial empty
    "switch-cisco-catalyst-2960s": ("Cisco", "switch", "C2960S", None),
    # entPhysicalModelName.1 "DGS-1510-28", entPhysicalSerialNum.1 "RZC52H3000029"
    "switch-d-link-dgs-1510-28": ("D-Link", "switch", "DGS-1510-28", "RZC52H3000029"),
    # entPhysicalModelName.1 "J9146A", entPhysicalSerialNum.1 "AB123CD45E" (redacted by the contributor)
    "switch-hpe-procurve-e2910al-24g-poe": ("HP", "switch", "J9146A", "AB123CD45E"),
    # sysDescr (hex) first line "S5720-32X-EI-24S-AC"; chassis 67108867 serial "2102359579DMHC000288"
    "switch-huawei-s5720-32x-ei": ("Huawei", "switch", "S5720-32X-EI-24S-AC", "2102359579DMHC000288"),
    # entPhysicalModelName.1 "RG-S6220-48XS4QXS"; no serial anywhere
    "switch-ruijie-rg-s6220-48xs4qxs": ("Ruijie", "switch", "RG-S6220-48XS4QXS", None),
    # TPLINK-SYSINFO-MIB 11863.6.1.1.5.0 "T1600G-28TS 3.0", 11863.6.1.1.8.0 "2199797000735"
    "switch-tp-link-jetstream-t1600g-28ts": ("TP-Link", "switch", "T1600G-28TS", "2199797000735"),
    # PowerNet upsBasicIdentModel 318.1.1.1.1.1.1.0, upsAdvIdentSerialNumber 318.1.1.1.1.2.3.0
    "ups-apc-smart-ups-1000-nmc3": ("APC", "ups", "Smart-UPS 1000", "AS2233161027"),
    # CPS-MIB 3808.1.1.1.1.1.1.0 "OL2200RTXL2U", 3808.1.1.1.1.2.3.0 "ABCFT1000001"
    "ups-cyberpower-ol2200rtxl2u": ("CyberPower", "ups", "OL2200RTXL2U", "ABCFT1000001"),
    # MGE-MIB 705.1.1.1.0 "Eaton 9PX" + 705.1.1.2.0 "1000i RT 2U"; 705.1.1.7.0 "GA10J05109"
    "ups-eaton-9px-1000i": ("Eaton", "ups", "9PX 1000i RT 2U", "GA10J05109"),
    # sysObjectID .1.3.6.1.4.1.935 (NetAgent card); UPS-MIB has no model or serial
    "ups-megatec-netagent-ii-rfc1628": ("Megatec", "ups", None, None),
}
