#!/usr/bin/env bash
# Fails when an include runs against the architecture (docs/ARCHITECTURE.md): a library folder
# may include only its own folder and the folders below it in FMNIST_LAYERS (CMakeLists.txt,
# lowest first); no library file includes the CLI; every folder of src/ and include/fmnist/
# is a listed layer (or src/cli). Prints each offending include as file:line: text.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a layers < <(sed -n 's/^set(FMNIST_LAYERS \(.*\))$/\1/p' CMakeLists.txt)
((${#layers[@]} > 0)) || { echo "check-layers: no set(FMNIST_LAYERS ...) in CMakeLists.txt" >&2; exit 2; }
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

bad=0
for dir in src/*/ include/fmnist/*/; do
  name=$(basename "$dir")
  [[ $dir == src/cli/ || -n ${rank[$name]+x} ]] && continue
  echo "check-layers: $dir is not a layer in FMNIST_LAYERS (CMakeLists.txt)"
  bad=1
done
loose=$(find src -maxdepth 1 -type f | wc -l)
if ((loose > 3)); then
  echo "check-layers: src/ holds $loose files directly (at most 3: main.cpp and what belongs to no concept)"
  bad=1
fi

for layer in "${layers[@]}"; do
  for file in $(find "src/$layer" "include/fmnist/$layer" -type f \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null); do
    while IFS=: read -r line text; do
      target=$(sed -n 's|.*#include "\(fmnist/\)\{0,1\}\([a-z_]*\)/.*|\2|p' <<<"$text")
      [[ -z $target ]] && continue
      if [[ $target == cli ]] || [[ -z ${rank[$target]+x} ]] || ((rank[$target] > rank[$layer])); then
        echo "$file:$line: $text  ($layer may include only: ${layers[*]:0:rank[$layer]+1})"
        bad=1
      fi
    done < <(grep -n '^#include "' "$file" || true)
  done
done
((bad == 0)) && echo "check-layers: ${#layers[@]} layers, no include against the order: ${layers[*]}"
exit "$bad"
