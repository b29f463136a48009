package standby

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Message is what the validating policy answers when it refuses a write.
const Message = "cluster is standby (tandem): workloads stay at 0; run tandem activate"

// Policy kinds: which admission policy a cluster gets.
const (
	Mutating   = "MutatingAdmissionPolicy"
	Validating = "ValidatingAdmissionPolicy"
)

// policyNames are the two policies (and their bindings, of the same name)
// tandem installs: one for replicas, one for CronJobs, so that each CEL
// expression is type-checked against one kind's schema.
const (
	workloadsPolicy = "tandem-standby-workloads"
	cronJobsPolicy  = "tandem-standby-cronjobs"
	jobsPolicy      = "tandem-standby-jobs"
	scalePolicy     = "tandem-standby-scale"
	podsPolicy      = "tandem-standby-pods"
	daemonsPolicy   = "tandem-standby-daemonsets"
	daemonsMutation = "tandem-standby-park-daemonsets"
)

// PolicyNames lists the names of tandem's policies and bindings.
func PolicyNames() []string {
	return []string{workloadsPolicy, cronJobsPolicy, jobsPolicy, scalePolicy, podsPolicy, daemonsPolicy, daemonsMutation}
}

// systemNamespaces are never covered, even if someone labels them: the
// cluster's own and tandem's.
var systemNamespaces = func() []any {
	var out []any
	for _, ns := range append(slices.Clone(plan.SystemNamespaces), sanitize.StateNamespace) {
		out = append(out, ns)
	}
	return out
}()

