# Installs what gradcause's build and tests need, skipping whatever is already there.
# Sourced by scripts/serve and scripts/test; every tool comes from a package registry
# (crates.io, Debian, npm), never from a download of its own.

set -euo pipefail

# Keep build artefacts outside the clone, so a fresh checkout on the same machine rebuilds
# incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gradcause/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TRUNK_VERSION=0.21.14

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# `stage NAME COMMAND...` runs a command as a named stage and records its duration;
# `stage_table` prints them all (scripts/time-ci collects the table).
STAGES=()
stage() {
  local name=$1 start=$SECONDS
  shift
  say "$name"
  "$@"
  STAGES+=("$(minutes "$name" $((SECONDS - start)))")
}
minutes() { awk -v name="$1" -v s="$2" 'BEGIN { printf "%-40s %6.1f\n", name, s / 60 }'; }
stage_table() {
  printf '%-40s %6s\n' "stage" "min"
  printf '%s\n' "${STAGES[@]}"
  minutes "total" "$SECONDS"
}

# `cargo install` for build tools: they orchestrate, they do not compute, so they are compiled
# without optimisation (OPT_LEVEL, 0 unless given), LTO or debug info. trunk then installs in
# about 2 minutes instead of 11 on 2 cores.
install_tool() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL="${OPT_LEVEL:-0}" CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
    env -u CARGO_TARGET_DIR cargo install --quiet "$@"
}

# The wasm-bindgen version the lock file pins; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_wasm_bindgen() {
  local want
  want="$(wasm_bindgen_version)"
  if ! grep -q "^wasm_bindgen = \"$want\"" Trunk.toml; then
    echo "Trunk.toml's [tools] wasm_bindgen must be \"$want\", the version in Cargo.lock" >&2
    exit 1
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (a few minutes)"
    # --locked fails here: a pinned webpki-roots version is missing from the registry. It rewrites
    # the page's whole wasm file on every build, so it keeps some optimisation.
    OPT_LEVEL=1 install_tool wasm-bindgen-cli --version "$want"
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (a few minutes)"
    # 0.22 needs a newer rustc; 0.21.14 builds only with its own lock file. Without its default
    # features it has no TLS stack and no update check: it never downloads anything here.
    install_tool trunk --version "$TRUNK_VERSION" --locked --no-default-features
  fi
}

# Debian packages, installed when missing.
ensure_debian() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# Headless Chromium (with SwiftShader's WebGPU) and its driver, for the browser tests; Mesa's
# lavapipe, a Vulkan driver on the CPU, for the native wgpu tests.
ensure_test_tools() {
  ensure_debian chromium chromium-driver mesa-vulkan-drivers
}

# Node and the npm packages of tests/page: playwright-core drives Debian's Chromium (it never
# downloads a browser) and binaryen provides the wasm-opt Trunk runs. Reinstalled only when the
# lock file changes.
ensure_node_tools() {
  command -v npm >/dev/null || ensure_debian nodejs npm
  local stamp=tests/page/node_modules/.installed-lock
  if ! cmp -s tests/page/package-lock.json "$stamp" 2>/dev/null; then
    say "installing the npm packages of tests/page"
    (cd tests/page && npm ci --no-audit --no-fund --loglevel=error)
    cp tests/page/package-lock.json "$stamp"
  fi
  export PATH="$PWD/tests/page/node_modules/.bin:$PATH"
}

# wgpu's Vulkan loader complains without a runtime directory.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
