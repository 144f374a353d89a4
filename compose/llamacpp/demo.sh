#!/usr/bin/env bash
# `make demo-real`: the demo's small sweep against a real inference engine on this machine's CPU: llama.cpp's
# llama-server (make llama-server) serving a tiny random Qwen2-architecture model with the real Qwen2
# vocabulary (tests/engine/tiny_model.py). The answers are nonsense; the numbers (tokens/s, TTFT, batch size
# from its /metrics) are a real server's. Usage: compose/llamacpp/demo.sh PYTHON [OUTPUT]
set -euo pipefail
PYTHON="$1"; OUT="${2:-demo_real_results}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="$ROOT/.cache/llama.cpp"
MODEL="$CACHE/tiny-qwen2.gguf"
[ -f "$MODEL" ] || "$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/tests/engine')
from pathlib import Path; from tiny_model import write_tiny_qwen2
write_tiny_qwen2(Path('$CACHE/ggml-vocab-qwen2.gguf'), Path('$MODEL'))"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$CACHE/bin/llama-server" -m "$MODEL" --host 127.0.0.1 --port "$PORT" -c 4096 -np 4 --metrics --jinja \
  >"$CACHE/demo-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
DATA="$("$PYTHON" -c 'from evalclient.sweep.demo import demo_data_dir; print(demo_data_dir())')"
"$ROOT/.venv/bin/evalclient" run --endpoint "http://127.0.0.1:$PORT" --models qwen2.5_8b \
  --presets balanced,performance --datasets gsm8k,arc_challenge,hellaswag,bfcl --samples 5 \
  --data-dir "$DATA" --output "$OUT"