// Policy returns the admission policies and bindings that keep workloads at
// 0 while a cluster is standby. kind is Mutating or Validating; apiVersion is
// the admissionregistration.k8s.io version to write them with; kinds are the
// custom workload kinds held like Deployments (DiscoverScaleKinds).
//
// With a MutatingAdmissionPolicy a write is put in standby form (a pipeline
// that applies replicas: 3 or a DaemonSet with its own nodeSelector goes on
// working, parked); with a ValidatingAdmissionPolicy it is refused.
//
// Bindings match every namespace — those created later too — except the
// system namespaces, tandem's own, and namespaces or objects labelled
// ExemptLabel=true (whose workloads then run in the standby: a risk the one
// who labels them takes). With onlyLabelled they match only the namespaces
// labelled NamespaceLabel=true: a deactivate that names its namespaces
// leaves the others active.
func Policy(kind, apiVersion string, kinds ScaleKinds, onlyLabelled bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	workloads := rules(map[string][]any{"apps": {"deployments", "statefulsets", "replicasets"}}, kinds, "")
	for _, p := range []struct {
		name      string
		rules     []any
		condition string // when the object needs standby treatment
		mutate    string // ApplyConfiguration (mutating)
		jsonPatch string // JSONPatch after it (mutating), "" for none
		valid     string // what must hold (validating)
	}{
		{
			name: workloadsPolicy, rules: workloads,
			condition: "!has(object.spec.replicas) || object.spec.replicas > 0",
			mutate: `Object{metadata: Object.metadata{annotations: {"` + ReplicasAnnotation + `": string(has(object.spec.replicas) ? object.spec.replicas : 1)}}, ` +
				`spec: Object.spec{replicas: 0}}`,
			// An update that does not raise replicas passes: the Deployment
			// controller copies a parked Deployment's annotations to its
			// ReplicaSet before it scales it down, and that first write, with
			// the ReplicaSet still at its count, must not be refused.
			valid: "has(object.spec.replicas) && (object.spec.replicas == 0 || " +
				"(oldObject != null && has(oldObject.spec.replicas) && object.spec.replicas <= oldObject.spec.replicas))",
		},
		{
			name: cronJobsPolicy, rules: rules(map[string][]any{"batch": {"cronjobs"}}, nil, ""),
			condition: "!has(object.spec.suspend) || object.spec.suspend != true",
			mutate:    `Object{metadata: Object.metadata{annotations: {"` + SuspendAnnotation + `": "false"}}, spec: Object.spec{suspend: true}}`,
			valid:     "has(object.spec.suspend) && object.spec.suspend == true",
		},
		{
			// A Job (a Helm or Argo migration hook against a shared database)
			// is created suspended; activate lets it run.
			name: jobsPolicy, rules: rules(map[string][]any{"batch": {"jobs"}}, nil, ""),
			condition: "!has(object.spec.suspend) || object.spec.suspend != true",
			mutate:    `Object{metadata: Object.metadata{annotations: {"` + SuspendAnnotation + `": "false"}}, spec: Object.spec{suspend: true}}`,
			valid:     "has(object.spec.suspend) && object.spec.suspend == true",
		},
		{
			// A DaemonSet applied again with its own nodeSelector is parked
			// again, its selector recorded as JSON (label keys and values hold
			// no quotes, so CEL can write it). Mutating only: the validating
			// guard of ScalePolicy refuses it elsewhere.
			name: daemonsMutation, rules: rules(map[string][]any{"apps": {"daemonsets"}}, nil, ""),
			condition: `!has(object.spec.template.spec.nodeSelector) || !("` + ParkedKey + `" in object.spec.template.spec.nodeSelector) || ` +
				`object.spec.template.spec.nodeSelector["` + ParkedKey + `"] != "` + ParkedValue + `"`,
			mutate: `Object{metadata: Object.metadata{annotations: {"` + NodeSelectorAnnotation + `": ` +
				`has(object.spec.template.spec.nodeSelector) ? "{" + object.spec.template.spec.nodeSelector.map(k, "\"" + k + "\":\"" + object.spec.template.spec.nodeSelector[k] + "\"").join(",") + "}" : "null"}}}`,
			jsonPatch: `[JSONPatch{op: "add", path: "/spec/template/spec/nodeSelector", value: {"` + ParkedKey + `": "` + ParkedValue + `"}}]`,
		},
	} {
		if kind != Mutating && p.valid == "" {
			continue // mutating only
		}
		spec := map[string]any{
			"failurePolicy":    "Fail",
			"matchConstraints": map[string]any{"resourceRules": p.rules},
		}
		if kind == Mutating {
			spec["matchConditions"] = []any{map[string]any{"name": "not-at-standby-yet", "expression": p.condition}}
			spec["reinvocationPolicy"] = "IfNeeded"
			mutations := []any{map[string]any{
				"patchType":          "ApplyConfiguration",
				"applyConfiguration": map[string]any{"expression": p.mutate},
			}}
			if p.jsonPatch != "" {
				mutations = append(mutations, map[string]any{"patchType": "JSONPatch", "jsonPatch": map[string]any{"expression": p.jsonPatch}})
			}
			spec["mutations"] = mutations
		} else {
			spec["validations"] = []any{map[string]any{"expression": p.valid, "message": Message, "reason": "Forbidden"}}
		}
		out = append(out, object(apiVersion, kind, p.name, spec))
		binding := bindingSpec(p.name, onlyLabelled)
		if kind == Validating {
			binding["validationActions"] = []any{"Deny"}
		}
		out = append(out, object(apiVersion, kind+"Binding", p.name, binding))
	}
	return out
}

func object(apiVersion, kind, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/" + apiVersion,
		"kind":       kind,
		"metadata": map[string]any{"name": name, "labels": map[string]any{
			"app.kubernetes.io/managed-by": "tandem",
		}},
		"spec": spec,
	}}
}

