#!/usr/bin/env bash
# Builds the control-plane binaries for the test/demo cluster from Go modules, once, into a cache
# keyed by the pinned versions (cluster/versions.json). Nothing is downloaded but Go modules.
# Usage: build-binaries.sh            prints the folder holding the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
versions="$here/../versions.json"
v() { node -p "require('$versions').$1"; }
K8S=$(v kubernetes); ETCD=$(v etcd); KWOK=$(v kwok)
minor=$(echo "$K8S" | cut -d. -f2)
TOOLS=${DEVLANE_TOOLS:-$HOME/.cache/devlane-tools}
OUT="$TOOLS/cluster-bin/k8s-$K8S-etcd-$ETCD-kwok-$KWOK"
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$OUT" "$TOOLS/build"
log="$TOOLS/build/build-$K8S.log"
echo "building Kubernetes $K8S, etcd $ETCD and kwok $KWOK into $OUT (first time only; log: $log)" >&2

# Kubernetes: a wrapper module that pins every staging module (kubernetes#79384).
wrap="$TOOLS/build/k8s-$K8S"
mkdir -p "$wrap"
(
  cd "$wrap"
  [ -f go.mod ] || go mod init devlane.local/k8s-build >>"$log" 2>&1
  go mod download -json "k8s.io/kubernetes@$K8S" >"$wrap/dl.json"
  gomod=$(node -p "require('$wrap/dl.json').GoMod")
  go mod edit -require="k8s.io/kubernetes@$K8S"
  staging_version="v0.${K8S#v1.}"
  for m in $(grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}'); do
    go mod edit -replace="$m=$m@$staging_version"
  done
  cat >tools.go <<'GO'
//go:build tools

package tools
GO
  ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$K8S -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$OUT/$cmd" ] && continue
    echo "  go build $cmd" >&2
    go build -trimpath -ldflags "$ld" -o "$OUT/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" >>"$log" 2>&1
    mv "$OUT/$cmd.tmp" "$OUT/$cmd"
  done
)

# etcd: same wrapper way.
if [ ! -x "$OUT/etcd" ]; then
  ew="$TOOLS/build/etcd-$ETCD"; mkdir -p "$ew"
  (
    cd "$ew"
    [ -f go.mod ] || go mod init devlane.local/etcd-build >>"$log" 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD" >>"$log" 2>&1
    echo "  go build etcd" >&2
    go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 >>"$log" 2>&1
    mv "$OUT/etcd.tmp" "$OUT/etcd"
  )
fi

# kwok and kwokctl: go install works (no replace directives in kwok's go.mod).
if [ ! -x "$OUT/kwok" ] || [ ! -x "$OUT/kwokctl" ]; then
  echo "  go install kwok kwokctl" >&2
  GOBIN="$OUT" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK" >>"$log" 2>&1
fi
touch "$OUT/.complete"
echo "$OUT"
