#!/bin/sh
# apply-sysctl [DIR]: writes every "key = value" of DIR/*.conf (default /etc/sysctl.d), in name
# order, to /proc/sys. '#' and ';' start comments; a leading '-' on a key ignores its failure, as
# sysctl.d(5) says. A bad line is reported with its file and line number; the rest still apply.
set -u
DIR=${1:-/etc/sysctl.d}
ME=sysctl
ROOT=${SYSCTL_ROOT:-/proc/sys}   # tests point this at a scratch tree
failed=0
applied=0

[ -d "$DIR" ] || { echo "$ME: $DIR is not a directory"; exit 1; }
for file in "$DIR"/*.conf; do
  [ -f "$file" ] || continue
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=$(echo "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    case "$line" in ''|'#'*|';'*) continue ;; esac
    case "$line" in
      *=*) ;;
      *) echo "$ME: $file:$n: not 'key = value': $line"; failed=1; continue ;;
    esac
    key=$(echo "${line%%=*}" | sed 's/[[:space:]]*$//')
    value=$(echo "${line#*=}" | sed 's/^[[:space:]]*//')
    optional=
    case "$key" in -*) optional=yes; key=${key#-} ;; esac
    case "$key" in
      ''|*[!A-Za-z0-9._/-]*|*..*) echo "$ME: $file:$n: bad key '$key'"; failed=1; continue ;;
    esac
    path=$ROOT/$(echo "$key" | tr . /)
    if [ ! -e "$path" ]; then
      [ -n "$optional" ] || { echo "$ME: $file:$n: $key: no such setting in this kernel"; failed=1; }
      continue
    fi
    if err=$( (printf '%s\n' "$value" > "$path") 2>&1 ); then
      applied=$((applied + 1))
    elif [ -z "$optional" ]; then
      echo "$ME: $file:$n: $key = $value: ${err##*: }"
      failed=1
    fi
  done < "$file"
done
echo "$ME: applied $applied settings from $DIR"
exit $failed
