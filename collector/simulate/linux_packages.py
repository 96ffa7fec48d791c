"""What is installed on simulated Linux servers: a few hundred dpkg packages by distribution and role.

Package names are real; versions are plausible and stable per name, since
real dpkg versions are not what is being simulated.
"""
from __future__ import annotations

import random
import zlib
from functools import lru_cache
from typing import Optional

from collector.simulate.machines import LINUX

_DPKG_CORE = """adduser apt apt-utils base-files base-passwd bash bash-completion bind9-dnsutils bind9-host bind9-libs
bsdextrautils bsdutils busybox bzip2 ca-certificates console-setup console-setup-linux coreutils cpio cron
cron-daemon-common curl dash dbus dbus-bin dbus-daemon dbus-session-bus-common dbus-system-bus-common
dbus-user-session debconf debconf-i18n debianutils diffutils dirmngr distro-info-data dmidecode dmsetup dpkg
e2fsprogs ethtool fdisk file findutils fontconfig-config fonts-dejavu-core fuse3 gawk gcc-12-base gettext-base
gnupg gnupg-l10n gnupg-utils gpg gpg-agent gpg-wks-client gpg-wks-server gpgconf gpgsm gpgv grep groff-base
grub-common grub-efi-amd64-bin grub-efi-amd64-signed grub-pc-bin grub2-common gzip hostname htop ifupdown init
init-system-helpers initramfs-tools initramfs-tools-core iproute2 iptables iputils-ping iputils-tracepath
isc-dhcp-client isc-dhcp-common iw keyboard-configuration klibc-utils kmod less locales login logrotate logsave
lsb-release lsof lvm2 man-db manpages mawk mdadm media-types mokutil mount nano ncurses-base ncurses-bin
ncurses-term netbase netcat-openbsd net-tools nftables ntfs-3g openssh-client openssh-server openssh-sftp-server
openssl os-prober parted passwd pciutils perl perl-base pinentry-curses procps psmisc publicsuffix python3
python3-minimal readline-common rsync rsyslog runit-helper screen sed sensible-utils shim-helpers-amd64-signed
shim-signed shim-signed-common shim-unsigned smartmontools squashfs-tools ssh-import-id ssl-cert strace sudo
systemd systemd-sysv systemd-timesyncd sysvinit-utils tar tcpdump telnet time tmux traceroute tzdata ucf udev
unattended-upgrades unzip usb.ids usbutils util-linux util-linux-extra vim vim-common vim-runtime vim-tiny wget
whiptail xauth xdg-user-dirs xfsprogs xkb-data xxd xz-utils zip zstd acl apparmor attr dosfstools eject
friendly-recovery gdisk hdparm info install-info iso-codes kbd keyutils libpam-cap linux-base lshw mtr-tiny
ncdu needrestart nfs-common pci.ids plymouth policykit-1 polkitd pollinate rpcbind sg3-utils sg3-utils-udev
sosreport sysstat thin-provisioning-tools uuid-runtime wireless-regdb xdg-utils zerofree chrony auditd
ipmitool open-iscsi open-vm-tools qemu-guest-agent firmware-linux-free intel-microcode amd64-microcode
iucode-tool thermald lm-sensors fail2ban ufw postfix bsd-mailx mailcap mime-support"""
_DPKG_UBUNTU = """ubuntu-minimal ubuntu-server ubuntu-standard ubuntu-advantage-tools ubuntu-keyring
ubuntu-release-upgrader-core ubuntu-pro-client ubuntu-pro-client-l10n snapd cloud-init cloud-guest-utils
cloud-initramfs-copymods cloud-initramfs-dyn-netconf landscape-common motd-news-config update-notifier-common
apport apport-core-dump-handler apport-symptoms byobu command-not-found fwupd fwupd-signed netplan.io
networkd-dispatcher software-properties-common python3-netplan python3-software-properties python3-update-manager
update-manager-core overlayroot open-iscsi multipath-tools lxd-agent-loader lxd-installer pastebinit
python3-apport python3-problem-report python3-commandnotfound python3-distupgrade xfsprogs btrfs-progs
language-pack-en language-pack-en-base language-pack-vi language-pack-vi-base netplan-generator"""
_DPKG_DEBIAN = """debian-archive-keyring debian-faq reportbug apt-listchanges installation-report task-english
tasksel tasksel-data discover discover-data laptop-detect python3-reportbug python3-debianbts bsdmainutils
dictionaries-common emacsen-common ienglish-common wamerican doc-debian manpages-dev debian-keyring"""
_LIB_NAMES = """acl1 aio1 apparmor1 apr1 aprutil1 aprutil1-dbd-sqlite3 aprutil1-ldap apt-pkg6.0 argon2-1 assuan0
atm1 attr1 audit1 audit-common avahi-client3 avahi-common3 avahi-common-data blkid1 bpf1 brotli1 bsd0 bz2-1.0
c-bin c6 cap-ng0 cap2 cap2-bin cbor0.8 com-err2 crypt1 cryptsetup12 cups2 curl3-gnutls curl4 db5.3 dbus-1-3
debconfclient0 devmapper1.02.1 dns-export1110 edit2 elf1 event-2.1-7 event-core-2.1-7 expat1 ext2fs2 fdisk1
ffi8 fido2-1 fontconfig1 freetype6 fribidi0 fstrm0 fuse3-3 gcc-s1 gcrypt20 gd3 gdbm6 gdbm-compat4 geoip1
glib2.0-0 glib2.0-data gmp10 gnutls30 gpg-error0 gpm2 graphite2-3 gssapi-krb5-2 harfbuzz0b hogweed6 icu72
idn2-0 inih1 ip4tc2 ip6tc2 isc-export1105 jansson4 jbig0 jemalloc2 jpeg62-turbo json-c5 k5crypto3 keyutils1
kmod2 krb5-3 krb5support0 ksba8 ldap-2.5-0 lmdb0 lua5.3-0 lz4-1 lzma5 lzo2-2 magic1 magic-mgc maxminddb0 md0
mnl0 mount1 mpdec3 ncursesw6 netfilter-conntrack3 nettle8 newt0.52 nfnetlink0 nftables1 nftnl11 nghttp2-14
nl-3-200 nl-genl-3-200 npth0 nsl2 nss-systemd numa1 onig5 p11-kit0 pam-modules pam-modules-bin pam-runtime
pam-systemd pam0g parted2 pcap0.8 pci3 pcre2-8-0 pcre3 pipeline1 png16-16 popt0 pq5 proc2-0 protobuf-c1 psl5
python3.11 python3.11-minimal python3.11-stdlib readline8 rtmp1 sasl2-2 sasl2-modules sasl2-modules-db
seccomp2 selinux1 semanage2 semanage-common sepol2 slang2 smartcols1 sodium23 sqlite3-0 ss2 ssh-4 ssl3
stdc++6 systemd0 systemd-shared tasn1-6 tdb1 text-charwidth-perl text-iconv-perl text-wrapi18n-perl tiff6
tinfo6 tirpc3 tirpc-common udev1 unistring2 uring2 usb-1.0-0 uuid1 uv1 webp7 wrap0 x11-6 x11-data xau6 xcb1
xdmcp6 xext6 xml2 xmlsec1 xmlsec1-openssl xmuu1 xpm4 xslt1.1 xtables12 xxhash0 yaml-0-2 zip4 zstd1 sensors5
sensors-config snmp40 snmp-base mariadb3 smbclient wbclient0 talloc2 tevent0 ldb2 gnutls-dane0 unbound8
js-jquery js-bootstrap4 llvm15 ltdl7 mysqlclient21 odbc2 odbcinst2 oath0 curl4-openssl-dev pcre2-16-0
pcre2-32-0 pcre2-posix3 ncurses6 encode-locale-perl file-listing-perl html-parser-perl html-tagset-perl
http-date-perl http-message-perl io-html-perl lwp-mediatypes-perl timedate-perl uri-perl clone-perl
dbi-perl dbd-pg-perl dbd-mysql-perl json-perl json-xs-perl common-sense-perl types-serialiser-perl
mailtools-perl net-ssleay-perl io-socket-ssl-perl net-http-perl lwp-protocol-https-perl try-tiny-perl
xml-parser-perl xml-libxml-perl xml-sax-perl xml-sax-base-perl xml-namespacesupport-perl yaml-libyaml-perl
terminal-readkey-perl term-readline-gnu-perl sys-hostname-long-perl regexp-ipv6-perl fcgi-perl fcgi-bin
fcgi0ldbl apache2-mod-php8.2 gd-perl"""
_PY3_NAMES = """apt attr automat babel bcrypt blinker certifi cffi-backend chardet click colorama configobj
constantly cryptography dbus debconf debian distro distro-info gdbm gi hamcrest httplib2 hyperlink idna
importlib-metadata incremental jinja2 json-pointer jsonpatch jsonschema jwt launchpadlib lazr.restfulclient
lazr.uri markdown-it markupsafe mdurl more-itertools netifaces oauthlib openssl pexpect pkg-resources
ptyprocess pyasn1 pyasn1-modules pygments pyparsing pyrsistent pyserial requests rich serial service-identity
setuptools six systemd tz twisted urllib3 wadllib yaml zipp zope.interface psycopg2 psutil ldb samba talloc
tdb markdown docutils packaging pip venv wheel dateutil"""
# Libraries and tools a server picks up over the years (desktop bits for the
# admin's occasional GUI, Perl and Python modules, documentation, locales).
_DPKG_MORE = """adwaita-icon-theme alsa-topology-conf alsa-ucm-conf at-spi2-common at-spi2-core bc binutils
binutils-common binutils-x86-64-linux-gnu build-essential cpp cpp-12 dconf-gsettings-backend dconf-service
dh-python dpkg-dev fakeroot g++ g++-12 gcc gcc-12 gdb gettext gir1.2-glib-2.0 gir1.2-packagekitglib-1.0
gsettings-desktop-schemas gtk-update-icon-cache hicolor-icon-theme icu-devtools javascript-common jq
krb5-locales libalgorithm-diff-perl libalgorithm-diff-xs-perl libalgorithm-merge-perl libasan8 libasound2
libasound2-data libatk-bridge2.0-0 libatk1.0-0 libatomic1 libatspi2.0-0 libauthen-sasl-perl libbinutils
libc-dev-bin libc6-dev libcairo-gobject2 libcairo2 libcc1-0 libcolord2 libcrypt-dev libctf-nobfd0 libctf0
libdatrie1 libdconf1 libdeflate0 libdpkg-perl libdrm-amdgpu1 libdrm-common libdrm-intel1 libdrm-nouveau2
libdrm-radeon1 libdrm2 libdw1 libegl-mesa0 libegl1 libepoxy0 libfakeroot libfile-basedir-perl
libfile-desktopentry-perl libfile-fcntllock-perl libfile-mimeinfo-perl libfont-afm-perl libgbm1
libgcc-12-dev libgdk-pixbuf-2.0-0 libgdk-pixbuf2.0-bin libgdk-pixbuf2.0-common libgl1 libgl1-mesa-dri
libglapi-mesa libgles2 libglvnd0 libglx-mesa0 libglx0 libgomp1 libgprofng0 libgtk-3-0 libgtk-3-bin
libgtk-3-common libhtml-form-perl libhtml-format-perl libhtml-tree-perl libhttp-cookies-perl
libhttp-daemon-perl libhttp-negotiate-perl libice6 libio-stringy-perl libipc-system-simple-perl libisl23
libitm1 libjbig0 libjq1 libjs-sphinxdoc libjs-underscore liblcms2-2 liblerc4 liblsan0 libmpc3 libmpfr6
libnet-dbus-perl libnet-smtp-ssl-perl libnsl-dev libpango-1.0-0 libpangocairo-1.0-0 libpangoft2-1.0-0
libpciaccess0 libpixman-1-0 libpython3-dev libpython3-stdlib libpython3.11-dev libquadmath0 librsvg2-2
librsvg2-common libsm6 libstdc++-12-dev libthai-data libthai0 libtie-ixhash-perl libtirpc-dev libtsan2
libubsan1 libvulkan1 libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0
libwww-perl libwww-robotrules-perl libx11-protocol-perl libx11-xcb1 libxaw7 libxcb-dri2-0 libxcb-dri3-0
libxcb-glx0 libxcb-present0 libxcb-randr0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1
libxcb-xfixes0 libxcomposite1 libxcursor1 libxdamage1 libxfixes3 libxft2 libxi6 libxinerama1 libxkbcommon0
libxkbfile1 libxml-twig-perl libxml-xpathengine-perl libxmu6 libxrandr2 libxrender1 libxshmfence1 libxt6
libxtst6 libxv1 libxxf86dga1 libxxf86vm1 libz3-4 linux-libc-dev make manpages-dev mesa-vulkan-drivers
patch perl-openssl-defaults pkgconf pkgconf-bin python3-dev python3-distutils python3-lib2to3
python3.11-dev rpcsvc-proto session-migration shared-mime-info x11-common x11-utils x11-xserver-utils
xdg-desktop-portal zlib1g-dev libgirepository-1.0-1 libpackagekit-glib2-18 packagekit packagekit-tools
appstream libappstream4 libstemmer0d libxmlb2 libyaml-0-2 libglib2.0-bin python3-gi python3-dbus
unattended-upgrades python3-apt python-apt-common libnss3 libnspr4 ca-certificates-java java-common
openjdk-17-jre-headless default-jre-headless libpcsclite1 liblcms2-2 libgraphite2-3 libharfbuzz0b
libcups2 libavahi-client3 libjpeg-turbo8 libjpeg8 libopenjp2-7 libpoppler126 poppler-utils
ghostscript libgs10 libgs10-common libijs-0.35 libjbig2dec0 libpaper1 libpaper-utils libidn12
libncurses6 libtinfo5 libncurses5 libreadline-dev libedit-dev libbsd-dev libmd-dev libssl-dev
libsqlite3-dev libffi-dev libexpat1-dev libxml2-dev libxslt1-dev libyaml-dev libpq-dev libmariadb-dev
libmariadb-dev-compat libcurl4-openssl-dev libonig-dev libzip-dev libpng-dev libjpeg-dev libfreetype-dev
libwebp-dev libsodium-dev libargon2-dev libicu-dev libkrb5-dev comerr-dev krb5-multidev libgssrpc4
libkadm5clnt-mit12 libkadm5srv-mit12 libkdb5-10 libevent-dev libevent-extra-2.1-7 libevent-openssl-2.1-7
libevent-pthreads-2.1-7 redis-server redis-tools liblzf1 libhiredis0.14 memcached libmemcached11
logwatch lynx lynx-common mutt libgpgme11 libtokyocabinet9 libnotmuch5 libtalloc2 libgmime-3.0-0
mlocate plocate bash-doc bzip2-doc git-doc iftop iotop nethogs ncat nmap nmap-common libblas3 liblinear4
liblua5.4-0 libpcre2-dev libpcre2-posix3 dnsutils whois mtr bridge-utils vlan ifenslave ethtool
wpasupplicant libpcsclite-dev lsscsi nvme-cli ledmon irqbalance numactl tuned
tuned-utils virt-what dmeventd libdevmapper-event1.02.1 liblvm2cmd2.03
python3-typing-extensions python3-tomli python3-pluggy python3-iniconfig python3-pytest python3-attr
python3-bs4 python3-soupsieve python3-html5lib python3-lxml python3-webencodings python3-chardet
python3-ldap3 python3-pymysql python3-sqlalchemy python3-greenlet python3-flask python3-werkzeug
python3-itsdangerous python3-gunicorn python3-redis python3-paramiko python3-nacl python3-invoke
python3-fabric python3-boto3 python3-botocore python3-s3transfer python3-jmespath python3-dateutil
python3-tzlocal python3-babel python3-simplejson python3-ujson python3-msgpack python3-protobuf
python3-grpcio python3-pil python3-numpy python3-pandas python3-openpyxl python3-et-xmlfile
python3-xlrd python3-reportlab python3-docx python3-pypdf2 ansible ansible-core python3-resolvelib
python3-passlib python3-ntlm-auth python3-requests-ntlm python3-winrm python3-xmltodict sshpass
zabbix-agent zabbix-agent2 prometheus-node-exporter prometheus-node-exporter-collectors
libmodbus5 snmpd snmp libsnmp-dev rsyslog-gnutls rsyslog-relp logrotate chrony ntpsec ntpsec-ntpdate
tzdata-legacy locales-all hunspell-en-us libhunspell-1.7-0 aspell aspell-en dictionaries-common wamerican
emacsen-common"""
_ROLE_DPKG = {
    "db": """postgresql postgresql-15 postgresql-client-15 postgresql-client-common postgresql-common
postgresql-contrib sysstat pgbackrest pgbouncer""",
    "web": """nginx nginx-common libnginx-mod-http-geoip2 libnginx-mod-stream php8.2-fpm php8.2-cli php8.2-common
php8.2-mysql php8.2-xml php8.2-mbstring php8.2-curl php8.2-gd php8.2-zip php8.2-intl php-common certbot
python3-certbot python3-certbot-nginx python3-acme python3-josepy python3-configargparse python3-parsedatetime
python3-rfc3339 python3-icu""",
    "file": """samba samba-common samba-common-bin samba-libs samba-dsdb-modules samba-vfs-modules smbclient
cifs-utils winbind libnss-winbind libpam-winbind tdb-tools python3-samba python3-dnspython""",
    "docker": """docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
docker-ce-rootless-extras pigz slirp4netns git git-man liberror-perl patch""",
}


