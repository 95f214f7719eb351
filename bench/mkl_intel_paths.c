/* Makes the MKL inside PyTorch take the code paths it takes on Intel CPUs (AVX-512 where the CPU
 * has it) on any x86-64 CPU, by answering its two "is this an Intel CPU?" checks with yes. MKL
 * otherwise runs its generic path on AMD CPUs (AVX2 at most), which would flatter gradcause's
 * ratio on AMD CPUs that have AVX-512. Loaded with LD_PRELOAD by scripts/bench-threads when
 * PYTORCH_MKL_INTEL_PATHS=1; `gradcause bench --pytorch` prints which path MKL took. */
int mkl_serv_intel_cpu_true(void) { return 1; }
int mkl_serv_intel_cpu(void) { return 1; }
