# hopscope: write fixed nginx files, check with nginx -t, roll back on failure.
#
# Run by `[sudo -n] sh -s` on the server, this file read from standard
# input (so no command here may read standard input but the heredocs).
# hopscope (src/remote/apply.rs) sends it between this run's data:
#
#   before it, plain assignments (nothing in them is run), every one
#   always set so that nothing is taken from the server's environment:
#     N=<number of files>  RELOAD=<0 or 1>  NGINX_B64=<the nginx binary>
#     HAS_CONF=<1 with nginx -c, else 0>  CONF_B64=<its path, or empty>
#   after it, per file I (0 to N-1): each step for every file before the next
#     printf '%s' <sha256 loaded> > "$W/s.I"   # what the rollback compares with
#     check I <base64 path> <sha256 loaded>
#     stage I <sha256 new> <<'@@HOPSCOPE-DATA@@'
#     <base64 new content, 76 a line>
#     @@HOPSCOPE-DATA@@
#     commit I <sha256 loaded>
#   and last: finish
#
# Everything from the person or the files arrives base64-encoded, so no
# shell ever parses it. The report is lines on standard output:
#   @@hopscope WHAT NUMBER [BASE64...]
# NUMBER is the file's index (x when none; nginx's exit code for `reload`).
#
# Exit codes (hopscope reads them as `ScriptExit` in src/remote/apply.rs):
#    0  every file written and nginx -t passed (a reload is reported apart)
#   10  a file is not what was loaded (content, owner or mode): nothing changed
#   11  a file could not be read, backed up, written or replaced: nothing changed
#   12  nginx -t rejected the fixed files: every file was put back
#   13  nginx -t rejected them and putting a file back failed: needs a person
#   20  the server lacks a tool this script needs: nothing changed
set -u
umask 077
trap '' HUP PIPE
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
LC_ALL=C
export LC_ALL
say() { printf '@@hopscope %s\n' "$*"; }
if ! command -v base64 >/dev/null 2>&1; then say missing base64; exit 20; fi
enc() { printf '%s' "$1" | base64 | tr -d '\n'; }
dec() { printf '%s' "$1" | base64 -d; }
if command -v sha256sum >/dev/null 2>&1; then sha() { sha256sum < "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then sha() { shasum -a 256 < "$1" | cut -d ' ' -f 1; }
elif command -v openssl >/dev/null 2>&1; then sha() { openssl dgst -sha256 < "$1" | sed 's/^.*= *//'; }
else say missing sha256sum; exit 20; fi
W=$(mktemp -d 2>/dev/null || mktemp -d -t hopscope) || { say error x "$(enc 'cannot make a temporary directory')"; exit 11; }
get() { cat "$W/$1.$2" 2>/dev/null; }
if stat -c %u / >/dev/null 2>&1; then
  meta() { stat -c '%u %g %a' "$1"; }; node() { stat -c '%d:%i' "$1"; }
elif stat -f %u / >/dev/null 2>&1; then
  meta() { stat -f '%u %g %Lp' "$1"; }; node() { stat -f '%d:%i' "$1"; }
else say missing stat; exit 20; fi
ME=$(id -u)
O=$(pwd)
# `mv -T` never moves into a directory planted at the target's name.
: > "$W/mv"
if mv -T "$W/mv" "$W/mvt" 2>/dev/null; then MVT=-T; else MVT=; fi
# Each file is staged in a private directory made next to it (mktemp -d:
# a fresh name, mode 0700, ours), entered once and then reached only
# through the working directory: nobody else can put a name in it or
# swap one, so no write, chmod or chown ever goes through a link someone
# planted. The target is only ever replaced by rename (which replaces a
# link planted at its name, never follows it), and the backup is made by
# link (which never follows or replaces a name that exists).
into() {
  iS=$(get S "$1")
  [ -n "$iS" ] && cd "$iS" 2>/dev/null && [ "$(node . 2>/dev/null)" = "$(get I "$1")" ]
}
cleanup() {
  u=0
  while [ "$u" -lt "$N" ]; do
    if into "$u"; then rm -f new bak; cd /; rmdir "$iS" 2>/dev/null; fi
    u=$((u + 1))
  done
  cd /
  rm -rf "$W"
}
trap cleanup EXIT
# put back every replaced file, drop every backup made
undo() {
  u=0
  while [ "$u" -lt "$N" ]; do
    ut=$(get t "$u"); un=${ut##*/}; uB=$(get B "$u")
    if into "$u"; then
      if [ -e "$W/c.$u" ]; then
        if mv -f $MVT bak "../$un" 2>>"$W/undo"; then
          [ -n "$uB" ] && [ "../$uB" -ef "../$un" ] && rm -f "../$uB"
        else
          say rollback-failed "$u"
        fi
      elif [ -n "$uB" ] && [ "../$uB" -ef bak ]; then
        rm -f "../$uB"
      fi
    elif [ -e "$W/c.$u" ]; then
      printf 'the private directory next to %s is gone\n' "$ut" >> "$W/undo"
      say rollback-failed "$u"
    fi
    u=$((u + 1))
  done
  cd "$O" 2>/dev/null || cd /
}
failx() { fcode=$1; fwhat=$2; fx=$3; undo; say "$fwhat" "$fx" "$(enc "$(cat "$W/err" 2>/dev/null)")"; exit "$fcode"; }
why() { printf '%s' "$1" > "$W/err"; }
check() {
  p=$(dec "$2")
  t=$p
  if [ -L "$p" ]; then
    t=$(readlink -f "$p" 2>"$W/err") || failx 11 resolve "$1"
  fi
  { [ -f "$t" ] && [ ! -L "$t" ]; } || { why 'not a regular file'; failx 11 resolve "$1"; }
  [ -r "$t" ] || { why 'not readable'; failx 11 resolve "$1"; }
  [ "$(sha "$t")" = "$3" ] || { : > "$W/err"; failx 10 changed "$1"; }
  meta "$t" > "$W/o.$1" 2>"$W/err" || failx 11 resolve "$1"
  printf '%s' "$t" > "$W/t.$1"
}
# in the private directory of file $1 named $2 there: it is still the file
# checked (holding $3): the same inode as its backup, or (a copied backup)
# a regular file with the owner, mode and content it had
same() {
  if [ -e "$W/L.$1" ]; then
    [ "../$2" -ef bak ] && [ "$(sha bak)" = "$3" ]
  else
    [ -f "../$2" ] && [ ! -L "../$2" ] && [ "$(meta "../$2")" = "$(get o "$1")" ] && [ "$(sha "../$2")" = "$3" ]
  fi
}
stage() {
  t=$(get t "$1"); tn=${t##*/}
  d=${t%/*}; [ -n "$d" ] || d=/
  d=$(cd "$d" 2>"$W/err" && pwd -P) || failx 11 write "$1"
  S=$(mktemp -d "${d%/}/.hopscope-XXXXXXXX" 2>"$W/err") || failx 11 write "$1"
  printf '%s' "$S" > "$W/S.$1"
  cd "$S" 2>"$W/err" || failx 11 write "$1"
  case "$(pwd -P) $(meta . 2>/dev/null)" in
    "$S $ME "*" 700") node . > "$W/I.$1" ;;
    *) why "the directory $S was swapped while it was made"; failx 11 write "$1" ;;
  esac
  # the backup: the file itself, linked (same inode, mode and owner); or
  # where that is not allowed (another's file without root, a filesystem
  # without hard links) a copy with its mode (and owner, as root)
  if ln "../$tn" bak 2>/dev/null; then
    : > "$W/L.$1"
    { [ -f bak ] && [ ! -L bak ]; } || { why 'not a regular file'; failx 11 backup "$1"; }
    [ "$(meta bak)" = "$(get o "$1")" ] || { why 'its owner or mode changed'; failx 10 changed "$1"; }
  else
    cp -p "../$tn" bak 2>"$W/err" || failx 11 backup "$1"
    { [ -f bak ] && [ ! -L bak ]; } || { why 'not a regular file'; failx 11 backup "$1"; }
    same "$1" "$tn" "$(get s "$1")" || { why 'its owner or mode changed'; failx 10 changed "$1"; }
  fi
  [ "$(sha bak)" = "$(get s "$1")" ] || { : > "$W/err"; failx 10 changed "$1"; }
  base64 -d > new 2>"$W/err" || failx 11 write "$1"
  set -- "$1" "$2" $(get o "$1")
  # owner first: a chown clears set-id bits a chmod sets
  chown "$3:$4" new 2>/dev/null || chgrp "$4" new 2>/dev/null
  chmod "$5" new 2>"$W/err" || failx 11 write "$1"
  m=$(meta new)
  if [ "$m" != "$3 $4 $5" ]; then
    # not root: the new file may be ours (as any editor leaves it), never another's
    if [ "$ME" = 0 ] || [ "${m%% *}" != "$ME" ] || [ "${m##* }" != "$5" ]; then
      why "cannot give the new file the owner $3:$4 and mode $5 of the old one (it has $m)"; failx 11 write "$1"
    fi
  fi
  { [ -f new ] && [ ! -L new ] && [ "$(sha new)" = "$2" ]; } || { why 'the written file is not what was sent'; failx 11 write "$1"; }
  sfx=.hopscope.bak; k=0
  while ! ln -n bak "../$tn$sfx" 2>"$W/err"; do
    { [ -e "../$tn$sfx" ] || [ -L "../$tn$sfx" ]; } || failx 11 backup "$1"
    k=$((k + 1)); sfx=.hopscope.bak.$k
    [ "$k" -lt 100000 ] || { why 'no free backup name'; failx 11 backup "$1"; }
  done
  printf '%s' "$tn$sfx" > "$W/B.$1"
  [ "../$tn$sfx" -ef bak ] || { why "$t$sfx is not the backup just made"; failx 11 backup "$1"; }
  printf '%s' "$t$sfx" > "$W/b.$1"
  cd "$O" 2>/dev/null || cd /
}
commit() {
  into "$1" || { why 'the private directory next to it was moved'; failx 11 replace "$1"; }
  tn=$(get t "$1"); tn=${tn##*/}
  same "$1" "$tn" "$2" || { : > "$W/err"; failx 10 changed "$1"; }
  mv -f $MVT new "../$tn" 2>"$W/err" || failx 11 replace "$1"
  : > "$W/c.$1"
  cd "$O" 2>/dev/null || cd /
}
NGINX=$(dec "$NGINX_B64")
if [ "$HAS_CONF" = 1 ]; then CONF=$(dec "$CONF_B64"); fi
# nginx with this run's -c, never reading standard input (this script)
run_nginx() {
  if [ "$HAS_CONF" = 1 ]; then "$NGINX" -c "$CONF" "$@" </dev/null; else "$NGINX" "$@" </dev/null; fi
}
# every file committed: test, put back on failure, report, reload if asked
finish() {
  out=$(run_nginx -t 2>&1); rc=$?
  if [ "$rc" -ne 0 ]; then
    undo
    i=0; bad=0
    while [ "$i" -lt "$N" ]; do
      t=$(get t "$i")
      [ -e "$W/c.$i" ] && [ "$(sha "$t")" != "$(get s "$i")" ] && { say rollback-failed "$i"; bad=1; }
      i=$((i + 1))
    done
    say rejected x "$(enc "$out")"
    [ "$bad" -eq 0 ] || { say undo x "$(enc "$(cat "$W/undo" 2>/dev/null)")"; exit 13; }
    exit 12
  fi
  say tested x "$(enc "$out")"
  i=0
  while [ "$i" -lt "$N" ]; do
    say saved "$i" "$(enc "$(get t "$i")")" "$(enc "$(get b "$i")")"
    i=$((i + 1))
  done
  if [ "$RELOAD" = 1 ]; then
    rout=$(run_nginx -s reload 2>&1); rrc=$?
    say reload "$rrc" "$(enc "$rout")"
  fi
  exit 0
}
