#!/bin/sh
# vendor.sh refreshes assets/vendor/ from the versions pinned in
# package-lock.json: the ECharts bundle and the licences of what it bundles
# (ECharts: Apache-2.0, with d3 parts under BSD-3-Clause; ZRender:
# BSD-3-Clause; tslib: 0BSD). Run it after changing the pin, commit what it
# copies; the Go build embeds assets/ and never needs npm.
#
#   cd api/ui && sh vendor.sh
set -eu
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
out=assets/vendor
mkdir -p "$out"
cp node_modules/echarts/dist/echarts.min.js "$out/echarts.min.js"
cp node_modules/echarts/LICENSE "$out/LICENSE-echarts.txt"
cp node_modules/echarts/NOTICE "$out/NOTICE-echarts.txt"
cp node_modules/echarts/licenses/LICENSE-d3 "$out/LICENSE-d3.txt"
cp node_modules/zrender/LICENSE "$out/LICENSE-zrender.txt"
cp node_modules/tslib/LICENSE.txt "$out/LICENSE-tslib.txt"
printf 'echarts %s\n' "$(node -p 'require("./node_modules/echarts/package.json").version')" >"$out/VERSION.txt"
echo "vendored into $out:" && ls -l "$out"
