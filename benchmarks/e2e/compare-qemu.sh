#!/usr/bin/env bash
# End-to-end throughput of livemig against QEMU 7.2 and the raw loopback TCP ceiling.
#
# Every migration moves random guest RAM (nothing compresses, no zero pages) from a paused guest with
# no bandwidth limit over loopback tcp; throughput is transferred bytes / total time as the source
# reports them (QEMU's query-migrate, livemig send --json), the median of the runs, run by run
# alternated between the rows so a change in the machine's load falls on all of them.
#
# Rows:  raw tcp          one process sends SIZE bytes to another over loopback (python sockets)
#        qemu cold|warm   QEMU 7.2 -> QEMU 7.2; warm is a destination started with -mem-prealloc
#        livemig cold     livemig receive --no-prefault: pages are faulted in as they load
#        livemig warm     livemig receive prefaults its RAM (the default), and the source starts only
#                         once it printed "prefaulted ...": the destination is warm
#        livemig race     the default with the source started at once: prefault and load overlap
#        each with 1 channel, and multifd 2 and 4 (x2, x4); livemig's multifd rows need a livemig
#        whose `send --help` lists --multifd-channels, and print n/a otherwise.
# Ratios: /QEMU is livemig over QEMU with the same channels and temperature (race beside cold, QEMU's
# default); /raw is over the raw tcp ceiling.
# livemig is published as a host that lives for one migration would publish it: as native code ahead
# of time (Native AOT, for this machine's instruction set; QEMU is native code too), so the process does
# not spend its migration compiling or loading types. Without a C toolchain (gcc or clang) for the
# native link, it falls back to self-contained composite ReadyToRun with tiered compilation off (the
# runtime and the app precompiled together; the JIT still compiles what the image lacks). --r2r takes
# that build on purpose, --jit the plain build, whose code is compiled as it first runs.
#
# usage: benchmarks/e2e/compare-qemu.sh [--sizes 1G,4G] [--runs 3] [--channels 1,2,4]
#                                       [--rows raw,qemu,livemig] [--no-build] [--jit|--r2r] [--keep DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sizes="1G,4G"; runs=3; channels="1,2,4"; rows="raw,qemu,livemig"; build=1; keep=""; jit=0; r2r=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --channels) channels="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --jit) jit=1; shift ;;
    --r2r) r2r=1; shift ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare-qemu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

has() { [[ ",$rows," == *",$1,"* ]]; }
bytes_of() { local n="${1%[GgMm]}"; case "${1: -1}" in [Gg]) echo $((n << 30)) ;; [Mm]) echo $((n << 20)) ;; *) echo "$1" ;; esac; }

work="${keep:-$(mktemp -d /tmp/compare-qemu.XXXXXX)}"
mkdir -p "$work"
[[ -z "$keep" ]] && trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
: > "$results"

case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid="" ;; esac
bin="$root/samples/LiveMigration.Cli/bin/Release/net10.0"
if [[ $jit == 1 || -z "$rid" ]]; then
  cli="$bin/livemig"
elif [[ $r2r == 1 ]]; then
  cli="$bin/$rid/ready-to-run/livemig"
else
  cli="$bin/$rid/native-aot/livemig"
fi
publish_r2r() {
  echo "publishing livemig (Release, self-contained, composite ReadyToRun, tiering off, $rid)..." >&2
  dotnet publish "$root/samples/LiveMigration.Cli" -c Release -r "$rid" --self-contained true \
    -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -p:TieredCompilation=false \
    -o "$bin/$rid/ready-to-run" -nologo -v quiet >&2
}
if has livemig; then
  if [[ $build == 1 && "$cli" == */native-aot/* ]]; then
    echo "publishing livemig (Release, Native AOT for this machine's instruction set, $rid)..." >&2
    if ! dotnet publish "$root/samples/LiveMigration.Cli" -c Release -r "$rid" -p:PublishAot=true \
        -p:IlcInstructionSet=native -o "$bin/$rid/native-aot" -nologo -v quiet >&2; then
      echo "compare-qemu.sh: Native AOT publish failed (it links with gcc or clang); taking composite ReadyToRun" >&2
      cli="$bin/$rid/ready-to-run/livemig"
      publish_r2r
    fi
  elif [[ $build == 1 && "$cli" == */ready-to-run/* ]]; then
    publish_r2r
  elif [[ $build == 1 ]]; then
    echo "building livemig (Release)..." >&2
    dotnet build "$root/samples/LiveMigration.Cli" -c Release -nologo -v quiet >&2
  fi
  [[ -x "$cli" ]] || { echo "compare-qemu.sh: no $cli; run without --no-build once" >&2; exit 1; }
  echo "livemig: $cli" >&2
fi
livemig_multifd=0
if has livemig && "$cli" send --help 2>&1 | grep -q -- '--multifd-channels'; then livemig_multifd=1; fi
if has qemu && ! command -v "${QEMU:-qemu-system-x86_64}" > /dev/null; then
  echo "compare-qemu.sh: ${QEMU:-qemu-system-x86_64} not found: the QEMU rows are skipped" >&2
  rows="${rows//qemu/}"
fi

# One random image per size, the source's RAM for QEMU (mapped privately) and for livemig (read in).
for size in ${sizes//,/ }; do
  image="$work/ram-$size.bin"
  if [[ ! -s "$image" ]]; then
    echo "writing $size of random bytes to $image..." >&2
    head -c "$(bytes_of "$size")" /dev/urandom > "$image"
  fi
done

# Appends one result line, tagged with its size and row; a failed run is reported and counted out.
record() {
  local size="$1" row="$2"; shift 2
  local line
  if line="$(python3 "$here/e2e.py" "$@")"; then
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(size=sys.argv[2], row=sys.argv[3], rate=r["bytes"]/r["seconds"] if "bytes" in r and r["seconds"] > 0 else None); print(json.dumps(r))' \
      "$line" "$size" "$row" >> "$results"
    echo "  $size $row: $(tail -n 1 "$results" | python3 -c 'import json,sys; r=json.load(sys.stdin); x=r.get("rate"); print("%.2f GB/s" % (x/1e9) if x else "%.2f s" % r["seconds"])')" >&2
  else
    echo "  $size $row: FAILED (see above)" >&2
  fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
for run in $(seq 1 "$runs"); do
  echo "run $run of $runs" >&2
  for size in ${sizes//,/ }; do
    image="$work/ram-$size.bin"; n="$(bytes_of "$size")"
    has raw && record "$size" "raw tcp" raw "$n"
    has raw && record "$size" "first touch" touch "$n"
    for c in ${channels//,/ }; do
      if has qemu; then
        record "$size" "qemu cold x$c" qemu "$image" "$n" "$c" cold
        record "$size" "qemu warm x$c" qemu "$image" "$n" "$c" warm
      fi
      if has livemig && { [[ $c == 1 ]] || [[ $livemig_multifd == 1 ]]; }; then
        for mode in cold warm race; do
          record "$size" "livemig $mode x$c" livemig "$cli" "$image" "$n" "$c" "$mode"
        done
      fi
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 "$here/e2e.py" table "$results"
if has livemig && [[ $livemig_multifd == 0 ]]; then
  echo "livemig x2, x4: n/a (this livemig's send --help lists no --multifd-channels)"
fi
