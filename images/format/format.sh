#!/bin/sh
# format [-label LABEL] [-type ext4] [DEVICE]
#
# Prepares the node's data disk. When a filesystem labelled LABEL exists, it is grown to fill
# its disk (partition first, then resize2fs) and nothing else happens. Otherwise the first blank
# disk (or DEVICE) gets a GPT with one partition and an ext4 labelled LABEL. "Blank" means the
# first and last MiB read as zeros: every partition table and filesystem keeps its signature
# there, so a disk holding anything is never written. The user's data comes first.
set -u

LABEL=DATA
TYPE=ext4
DEVICE=
MIN_MIB=32   # a GPT, an ext4 journal and room to spare
ME=format

say() { echo "$ME: $*"; }
fail() { say "$*"; exit 1; }
usage() { say "$*"; echo "usage: format [-label LABEL] [-type ext4] [DEVICE]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -label|--label) [ $# -ge 2 ] || usage "$1 needs a value"; LABEL=$2; shift 2 ;;
    -type|--type) [ $# -ge 2 ] || usage "$1 needs a value"; TYPE=$2; shift 2 ;;
    -verbose|--verbose) set -x; shift ;;
    -*) usage "unknown option $1" ;;
    *) [ -z "$DEVICE" ] || usage "one device at most (got $DEVICE and $1)"; DEVICE=$1; shift ;;
  esac
done
[ "$TYPE" = ext4 ] || usage "-type $TYPE: only ext4 is supported"
case "$LABEL" in
  ''|*[!A-Za-z0-9._-]*) usage "-label '$LABEL': use letters, digits, '.', '_' or '-'" ;;
esac
[ ${#LABEL} -le 16 ] || usage "-label '$LABEL' is longer than ext4's 16 characters"

# Size of a whole disk or partition in 512-byte sectors, from sysfs.
sectors() { cat "/sys/class/block/$1/size"; }

# True if the 2048 sectors (1 MiB) of $1 from sector $2 on read as zero bytes. A read that
# fails or comes up short is not "zero": a disk we cannot read is never written.
zero_mib() {
  [ "$(dd if="$1" bs=512 skip="$2" count=2048 2>/dev/null | wc -c)" -eq 1048576 ] || {
    say "cannot read /dev/${1#/dev/}; not touched" >&2
    return 1
  }
  [ "$(dd if="$1" bs=512 skip="$2" count=2048 2>/dev/null | tr -d '\000' | wc -c)" -eq 0 ]
}

# No partitions known to the kernel, and the first and last MiB all zero.
blank() {
  total=$(sectors "$1")
  [ ! -e "/sys/class/block/${1}1" ] && [ ! -e "/sys/class/block/${1}p1" ] || return 1
  zero_mib "/dev/$1" 0 || return 1
  [ "$total" -le 2048 ] || zero_mib "/dev/$1" $((total - 2048))
}

# Whole disks in name order: no partitions, loops, RAM or optical drives, nothing read-only.
disks() {
  for d in $(ls /sys/block | sort); do
    case "$d" in loop*|ram*|zram*|sr*|fd*|md*|dm-*|nbd*) continue ;; esac
    [ "$(cat "/sys/block/$d/ro" 2>/dev/null)" = 0 ] || continue
    echo "$d"
  done
}

part_name() { case "$1" in *[0-9]) echo "${1}p1" ;; *) echo "${1}1" ;; esac; }

