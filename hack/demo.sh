#!/usr/bin/env bash
# The tandem story on the local lab, as far as it exists: every step is a
# tandem command a user would type. Run through `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
T=./bin/tandem
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Bring up two real clusters (blue older, green newer) and HAProxy; the first run builds Kubernetes from source" \
  $T lab up
eval "$($T lab env)"

# Blue active with all traffic, green its standby, blue's old node pool in
# service: the demo's starting point, also after a run that was interrupted
# half-way (a fresh lab is already there; these change nothing on it).
echo "(putting the lab in the demo's starting roles)"
$T deactivate --cluster green >/dev/null 2>&1 || true
$T activate --cluster blue >/dev/null 2>&1 || true
$T drain --cluster blue --nodes tandem.io/pool=default --undo >/dev/null 2>&1 || true
$T shift --router "$TANDEM_LAB_ROUTER" --from blue --to green --rollback >/dev/null 2>&1 || true

step "Seed blue with a realistic platform (namespaces, apps, StatefulSet, CRDs, RBAC, removed APIs)" \
  $T lab seed

step "Both clusters, as tandem sees them" \
  $T clusters --source blue --target green

step "Preflight: what will break, what will block, what must be done by hand (exit 1 means blockers found)" \
  $T plan --source blue --target green || true

step "What a sync would do (dry run, the shop stack only)" \
  $T sync --source blue --target green --stack shop --dry-run

step "Copy everything from blue to green as a standby: every object, no app pods" \
  $T sync --source blue --target green --standby

step "Green runs no app pods while it is standby" \
  kubectl --context green get deployments,statefulsets -A

cat > /tmp/tandem-demo-pipeline.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: pipeline-deploy, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: pipeline-deploy}}
  template:
    metadata: {labels: {app: pipeline-deploy}}
    spec: {containers: [{name: app, image: nginx}]}
YAML
step "A CI/CD pipeline applies replicas: 3 into standby green: the standby policy keeps it at 0" \
  sh -c 'kubectl --context green apply -f /tmp/tandem-demo-pipeline.yaml && kubectl --context green -n shop get deployment pipeline-deploy && kubectl --context green delete -f /tmp/tandem-demo-pipeline.yaml --wait=false'

step "Which cluster is active: the records, the markers, the router's real weights" \
  $T status --router "$TANDEM_LAB_ROUTER"

step "Activate green: replicas restored exactly, wait until available" \
  $T activate --cluster green

step "Sync once more, now as an active copy" \
  $T sync --source blue --target green

step "Again: nothing changed in blue, so nothing is written" \
  $T sync --source blue --target green

step "Traffic: HAProxy sends app.example to blue (weight 100) while green waits at 0" \
  curl -s -H 'Host: app.example' "http://$TANDEM_LAB_HAPROXY/"

# A bounded load probe runs beside the shift: who answers, second by second.
$T probe --url "http://$TANDEM_LAB_HAPROXY/" --host app.example --header X-Tandem-Cluster --rate 50 --duration 11s --every 1s > /tmp/tandem-demo-probe.txt &
PROBE=$!
step "Shift app.example from blue to green in gated steps (HTTP gate through HAProxy; a failure rolls back)" \
  $T shift --router "$TANDEM_LAB_ROUTER" --from blue --to green --steps 25,50,100 --pause 2s \
    --gate-http "http://$TANDEM_LAB_HAPROXY/" --gate-host app.example
wait "$PROBE" || true
step "What users saw meanwhile (50 requests/s through HAProxy): the split moves, nothing fails" \
  cat /tmp/tandem-demo-probe.txt

step "The router's real weights" \
  $T shift status --router "$TANDEM_LAB_ROUTER"

step "Now green answers" \
  curl -s -H 'Host: app.example' "http://$TANDEM_LAB_HAPROXY/"

# The lab's volumes are hostPath directories: put a file into each, to see it arrive.
for pv in $(kubectl --context blue get pv -o jsonpath='{.items[?(@.spec.claimRef.namespace=="shop-data")].spec.hostPath.path}'); do
  echo "ledger written in blue at $(date -u +%FT%TZ)" > "$pv/ledger.txt"
done

step "Hand the database's volumes over to green: no data copied, each PV pre-bound to its new claim's UID" \
  $T handoff --source blue --target green --namespace shop-data --statefulset db --replace-target-claims

step "The data is in green now" \
  sh -c 'for pv in $(kubectl --context green get pv -o jsonpath="{.items[?(@.spec.claimRef.namespace==\"shop-data\")].spec.hostPath.path}"); do echo "$pv: $(cat $pv/ledger.txt)"; done'

step "Hand the volumes back to blue (a handoff is reversible), so the rest of the demo can switch freely" \
  $T handoff --source blue --target green --namespace shop-data --statefulset db --rollback

step "Retire blue as the active cluster: park its workloads; it becomes green's standby" \
  $T deactivate --cluster blue

if [ -z "$(kubectl --context blue get nodes -l tandem.io/pool=new -o name)" ]; then
  step "Seed 001: blue gets a new node pool" $T lab nodes add --cluster blue --pool new --count 3
fi
step "Drain blue's old pool: taint and cordon every node first, ingress controllers first, PDBs respected" \
  $T drain --cluster blue --nodes tandem.io/pool=default --parallel 3 --timeout 2m

step "Which cluster is active now" \
  $T status --router "$TANDEM_LAB_ROUTER"

step "Drill: switch over to blue and back under a load probe, with a timed report" \
  $T drill --router "$TANDEM_LAB_ROUTER" --steps 0,50,100 --pause 2s \
    --gate-http "http://$TANDEM_LAB_HAPROXY/" --gate-host app.example \
    --probe "http://$TANDEM_LAB_HAPROXY/" --probe-host app.example --probe-header X-Tandem-Cluster

step "The records after the drill (epochs moved, last drill kept)" \
  $T status

step "The runbook for this pair (first lines)" \
  sh -c "$T runbook -o markdown | head -25"

step "Hand everything back to blue, so the demo can run again" \
  $T switchover --to blue --router "$TANDEM_LAB_ROUTER" --steps 100 --pause 1s
$T drain --cluster blue --nodes tandem.io/pool=default --undo >/dev/null

printf '\nThe lab keeps running: eval "$(%s lab env)" to use kubectl on it; %s lab down to stop it.\n' "$T" "$T"
