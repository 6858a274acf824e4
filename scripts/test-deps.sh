#!/usr/bin/env bash
# Installs the Debian packages the test suite drives and makes sure the services it needs
# are up. Idempotent: a second run installs nothing and starts nothing.
set -euo pipefail

# pg_dump/pg_restore: backup tests (the PostgreSQL server itself comes with the machine).
# freeradius-utils: radclient, the real RADIUS client the listener is tested against.
# freeradius + freeradius-rest: the real FreeRADIUS in front of citynet's rlm_rest API.
# chromium + fonts-noto-cjk: the real browser (driven by Playwright) for the portal's
# phone-viewport tests and screenshots, with Chinese glyphs.
# victoria-metrics: a real server speaking the InfluxDB v2 write API, the peer of the
# telemetry sink's integration tests and of bench/telemetry.py.
# iproute2: `ip netns` and veth pairs, the hosts the reachability probes are tested on.
# Extra packages may be named as arguments.
packages=(postgresql-client freeradius-utils freeradius freeradius-rest chromium fonts-noto-cjk
          victoria-metrics iproute2
          git  # devices/backups.py keeps device config backups in a repository via the git CLI
          # frr + openssh-server: real routers (a stateful Cisco-like CLI, vtysh) behind real
          # sshds for the devices tests (tests/lab/frr.py starts its own; the system's stay off).
          frr openssh-server
          # CoovaChilli, the real UAM NAS of the portal's tests (tests/lab/coova.py), is
          # built from ../shared/peers/: its build tools, then what it runs with — busybox
          # (udhcpc, the phone's DHCP client), ethtool (checksum offload off on the lab's
          # veths) and iptables (chilli installs its firewall rules in its namespace).
          build-essential autoconf automake libtool gengetopt libssl-dev pkg-config
          busybox ethtool iptables
          # patroni + etcd-server (+ etcd-client: etcdctl): a two-node PostgreSQL HA cluster
          # on its own ports (tests/lab/patroni.py) for the failover tests; the system's
          # etcd stays off, and the machine's 5432 cluster is never touched.
          patroni etcd-server etcd-client
          # nginx-light: `nginx -t -c` checks deploy/nginx's TLS front (tests/integration/
          # deploy/); the system's nginx stays off.
          nginx-light
          # haproxy: citynet reaching the Patroni primary through HAProxy's health checks on
          # Patroni's REST API (tests/integration/ha/test_haproxy.py starts its own on free
          # ports; the system's haproxy service stays off).
          haproxy
          # eapoltest: eapol_test, the real 802.1X supplicant (EAP-TLS with citynet's CA)
          # against FreeRADIUS in tests/integration/admission/
          eapoltest
          # hostapd + wpasupplicant: a true EAPOL exchange over a veth between namespaces,
          # hostapd (driver=wired) as the switch's authenticator in front of FreeRADIUS and
          # wpa_supplicant (-D wired) as the host (tests/integration/admission/
          # test_eapol_wired.py starts its own; the system's hostapd service stays off).
          hostapd wpasupplicant
          # poppler-utils + zbar-tools: pdftoppm and zbarimg, the voucher sheet's A4 PDF
          # rendered and its QR codes read back (test_admin_tasks_browser); pdftoppm also
          # to look at the PDFs scripts/screenshots.py prints
          poppler-utils zbar-tools
          "$@")

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages that ship a daemon must not start it (and take its ports) on install.
  policy=/usr/sbin/policy-rc.d
  had_policy=$([ -e "$policy" ] && echo yes || echo no)
  if [ "$had_policy" = no ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Patroni >= 3.0.3 in a virtualenv of its own, on the system Python and its packages
# (psycopg2, urllib3 from Debian's patroni above): Debian 12's 3.0.2 lets an old primary
# back from a partition overwrite the new primary's leader key and promote itself, so
# commits acknowledged by the new primary are rewound away (upstream fix in 3.0.3, PR
# #2689; docs/operations.md). tests/lab/patroni.py runs this one.
patroni_venv=/opt/citynet-patroni
if ! "$patroni_venv/bin/patroni" --version >/dev/null 2>&1; then
  echo "installing Patroni 4.1.5 in $patroni_venv"
  /usr/bin/python3 -m venv --system-site-packages "$patroni_venv"
  "$patroni_venv/bin/pip" install -q 'patroni[etcd3]==4.1.5'
fi

# PostgreSQL is started before the session on this machine kind; start it if it stopped.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  pg_isready -h 127.0.0.1 -p 5432
fi