def _dpkg_pool() -> tuple[str, ...]:
    names = _DPKG_CORE.split() + _DPKG_MORE.split()
    names += [f"lib{n}" for n in _LIB_NAMES.split()]
    names += [f"python3-{n}" for n in _PY3_NAMES.split()]
    names += [f"fonts-{n}" for n in "dejavu-extra liberation liberation2 noto-core noto-mono freefont-ttf".split()]
    names += [f"firmware-{n}" for n in "linux-nonfree misc-nonfree realtek bnx2 bnx2x qlogic intel-sound".split()]
    return tuple(dict.fromkeys(names))


DPKG_POOL = _dpkg_pool()


@lru_cache(maxsize=None)
def _dpkg_row(name: str, suffix: str) -> tuple[str, str, None]:
    """A plausible, stable version per package, one shared row per distribution: real dpkg
    versions are not what is being simulated, and sharing keeps a long history small."""
    h = zlib.crc32(name.encode())
    return name, f"{1 + h % 9}.{(h >> 4) % 20}.{(h >> 9) % 12}-{1 + (h >> 13) % 5}{suffix}", None


def linux_software(rng: random.Random, os: str) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    """A server's dpkg list on ``os`` (a ``LINUX`` key): the base system, one or two roles, old kernels, more."""
    name, distro, version, kernel = LINUX[os]
    suffix = f"ubuntu0.{version}.1" if distro == "ubuntu" else f"+deb{version}u1"
    names = (_DPKG_UBUNTU if distro == "ubuntu" else _DPKG_DEBIAN).split() + _DPKG_CORE.split()
    for role in rng.sample(sorted(_ROLE_DPKG), rng.randint(1, 2)):
        names += _ROLE_DPKG[role].split()
    abi = kernel.rsplit("-", 1)[0]
    flavour = kernel.rsplit("-", 1)[1]
    for back in range(rng.randint(1, 3)):
        release = f"{abi.rsplit('-', 1)[0]}-{int(abi.rsplit('-', 1)[1]) - 3 * back}-{flavour}"
        names += [f"linux-image-{release}", f"linux-modules-{release}", f"linux-headers-{release}"]
    target = rng.randint(600, 1000)
    present = set(names)
    extra = [n for n in DPKG_POOL if n not in present]
    names += rng.sample(extra, max(0, min(len(extra), target - len(names))))
    return tuple(_dpkg_row(n, suffix) for n in dict.fromkeys(names))

