#!/usr/bin/env bash
# Creates (or reuses) a kind cluster, builds and loads the gateway image, installs Envoy Gateway,
# development Redis and RabbitMQ and the Helm chart, then smoke-tests the deployment: through
# `kubectl port-forward` to the Service, then through the Gateway (HTTP and TLS) with two pods,
# checking that the same hash key lands on the same pod. See k8s/kind/README.md.
#
# Environment: CLUSTER (orgcast), NAMESPACE (orgcast), IMAGE (orgcast:dev),
# ENVOY_GATEWAY_VERSION (v1.7.0), CONTAINER_ENGINE (docker), DELETE_CLUSTER=1 to delete the
# cluster at the end, SKIP_BUILD=1 to reuse an image already loaded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIND_DIR="$ROOT/k8s/kind"
CLUSTER="${CLUSTER:-orgcast}"
NAMESPACE="${NAMESPACE:-orgcast}"
IMAGE="${IMAGE:-orgcast:dev}"
ENVOY_GATEWAY_VERSION="${ENVOY_GATEWAY_VERSION:-v1.7.0}"
CONTAINER_ENGINE="${CONTAINER_ENGINE:-docker}"
RELEASE=orgcast
HOSTNAME_UNDER_TEST=orgcast.local

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }

for tool in kind "$CONTAINER_ENGINE" openssl curl node npx; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (see k8s/kind/README.md)"
done
HELM="${HELM:-$(command -v helm || "$ROOT/scripts/helm-tools.sh" helm)}"
KUBECTL="${KUBECTL:-$(command -v kubectl || "$ROOT/scripts/helm-tools.sh" kubectl)}"
[ -d "$ROOT/node_modules" ] || die "run npm ci first (smoke.ts uses the repository's dependencies)"

PIDS=()
WORKDIR="$(mktemp -d)"
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORKDIR"
  if [ "${DELETE_CLUSTER:-0}" = 1 ]; then kind delete cluster --name "$CLUSTER" || true; fi
}
trap cleanup EXIT

kubectl() { "$KUBECTL" --context "kind-$CLUSTER" "$@"; }
helm() { "$HELM" --kube-context "kind-$CLUSTER" "$@"; }

# port_forward <namespace> <resource> <local>:<remote>: starts kubectl port-forward in the
# background and waits until the local port accepts connections.
port_forward() {
  local namespace="$1" resource="$2" ports="$3" local_port="${3%%:*}"
  kubectl -n "$namespace" port-forward "$resource" "$ports" >"$WORKDIR/port-forward-$local_port.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 50); do
    if node -e "require('net').connect($local_port, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"; then return 0; fi
    sleep 0.2
  done
  cat "$WORKDIR/port-forward-$local_port.log" >&2
  die "port-forward $resource $ports did not come up"
}

log "kind cluster $CLUSTER"
if kind get clusters | grep -qx "$CLUSTER"; then
  echo "reusing the existing cluster"
else
  kind create cluster --name "$CLUSTER" --config "$KIND_DIR/kind-config.yaml" --wait 120s
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building $IMAGE"
  "$CONTAINER_ENGINE" build -t "$IMAGE" "$ROOT"
  kind load docker-image "$IMAGE" --name "$CLUSTER"
fi

log "Envoy Gateway $ENVOY_GATEWAY_VERSION"
helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm --version "$ENVOY_GATEWAY_VERSION" \
  --namespace envoy-gateway-system --create-namespace --wait --timeout 5m
kubectl -n envoy-gateway-system wait deployment/envoy-gateway --for=condition=Available --timeout=5m
kubectl apply -f "$KIND_DIR/envoy-gateway.yaml"

log "Redis and RabbitMQ (development)"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NAMESPACE" apply -f "$KIND_DIR/redis.yaml" -f "$KIND_DIR/rabbitmq.yaml"
kubectl -n "$NAMESPACE" rollout status deployment/redis --timeout=3m
kubectl -n "$NAMESPACE" rollout status deployment/rabbitmq --timeout=5m

log "Secrets"
JWT_SECRET="$(kubectl -n "$NAMESPACE" get secret orgcast -o jsonpath='{.data.jwt-secret}' 2>/dev/null | base64 --decode || true)"
[ -n "$JWT_SECRET" ] || JWT_SECRET="$(openssl rand -hex 32)"
kubectl -n "$NAMESPACE" create secret generic orgcast \
  --from-literal=jwt-secret="$JWT_SECRET" \
  --from-literal=amqp-url=amqp://orgcast:orgcast@rabbitmq:5672 \
  --from-literal=redis-url=redis://redis:6379 \
  --dry-run=client -o yaml | kubectl apply -f -
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=$HOSTNAME_UNDER_TEST" \
  -addext "subjectAltName=DNS:$HOSTNAME_UNDER_TEST" \
  -keyout "$WORKDIR/tls.key" -out "$WORKDIR/tls.crt" 2>/dev/null
