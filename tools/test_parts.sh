#!/usr/bin/env bash
# The driver of `make test` (the Makefile's test target calls it): runs each part with
# `make test-<part>`, in the order given, and prints each part's time.
#
#   tools/test_parts.sh LOGDIR PART...
#
# Parts named in SIDE_BY_SIDE (environment, space-separated) that follow one another run at
# the same time: first `make test-<part>-install` for each of them, one after the other (they
# install into the same .venv), then the parts themselves, each writing into LOGDIR/<part>.log,
# which is printed whole once all of them have ended, in the order given. The Makefile's
# TEST_SIDE_BY_SIDE says which parts run so, and why.
# It stops after the first part (or side-by-side group) that fails, unless KEEP_GOING is set;
# the exit code is that of the last part that failed, 0 if none did.
set -u
# Busy CPU time of the whole machine, in hundredths of a second (Linux's /proc/stat; elsewhere
# nothing is printed): each part's line says how busy it kept the machine's cores, which says
# whether a part waits or computes.
busy() { [ -r /proc/stat ] && awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
usage() {   # usage T0 BUSY0: " (machine busy N % of C cores)" since then
  local b; b=$(busy) || return 0
  [ -n "$2" ] && [ $(( $(date +%s) - $1 )) -gt 0 ] || return 0
  echo " (machine $(( (b - $2) / ($(date +%s) - $1) / ncpu )) % busy on $ncpu cores)"
}
logdir=$1
shift
make=${MAKE:-make}
side=" ${SIDE_BY_SIDE:-} "
mkdir -p "$logdir"
rc=0
times=""

# Group the parts: consecutive parts that are all in SIDE_BY_SIDE form one group.
groups=()
for part in "$@"; do
  last=$(( ${#groups[@]} - 1 ))
  if [[ $side == *" $part "* && $last -ge 0 && $side == *" ${groups[$last]%%+*} "* ]]; then
    groups[$last]="${groups[$last]}+$part"
  else
    groups+=("$part")
  fi
done

for group in "${groups[@]}"; do
  IFS=+ read -r -a parts <<< "$group"
  t0=$(date +%s)
  b0=$(busy) || b0=""
  failed=0
  if [ ${#parts[@]} = 1 ]; then
    prc=0
    $make --no-print-directory "test-$group" || prc=$?
    times="$times, test-$group $(( $(date +%s) - t0 )) s$(usage "$t0" "$b0")"
    if [ $prc != 0 ]; then rc=$prc; failed=1; times="$times (failed)"; fi
  else
    for part in "${parts[@]}"; do
      prc=0
      $make --no-print-directory "test-$part-install" || prc=$?
      if [ $prc != 0 ]; then rc=$prc; failed=1; times="$times, test-$part-install (failed)"; fi
    done
    if [ $failed = 0 ]; then
      pids=()
      for part in "${parts[@]}"; do
        rm -f "$logdir/$part.status"
        ( s=$(date +%s); r=0
          $make --no-print-directory "test-$part" > "$logdir/$part.log" 2>&1 || r=$?
          echo "$r $(( $(date +%s) - s ))" > "$logdir/$part.status" ) &
        pids+=($!)
      done
      wait "${pids[@]}"
      for part in "${parts[@]}"; do
        echo "==== make test-$part (side by side with the other parts of: ${parts[*]})"
        cat "$logdir/$part.log"
        read -r r s < "$logdir/$part.status" || { r=1; s="?"; }
        times="$times, test-$part $s s"
        if [ "$r" != 0 ]; then rc=$r; failed=1; times="$times (failed)"; fi
      done
      times="$times (${parts[*]} side by side: $(( $(date +%s) - t0 )) s, installs included$(usage "$t0" "$b0" | sed 's/^ (/; /; s/)$//'))"
    fi
  fi
  if [ $failed = 1 ] && [ -z "${KEEP_GOING:-}" ]; then break; fi
done
echo "make test: ${times#, }"
exit $rc
