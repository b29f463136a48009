package plan

// An app in a namespace of its own is often granted something in a system
// namespace: cert-manager's leader election is a Role and RoleBinding in
// kube-system, an extension apiserver (prometheus-adapter, KEDA's metrics
// server) is bound to kube-system's extension-apiserver-authentication-
// reader. Those bindings are the app's, not the cluster's: they come along
// with it, though the system namespaces are otherwise left out. Built-in
// roles they bind are skipped by pkg/sanitize (the target has its own).

// AppGrant says whether obj is a RoleBinding in a system namespace whose
// every subject is a ServiceAccount outside the system namespaces: an
// app's grant there.
func AppGrant(obj Object) bool {
	k := KeyOf(obj)
	if k.Group != rbacGroup || k.Kind != "RoleBinding" || !SystemNamespace(k.Namespace) {
		return false
	}
	subjects := list(fields(obj), "subjects")
	for _, sub := range subjects {
		// A subject without a namespace is in the binding's: a system one.
		if str(sub, "kind") != "ServiceAccount" || str(sub, "namespace") == "" || SystemNamespace(str(sub, "namespace")) {
			return false
		}
	}
	return len(subjects) > 0
}

// SystemRole says whether k is a Role of a system namespace.
func SystemRole(k ObjectKey) bool {
	return k.Group == rbacGroup && k.Kind == "Role" && SystemNamespace(k.Namespace)
}

// grantedRole says whether the object of key k is the Role an app's grant
// (AppGrant) of key by binds: a Role of the grant's own system namespace,
// which comes along with the grant.
func grantedRole(by, k ObjectKey) bool {
	return SystemRole(k) && by.Group == rbacGroup && by.Kind == "RoleBinding" && k.Namespace == by.Namespace
}

// GrantedRoles are the Roles of system namespaces that the apps' grants
// among objs bind, with why: what a copy that asks Allowed of each object
// (a selection that narrows nothing) copies beside the grants.
func GrantedRoles[O Object](objs []O, s Selector) map[ObjectKey]string {
	out := map[ObjectKey]string{}
	if s.IncludeSystem {
		return out // Allowed takes every Role of the system namespaces
	}
	for _, o := range objs {
		if !AppGrant(o) || !s.Allowed(o) {
			continue
		}
		if rk, ok := roleRef(o); ok && rk.Kind == "Role" && s.kindAllowed(rk) {
			out[rk] = rk.Kind + " referenced by " + Describe(KeyOf(o))
		}
	}
	return out
}
