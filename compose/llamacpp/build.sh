#!/usr/bin/env bash
# Build llama.cpp's llama-server for CPU from the llama.cpp source vendored in a pinned llama-cpp-python sdist
# (PyPI), for the engine test tier and `make demo-real`. No network at build or run time beyond fetching the
# sdist once; the result is cached in .cache/llama.cpp/ (bin/llama-server, ggml-vocab-qwen2.gguf, VERSION).
# Usage: compose/llamacpp/build.sh [PYTHON]
set -euo pipefail
PIN="llama-cpp-python==0.3.36"   # vendors llama.cpp at commit 0c1e570 (vendor/llama.cpp)
PYTHON="${1:-python3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="$ROOT/.cache/llama.cpp"
if [ -x "$CACHE/bin/llama-server" ] && [ "$(cat "$CACHE/VERSION" 2>/dev/null)" = "$PIN" ]; then
  echo "llama-server: cached ($PIN) in $CACHE"
  exit 0
fi
mkdir -p "$CACHE/src" "$CACHE/bin"
echo "llama-server: fetching the $PIN sdist"
"$PYTHON" -m pip download -q --no-deps --no-binary :all: "$PIN" -d "$CACHE/src"
rm -rf "$CACHE/src/unpacked" && mkdir -p "$CACHE/src/unpacked"
tar xzf "$CACHE"/src/llama_cpp_python-*.tar.gz -C "$CACHE/src/unpacked" --strip-components=1
SRC="$CACHE/src/unpacked/vendor/llama.cpp"
echo "llama-server: configuring (CPU only, static)"
cmake -S "$SRC" -B "$CACHE/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_OPENSSL=OFF >/dev/null
echo "llama-server: building with $(nproc) jobs (about 8-10 minutes on 2 cores)"
started=$(date +%s)
cmake --build "$CACHE/build" --target llama-server -j "$(nproc)" 2>&1 \
  | grep --line-buffered -E '^\[ *[0-9]+%\]' | awk '{ p=$1" "$2; if (p != last) { print "llama-server: " p; last=p } }' \
  | awk 'NR % 10 == 1' || true
test -x "$CACHE/build/bin/llama-server" || { echo "llama-server: the build failed (see $CACHE/build)" >&2; exit 1; }
cp "$CACHE/build/bin/llama-server" "$CACHE/bin/llama-server"
cp "$SRC/models/ggml-vocab-qwen2.gguf" "$CACHE/ggml-vocab-qwen2.gguf"
echo "$PIN" > "$CACHE/VERSION"
echo "llama-server: built in $(( $(date +%s) - started )) s → $CACHE/bin/llama-server"
