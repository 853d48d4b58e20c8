#!/bin/sh
# mount-label [-label LABEL] [-type ext4] [PATH]
#
# Mounts the filesystem labelled LABEL (default DATA) at PATH (default /var/lib). The mount
# propagates to the node (the image binds /var rshared), so containers started later bind it.
set -u

LABEL=DATA
TYPE=ext4
TARGET=
ME=mount

say() { echo "$ME: $*"; }
usage() { say "$*"; echo "usage: mount-label [-label LABEL] [-type ext4] [PATH]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -label|--label) [ $# -ge 2 ] || usage "$1 needs a value"; LABEL=$2; shift 2 ;;
    -type|--type) [ $# -ge 2 ] || usage "$1 needs a value"; TYPE=$2; shift 2 ;;
    -*) usage "unknown option $1" ;;
    *) [ -z "$TARGET" ] || usage "one mount point at most (got $TARGET and $1)"; TARGET=$1; shift ;;
  esac
done
TARGET=${TARGET:-/var/lib}
case "$TARGET" in /*) ;; *) usage "mount point '$TARGET' is not an absolute path" ;; esac
[ -n "$LABEL" ] || usage "-label needs a value"

dev=$(findfs "LABEL=$LABEL" 2>/dev/null)
if [ -z "$dev" ]; then
  say "no filesystem labelled $LABEL; $TARGET stays in RAM and is lost at shutdown"
  exit 1
fi
mkdir -p "$TARGET" || { say "cannot create $TARGET"; exit 1; }
if ! err=$(mount -t "$TYPE" -o noatime "$dev" "$TARGET" 2>&1); then
  say "mounting $dev ($LABEL) at $TARGET failed: $err"
  exit 1
fi
say "mounted $dev ($LABEL) at $TARGET"