wait_for() {
  i=0
  while [ ! -b "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -b "$1" ]
}

format_disk() {
  disk=$1
  part=$(part_name "$disk")
  say "formatting /dev/$disk: GPT, one partition /dev/$part, ext4 labelled $LABEL"
  printf 'label: gpt\n,,L\n' | sfdisk --quiet --wipe always "/dev/$disk" >/tmp/sfdisk.log 2>&1 ||
    fail "partitioning /dev/$disk failed: $(tail -n 3 /tmp/sfdisk.log | tr '\n' ' ')"
  wait_for "/dev/$part" || fail "/dev/$part did not appear after partitioning /dev/$disk"
  mkfs.ext4 -q -F -L "$LABEL" "/dev/$part" >/tmp/mkfs.log 2>&1 ||
    fail "mkfs.ext4 on /dev/$part failed: $(tail -n 3 /tmp/mkfs.log | tr '\n' ' ')"
  say "formatted /dev/$part ($(( $(sectors "$part") / 2048 )) MiB)"
}

# Grows the partition that holds $1 (when it is the disk's first and only one) to the disk's end.
grow_partition() {
  part=$1
  [ -e "/sys/class/block/$part/partition" ] || return 0
  disk=$(basename "$(readlink -f "/sys/class/block/$part/..")")
  [ "$(cat "/sys/class/block/$part/partition")" = 1 ] || return 0
  [ "$(ls -d /sys/class/block/$disk/${disk}*[0-9] 2>/dev/null | wc -l)" -eq 1 ] || return 0
  end=$(( $(cat "/sys/class/block/$part/start") + $(sectors "$part") ))
  # 1 MiB alignment plus the backup GPT: less than 4 MiB spare is not worth touching the table.
  [ $(( $(sectors "$disk") - end )) -gt 8192 ] || return 0
  say "/dev/$disk has grown: growing /dev/$part to the end of the disk"
  { sfdisk --quiet --relocate gpt-bak-std "/dev/$disk" &&
    echo ',+' | sfdisk --quiet --no-reread -N 1 "/dev/$disk" &&
    blockdev --rereadpt "/dev/$disk"; } >/tmp/grow.log 2>&1 ||
    fail "growing /dev/$part failed: $(tail -n 3 /tmp/grow.log | tr '\n' ' ')"
  wait_for "/dev/$part" || fail "/dev/$part did not come back after growing it"
}

# Grows the ext4 on /dev/$1 to fill its device when the device is bigger.
grow_filesystem() {
  dev=/dev/$1
  info=$(dumpe2fs -h "$dev" 2>/dev/null) || fail "cannot read the ext4 superblock of $dev"
  blocks=$(echo "$info" | sed -n 's/^Block count: *//p')
  bsize=$(echo "$info" | sed -n 's/^Block size: *//p')
  [ $(( $(sectors "$1") * 512 - blocks * bsize )) -gt 1048576 ] || return 0
  say "growing the filesystem on $dev"
  e2fsck -f -p "$dev" >/tmp/fsck.log 2>&1
  [ $? -lt 4 ] || fail "e2fsck found errors on $dev it could not fix; not resizing: $(tail -n 3 /tmp/fsck.log | tr '\n' ' ')"
  resize2fs "$dev" >/tmp/resize.log 2>&1 || fail "resize2fs $dev failed: $(tail -n 3 /tmp/resize.log | tr '\n' ' ')"
  say "$dev now holds $(( $(sectors "$1") / 2048 )) MiB"
}

existing=$(findfs "LABEL=$LABEL" 2>/dev/null)
if [ -n "$existing" ]; then
  name=$(basename "$existing")
  say "found $existing labelled $LABEL; not formatting"
  grow_partition "$name"
  grow_filesystem "$name"
  exit 0
fi

if [ -n "$DEVICE" ]; then
  name=$(basename "$DEVICE")
  [ -e "/sys/block/$name" ] || fail "$DEVICE is not a whole disk this node has (disks: $(disks | tr '\n' ' '))"
  candidates=$name
else
  candidates=$(disks)
fi

too_small=
for d in $candidates; do
  if ! blank "$d"; then
    say "/dev/$d holds a partition table or data; not touched"
    continue
  fi
  mib=$(( $(sectors "$d") / 2048 ))
  if [ "$mib" -lt "$MIN_MIB" ]; then
    say "/dev/$d is too small to format: $mib MiB, needs at least $MIN_MIB MiB; not touched"
    too_small=yes
    continue
  fi
  format_disk "$d"
  exit 0
done
[ -z "$too_small" ] || fail "no disk was formatted: every blank disk is too small"
fail "no blank disk to format and no filesystem labelled $LABEL (disks: $(echo $candidates))"
