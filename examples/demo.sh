#!/usr/bin/env bash
# The main job on one machine: a local registry standing in for quay.io, the handler
# in standalone mode, and KubeVirt's getting-started VM booting on it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# As root, or through sudo: the handler makes cgroups, network namespaces and QEMU
# sockets. (A root-only machine may have no sudo; nothing here calls it.)
if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (or prefix sudo): sudo npm run demo" >&2
  exit 1
fi

bash test/setup.sh
npm run build --silent

DEMO=${VIRTNODE_DEMO_DIR:-/var/tmp/virtnode-demo}
STATE=${VIRTNODE_STATE_DIR:-/var/lib/virtnode}
RUN=${VIRTNODE_RUN_DIR:-/run/virtnode}
PORT=${VIRTNODE_DEMO_REGISTRY_PORT:-5055}
mkdir -p "$DEMO"
virtnode() { node "$ROOT/dist/handler/cli/main.js" --socket "$RUN/virtnode.sock" "$@"; }
# How to call the CLI from a shell afterwards: test/setup.sh put `virtnode` on the PATH.
if [ "$RUN" = /run/virtnode ]; then VN=virtnode; else VN="virtnode --socket $RUN/virtnode.sock"; fi

# 1. A real OCI registry on loopback, holding the test guest as the demo image.
if ! curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1; then
  mkdir -p "$DEMO/registry"
  cat > "$DEMO/registry.yml" <<YAML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $DEMO/registry } }
http: { addr: 127.0.0.1:$PORT }
YAML
  nohup docker-registry serve "$DEMO/registry.yml" >"$DEMO/registry.log" 2>&1 &
  echo $! > "$DEMO/registry.pid"
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
fi
layout=$(node -e 'import("./dist/test/guest/index.js").then(m => m.ensureGuest()).then(p => console.log(p.ociContainerDisk))')
HOME="$DEMO" skopeo copy --quiet --dest-tls-verify=false "oci:$layout" \
  "docker://127.0.0.1:$PORT/kubevirt/cirros-container-disk-demo:latest"

# 2. The handler, standalone, with the local registry as quay.io's mirror.
if ! virtnode node >/dev/null 2>&1; then
  # --max-semi-space-size: see HANDLER_NODE_FLAGS in test/e2e/harness.ts.
  nohup node --max-semi-space-size=4 dist/handler/main.js --allow-emulation \
    --registry-mirror "quay.io=http://127.0.0.1:$PORT" \
    --state-dir "$STATE" --run-dir "$RUN" >"$DEMO/handler.log" 2>&1 &
  echo $! > "$DEMO/handler.pid"
  for _ in $(seq 100); do virtnode node >/dev/null 2>&1 && break; sleep 0.1; done
fi

# 3. KubeVirt's getting-started VM.
virtnode apply -f examples/vm-cirros.yaml --wait
virtnode get vms
virtnode get vmis -o wide
echo
echo "Waiting for the guest's login prompt on the serial console..."
node --input-type=module -e '
  const { connectHandler } = await import("./dist/handler/cli/client.js");
  const c = await connectHandler({ socket: process.argv[1] });
  const s = c.node.Console(c.md());
  s.write({ open: { namespace: "default", name: "vm-cirros" } });
  let out = "";
  const t = setTimeout(() => { console.error("no login prompt within 120 s"); process.exit(1); }, 120000);
  s.on("data", (m) => {
    out += Buffer.from(m.data).toString();
    if (/login: $/m.test(out)) { clearTimeout(t); process.stdout.write(out.slice(-600) + "\n"); s.cancel(); c.close(); process.exit(0); }
  });
  setInterval(() => s.write({ data: Buffer.from("\r") }), 3000).unref();
' "$RUN/virtnode.sock"
cat <<TXT

vm-cirros is running. Try:
  $VN console vm-cirros      (login: cirros / gocubsgo; Ctrl-] detaches)
  $VN get vmis
  $VN stop vm-cirros
Handler log: $DEMO/handler.log    Stop everything: kill \$(cat $DEMO/handler.pid) \$(cat $DEMO/registry.pid)
(Stopping the handler leaves the VM running; delete the VM first to stop it.)
TXT
