# Installs what gradcause's build and tests need, skipping whatever is already there.
# Sourced by scripts/serve and scripts/test; every tool comes from a package registry
# (crates.io, Debian, npm), never from a download of its own.

set -euo pipefail

# Keep build artefacts outside the clone, so a fresh checkout on the same machine rebuilds
# incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gradcause/target}"
export PATH="$HOME/.cargo/bin:$PATH"

TRUNK_VERSION=0.21.14

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

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
    # --locked fails here: a pinned webpki-roots version is missing from the registry.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (a few minutes)"
    # 0.22 needs a newer rustc; 0.21.14 builds only with its own lock file.
    cargo install trunk --version "$TRUNK_VERSION" --locked
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