kubectl -n "$NAMESPACE" create secret tls orgcast-tls --cert "$WORKDIR/tls.crt" --key "$WORKDIR/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -

log "Helm chart"
helm upgrade --install "$RELEASE" "$ROOT/charts/orgcast" --namespace "$NAMESPACE" \
  --values "$KIND_DIR/values-kind.yaml" \
  --set image.repository="${IMAGE%%:*}" --set image.tag="${IMAGE##*:}" \
  --wait --timeout 5m
kubectl -n "$NAMESPACE" rollout status deployment/"$RELEASE" --timeout=3m
READY="$(kubectl -n "$NAMESPACE" get deployment "$RELEASE" -o jsonpath='{.status.readyReplicas}')"
[ "$READY" = 2 ] || die "expected 2 ready gateway pods, got ${READY:-0}"

log "smoke test through kubectl port-forward"
port_forward "$NAMESPACE" "service/$RELEASE" 18081:8081
port_forward "$NAMESPACE" service/rabbitmq 15672:5672
port_forward "$NAMESPACE" "deployment/$RELEASE" 19091:9091
curl -fsS http://127.0.0.1:19091/readyz >/dev/null || die "/readyz is not 200 through port-forward"
curl -fsS http://127.0.0.1:19091/metrics | grep -q '^orgcast_connections ' || die "/metrics lacks orgcast_connections"
(cd "$ROOT" && npx tsx k8s/kind/smoke.ts --url ws://127.0.0.1:18081/api/ws --secret "$JWT_SECRET" \
  --amqp amqp://orgcast:orgcast@127.0.0.1:15672)

log "smoke test through the Gateway (two pods)"
kubectl -n "$NAMESPACE" wait gateway/"$RELEASE" --for=condition=Programmed --timeout=3m
for attempt in $(seq 1 60); do
  CONDITIONS="$(kubectl -n "$NAMESPACE" get httproute "$RELEASE" -o jsonpath='{range .status.parents[*].conditions[*]}{.type}={.status}{"\n"}{end}')"
  if grep -qx 'Accepted=True' <<<"$CONDITIONS" && grep -qx 'ResolvedRefs=True' <<<"$CONDITIONS"; then break; fi
  [ "$attempt" -lt 60 ] || die "HTTPRoute $RELEASE not accepted: $CONDITIONS"
  sleep 2
done
ENVOY_SERVICE="$(kubectl -n envoy-gateway-system get service \
  -l "gateway.envoyproxy.io/owning-gateway-name=$RELEASE,gateway.envoyproxy.io/owning-gateway-namespace=$NAMESPACE" \
  -o jsonpath='{.items[0].metadata.name}')"
[ -n "$ENVOY_SERVICE" ] || die "no Envoy proxy Service for Gateway $NAMESPACE/$RELEASE"
port_forward envoy-gateway-system "service/$ENVOY_SERVICE" 18080:80
port_forward envoy-gateway-system "service/$ENVOY_SERVICE" 18443:443
(cd "$ROOT" && npx tsx k8s/kind/smoke.ts --url ws://127.0.0.1:18080/api/ws --host "$HOSTNAME_UNDER_TEST" \
  --secret "$JWT_SECRET" --amqp amqp://orgcast:orgcast@127.0.0.1:15672 --affinity --min-pods 2)
(cd "$ROOT" && npx tsx k8s/kind/smoke.ts --url wss://127.0.0.1:18443/api/ws --host "$HOSTNAME_UNDER_TEST" --insecure \
  --secret "$JWT_SECRET" --affinity --min-pods 2)

log "done"
cat <<EOF
The gateway runs in namespace $NAMESPACE of kind cluster $CLUSTER.
  ws://127.0.0.1:8080/api/ws   (Host: $HOSTNAME_UNDER_TEST; NodePort 30080 mapped by kind)
  wss://127.0.0.1:8443/api/ws  (self-signed certificate for $HOSTNAME_UNDER_TEST)
  JWT secret: $JWT_SECRET
  token:      JWT_SECRET=$JWT_SECRET npm run -s token -- --user alice --org acme
  metrics:    kubectl --context kind-$CLUSTER -n $NAMESPACE port-forward deployment/$RELEASE 9091:9091
EOF
