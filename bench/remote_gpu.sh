#!/usr/bin/env bash
# The GPU tests and benchmarks, run on a borrowed GPU machine that has no registry access (how the figures
# in bench/results/h200-2026-11-27 were made). Run from the repository root there, after copying along:
#   .gl/*.deb          Debian's libvulkan1 (+ glvnd) packages, unpacked into / (the machine has the NVIDIA ICD
#                      but no Vulkan loader)
#   .dev/deno.xz       the Deno binary, xz-compressed (`xz -9 -c $(which deno)`)
#   .dev/fmnist.tar.xz Fashion-MNIST's four IDX files (unpacked to /usr/share/datasets/fashion-mnist)
# Usage: [RUNS_FROM=FILE] [STRATEGIES=a,b] [TESTS=paths] bash bench/remote_gpu.sh PHASES BUDGET_S — PHASES a
# comma list, run in that order, of setup, tests (TESTS: which, default the GPU suites), kernels, kgram (only
# factor_gram's rows of the kernel table), training, omp, table, cnn, ompcli, omppc, ompclass; each phase
# gets its own time limit within BUDGET_S seconds, and its log is written to $OUT/PHASE.log (summary.txt
# collects the adapter and each phase's exit status).
# The default order puts the OMP class comparison last: its float64 reference runs for minutes on a
# machine whose CPU is slow (on the H200 machine it did not finish in 220 s).
# npm packages are not needed: the GPU tests and the benchmarks import none (the CLI loads the server's
# modules only for `serve` and `worker`).
set -u
phases="${1:-setup,tests,kernels,training,ompcli,omppc,table,ompclass}"
budget="${2:-540}"
t0=$(date +%s)
left() { echo $((budget - ($(date +%s) - t0))); }
has() { [[ ",$phases," == *",$1,"* ]]; }
# run NAME LIMIT CMD...: runs CMD with min(LIMIT, time left - 10) seconds, output to $OUT/NAME.log
run() {
  local name=$1 lim=$2; shift 2
  local l=$(($(left) - 10)); [ "$l" -lt "$lim" ] && lim=$l
  if [ "$lim" -lt 15 ]; then echo "== $name: skipped (no time left)" | tee -a "$OUT/summary.txt"; return; fi
  echo "== $name (limit ${lim}s) at +$(( $(date +%s) - t0 ))s" | tee -a "$OUT/summary.txt"
  local s=$(date +%s)
  timeout -k 5 "$lim" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "== $name rc=$rc in $(( $(date +%s) - s ))s" | tee -a "$OUT/summary.txt"
  tail -n 4 "$OUT/$name.log"
}

for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
mkdir -p /tmp/bin /tmp/xdg /usr/share/datasets/fashion-mnist
xz -dc .dev/deno.xz >/tmp/bin/deno && chmod +x /tmp/bin/deno
tar -xJf .dev/fmnist.tar.xz -C /usr/share/datasets/fashion-mnist
export PATH=/tmp/bin:$PATH NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 XDG_RUNTIME_DIR=/tmp/xdg RUST_BACKTRACE=0
export NPM_CONFIG_REGISTRY=http://127.0.0.1:9/ GRADSIFT_NO_INSTALL=1 DENO_DIR=/tmp/denodir
{
  echo "setup done at +$(( $(date +%s) - t0 ))s"; nvidia-smi -L; nproc; lscpu | grep -m1 'Model name'
  deno --version | head -1; ls /usr/share/datasets/fashion-mnist
  deno run -A --cached-only src/cli.ts gpu-info
} >"$OUT/summary.txt" 2>&1
cat "$OUT/summary.txt"

# The phases run in the order given.
for phase in ${phases//,/ }; do
  case $phase in
    setup) ;;
    tests) run tests 150 deno test -A --no-check ${TESTS:-test/gpu test/nn test/selection} ;;
    kgram) run kgram 90 deno run -A --cached-only bench/main.ts kernels --only factor_gram,Gram ;;
    kernels) run kernels 170 deno run -A --cached-only bench/main.ts kernels ;;
    training) run training 100 deno run -A --cached-only bench/main.ts training ;;
    omp) run omp 220 deno run -A --cached-only bench/selection.ts --part omp ;;
    table)
      # Runs already recorded on a GPU (RUNS_FROM, a --record file) are taken from it, not run again.
      if [ -n "${RUNS_FROM:-}" ]; then cp "$RUNS_FROM" "$OUT/runs.jsonl"; fi
      run table 300 deno run -A --cached-only bench/selection.ts --part table --seeds 1 --budgets 0.1 \
        --strategies "${STRATEGIES:-full,gradmatch,random,craig}" --record "$OUT/runs.jsonl" ;;
    cnn) run cnn 200 deno run -A --cached-only bench/main.ts training --cnn-only ;;
    ompcli) run ompcli 80 deno run -A --cached-only bench/selection.ts --part omp-cli ;;
    omppc) run omppc 150 deno run -A --cached-only bench/selection.ts --part omp-per-class ;;
    ompclass) run ompclass 400 deno run -A --cached-only bench/selection.ts --part omp-class ;;
    *) echo "unknown phase $phase" | tee -a "$OUT/summary.txt" ;;
  esac
done
echo "all done at +$(( $(date +%s) - t0 ))s" | tee -a "$OUT/summary.txt"
