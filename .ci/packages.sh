# shellcheck shell=bash
# .ci/packages.sh: the Debian packages the test suite drives, installed only where missing.
# A fresh machine has Node.js, PostgreSQL's server binaries and systemd; the rest comes from apt.

# "package:how to tell it is there" — a command name, or a glob that must match a file.
CI_PACKAGES=(
  "chromium:chromium"                               # browser tests (playwright-core, executablePath /usr/bin/chromium)
  "redis-server:redis-server"                       # session and rate-limit stores
  "postgresql:/usr/lib/postgresql/*/bin/initdb"     # the PostgreSQL dialect (binaries only; never a fixed version)
  "pebble:pebble"                                   # ACME test server for certificate issuance
  "prometheus:prometheus"                           # a real scraper for the metrics endpoint
  "nginx:nginx"                                     # reverse-proxy deployment tests
  "testssl.sh:testssl"                              # TLS scans
  "sslscan:sslscan"                                 # TLS scans
  "systemd:systemd-analyze"                         # systemd-analyze security --offline on the unit file
  "wrk:wrk"                                         # load from a second process on loopback
)

ci_package_present() { # ci_package_present CHECK
  case "$1" in
    /*) compgen -G "$1" > /dev/null ;;
    *) command -v "$1" > /dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
  esac
}

ci_apt() { # apt-get with one retry (a mirror hiccup should not fail the run), waiting for the dpkg lock
  apt-get -o DPkg::Lock::Timeout=300 "$@" || { echo "apt-get $* failed; retrying in 10 s"; sleep 10; apt-get -o DPkg::Lock::Timeout=300 "$@"; }
}

install_packages() {
  local entry missing=()
  for entry in "${CI_PACKAGES[@]}"; do
    if ci_package_present "${entry#*:}"; then
      echo "present: ${entry%%:*}"
    else
      missing+=("${entry%%:*}")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "every package is already installed; apt-get not needed"
    return 0
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages like nginx and redis-server start their daemon on install where they can; the tests
  # start their own on loopback ports, so forbid that while installing (policy-rc.d exit 101).
  local policy_added=no
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=yes
  fi
  local status=0
  ci_apt update -q || status=$?
  if [ "$status" -eq 0 ]; then
    ci_apt install -y -q --no-install-recommends "${missing[@]}" || status=$?
  fi
  if [ "$policy_added" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || return "$status"
  for entry in "${CI_PACKAGES[@]}"; do
    ci_package_present "${entry#*:}" || { echo "still missing after install: ${entry%%:*}"; return 1; }
  done
}
