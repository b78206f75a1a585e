#!/usr/bin/env bash
# Debian packages the test suite and the demo need, installed where missing.
# chromium: browser tests (never a browser downloaded by a tool); espeak-ng + sox: synthetic speech;
# libportaudio2: sounddevice (microphone / hall loudspeaker).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
[ ${#need[@]} -eq 0 ] && exit 0
warn() {
  echo "warning: could not install Debian packages ${need[*]} ($1); the tests that need them are skipped." >&2
  echo "         install them with: apt-get install ${need[*]}" >&2
  exit 0
}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || warn "not root and no sudo"
  SUDO="sudo -n"
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || warn "apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || warn "apt-get install failed"
