#!/bin/sh
# Install archfuse @VERSION@ from this offline bundle: no network, no package index.
#   ./install.sh [--prefix DIR] [--bin-dir DIR]
# Picks the newest python3.X (3.@OLDEST@-3.@NEWEST@) on PATH (or $PYTHON), makes a venv in the prefix
# (root: /opt/archfuse, others: ~/.local/share/archfuse), installs the bundle's wheels into it and
# links `archfuse` into the bin dir (root: /usr/local/bin, others: ~/.local/bin).
# This file is scripts/offline-install.sh in archfuse's repository; scripts/offline-bundle copies it.
set -eu

version="@VERSION@"
oldest=@OLDEST@  # the CPython 3.X minors this bundle holds wheels for (scripts/offline_bundle.py: PYTHONS)
newest=@NEWEST@
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ]; then
  prefix=/opt/archfuse
  bindir=/usr/local/bin
else
  prefix="${HOME}/.local/share/archfuse"
  bindir="${HOME}/.local/bin"
fi
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix|--bin-dir)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: $1 needs a directory: $1 DIR (see --help)" >&2; exit 2; }
      if [ "$1" = --prefix ]; then prefix=$2; else bindir=$2; fi
      shift 2 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "archfuse install: $*" >&2; }
fail() { say "$*"; exit 1; }

arch=$(uname -m)
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) fail "this bundle holds wheels for linux x86_64 and aarch64; this node is $arch." ;;
esac

# the Python: $PYTHON, else the newest supported python3.X on PATH, else python3
minor_of() { "$1" -c 'import sys; print("%d %d" % sys.version_info[:2])' 2>/dev/null; }
python=""
if [ -n "${PYTHON:-}" ]; then
  if [ -e "$PYTHON" ] && [ ! -x "$PYTHON" ]; then
    fail "PYTHON=$PYTHON is not a program that can be run: name an installed python3.X, e.g. PYTHON=/usr/bin/python3.11 $0."
  fi
  python=$(command -v "$PYTHON" 2>/dev/null) \
    || fail "PYTHON=$PYTHON does not exist (no such file, nor a command on PATH): name an installed python3.X, e.g. PYTHON=/usr/bin/python3.11 $0, or leave PYTHON unset to pick one from PATH."
else
  fallback=""
  candidates=""
  m=$newest
  while [ "$m" -ge "$oldest" ]; do candidates="$candidates python3.$m"; m=$((m - 1)); done
  for candidate in $candidates python3; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    found=$(minor_of "$candidate") || continue  # e.g. a pyenv shim of a version not selected
    set -- $found
    if [ "$1" -eq 3 ] && [ "$2" -ge "$oldest" ] && [ "$2" -le "$newest" ]; then
      python=$(command -v "$candidate"); break
    fi
    [ -n "$fallback" ] || fallback=$(command -v "$candidate")
  done
  python=${python:-$fallback}
fi
[ -n "$python" ] || fail "no python3 on PATH: install Python 3.$oldest or newer (RHEL/Kylin/UOS: dnf install python3.11; Debian/Ubuntu: apt install python3 python3-venv), then run this again."
set -- $(minor_of "$python") || true
major=${1:-0}; minor=${2:-0}
if [ "$major" -eq 0 ]; then
  fail "$python does not run as a Python (it printed no version; see above): name an installed python3.X, e.g. PYTHON=/usr/bin/python3.11 $0."
fi
if [ "$major" -ne 3 ] || [ "$minor" -lt "$oldest" ]; then
  fail "$python is Python $major.$minor; archfuse needs 3.$oldest to 3.$newest: install a newer one (RHEL/Kylin/UOS: dnf install python3.11; Ubuntu 20.04: apt install python3.9 python3.9-venv; Debian/Ubuntu: apt install python3.10) and run this again, or PYTHON=/path/to/python3.X $0."
fi
if [ "$minor" -gt "$newest" ]; then
  fail "$python is Python 3.$minor; this bundle holds wheels for CPython 3.$oldest to 3.$newest: install one of those beside it (e.g. dnf install python3.12) and run this again, or PYTHON=/path/to/python3.X $0."
fi
target="cp3${minor}-${arch}"
[ -f "$here/constraints/$target.txt" ] || fail "this bundle has no wheels for CPython 3.$minor on $arch ($here/constraints/$target.txt is missing): build it again with scripts/offline-bundle."
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  fail "$python cannot make a virtual environment (its venv/ensurepip module is missing): install python3.$minor-venv (Debian/Ubuntu: apt install python3.$minor-venv; RHEL-family: dnf install python3.$minor) and run this again."
fi

venv="$prefix/venv"
say "Python 3.$minor ($python) on $arch: installing archfuse $version into $venv"
mkdir -p "$prefix"
"$python" -m venv --clear "$venv" || fail "$python -m venv $venv failed (see above): on Debian/Ubuntu install python3.$minor-venv, then run this again."
[ -x "$venv/bin/pip" ] || fail "$venv has no pip: install python3.$minor-venv (Debian/Ubuntu) and run this again."
# --isolated: no pip.conf or PIP_* variables of this node add an index or other wheels
"$venv/bin/python" -m pip install --isolated --no-index --no-cache-dir --disable-pip-version-check -q \
  --find-links "$here/wheels" -c "$here/constraints/$target.txt" "archfuse==$version" \
  || fail "pip could not install from $here/wheels (see above); nothing outside $venv was changed."
"$venv/bin/archfuse" --version >/dev/null || fail "$venv/bin/archfuse does not start (see above)."

mkdir -p "$bindir"
ln -sf "$venv/bin/archfuse" "$bindir/archfuse"
say "archfuse $version is $bindir/archfuse (-> $venv/bin/archfuse)"
# bash completion, where bash-completion is installed: for everyone as root, else for this user
if [ -f "$here/archfuse.bash" ] && [ -f /usr/share/bash-completion/bash_completion ]; then
  if [ "$(id -u)" -eq 0 ]; then
    completions=/usr/share/bash-completion/completions
  else
    completions="${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions"
  fi
  if mkdir -p "$completions" 2>/dev/null && cp "$here/archfuse.bash" "$completions/archfuse" 2>/dev/null; then
    say "bash completion: $completions/archfuse (from a new shell)"
  fi
fi
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) say "$bindir is not on your PATH: add it (export PATH=\"$bindir:\$PATH\") or run $bindir/archfuse" ;;
esac