// bindingSpec binds a policy to every namespace but the system ones,
// tandem's own and exempt ones; with onlyLabelled, to those of them labelled
// NamespaceLabel=true.
func bindingSpec(policy string, onlyLabelled bool) map[string]any {
	exprs := []any{
		map[string]any{"key": ExemptLabel, "operator": "NotIn", "values": []any{"true"}},
		map[string]any{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": systemNamespaces},
	}
	if onlyLabelled {
		exprs = append(exprs, map[string]any{"key": NamespaceLabel, "operator": "In", "values": []any{"true"}})
	}
	return map[string]any{
		"policyName": policy,
		"matchResources": map[string]any{
			"namespaceSelector": map[string]any{"matchExpressions": exprs},
			"objectSelector": map[string]any{"matchExpressions": []any{
				map[string]any{"key": ExemptLabel, "operator": "NotIn", "values": []any{"true"}},
			}},
		},
	}
}

// ScalePolicy refuses scaling up through the /scale subresource (kubectl
// scale, an HPA) while the cluster is standby. It is a ValidatingAdmissionPolicy
// whatever kind guards the objects: a Scale carries no annotations to keep the
// asked-for count in, so refusing is the honest answer. apiVersion is the
// ValidatingAdmissionPolicy version the cluster serves.
func ScalePolicy(apiVersion string, kinds ScaleKinds, onlyLabelled bool) []*unstructured.Unstructured {
	spec := map[string]any{
		"failurePolicy":    "Fail",
		"matchConstraints": map[string]any{"resourceRules": rules(map[string][]any{"apps": {"deployments/scale", "statefulsets/scale", "replicasets/scale"}}, kinds, "/scale")},
		"validations":      []any{map[string]any{"expression": "object.spec.replicas == 0", "message": Message, "reason": "Forbidden"}},
	}
	out := validating(apiVersion, scalePolicy, onlyLabelled, spec)
	// A Pod with no controller to park would run: refused.
	out = append(out, validating(apiVersion, podsPolicy, onlyLabelled, map[string]any{
		"failurePolicy": "Fail",
		"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
			"apiGroups": []any{""}, "apiVersions": []any{"*"}, "operations": []any{"CREATE"}, "resources": []any{"pods"},
		}}},
		"validations": []any{map[string]any{"expression": "has(object.metadata.ownerReferences) && size(object.metadata.ownerReferences) > 0",
			"message": Message + " (a Pod without a controller would run; label its namespace " + ExemptLabel + "=true to allow it)", "reason": "Forbidden"}},
	})...)
	// A DaemonSet applied again without its parking nodeSelector would run on every node: refused.
	out = append(out, validating(apiVersion, daemonsPolicy, onlyLabelled, map[string]any{
		"failurePolicy": "Fail",
		"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
			"apiGroups": []any{"apps"}, "apiVersions": []any{"*"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"daemonsets"},
		}}},
		"validations": []any{map[string]any{
			"expression": `has(object.spec.template.spec.nodeSelector) && "` + ParkedKey + `" in object.spec.template.spec.nodeSelector && object.spec.template.spec.nodeSelector["` + ParkedKey + `"] == "` + ParkedValue + `"`,
			"message":    Message + " (a DaemonSet stays parked: nodeSelector " + ParkedKey + "=" + ParkedValue + ")", "reason": "Forbidden"}},
	})...)
	return out
}

// rules are a policy's resourceRules for CREATE and UPDATE (UPDATE alone for
// subresources): the given resources by group, plus kinds' resources (each
// with suffix, "" or "/scale").
func rules(byGroup map[string][]any, kinds ScaleKinds, suffix string) []any {
	byGroup = maps.Clone(byGroup)
	for _, gvr := range kinds.resources() {
		byGroup[gvr.Group] = append(byGroup[gvr.Group], gvr.Resource+suffix)
	}
	ops := []any{"CREATE", "UPDATE"}
	if suffix != "" {
		ops = []any{"UPDATE"}
	}
	var out []any
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		out = append(out, map[string]any{"apiGroups": []any{g}, "apiVersions": []any{"*"}, "operations": ops, "resources": byGroup[g]})
	}
	return out
}

// validating is a ValidatingAdmissionPolicy and its Deny binding.
func validating(apiVersion, name string, onlyLabelled bool, spec map[string]any) []*unstructured.Unstructured {
	binding := bindingSpec(name, onlyLabelled)
	binding["validationActions"] = []any{"Deny"}
	return []*unstructured.Unstructured{object(apiVersion, Validating, name, spec), object(apiVersion, Validating+"Binding", name, binding)}
}
