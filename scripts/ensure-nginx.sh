#!/usr/bin/env bash
# Installs nginx from the distribution's packages when it is missing (the deployment test
# runs a real nginx in front of two instances). Prints the binary's path.
set -euo pipefail
find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
bin=$(find_nginx)
if [ -z "$bin" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing nginx (apt-get)" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # policy-rc.d keeps the package from starting its own nginx on port 80.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >&2
  $SUDO rm -f /usr/sbin/policy-rc.d
  bin=$(find_nginx)
fi
[ -n "$bin" ] || { echo "nginx could not be installed" >&2; exit 1; }
echo "$bin"
