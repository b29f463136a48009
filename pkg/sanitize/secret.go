package sanitize

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeSecret skips Secrets whose contents are credentials for the source
// cluster itself: they would not authenticate against the target.
//
// A service-account token Secret someone created (a CI system's, an
// external consumer's long-lived token) is copied without its token: the
// target's token controller fills it in for its own ServiceAccount of that
// name, as it did in the source. Its UID annotation goes too: naming the
// source's ServiceAccount, it would have the target's controller delete
// the Secret. Tokens the source's controller made by itself for every
// ServiceAccount (`<account>-token-xxxxx`, before v1.24) are not copied:
// the target makes none, and pods mount projected tokens.
func sanitizeSecret(obj *unstructured.Unstructured, _ Context) Decision {
	switch t, _ := obj.Object["type"].(string); t {
	case string(corev1.SecretTypeServiceAccountToken):
		sa := obj.GetAnnotations()[corev1.ServiceAccountNameKey]
		switch {
		case sa == "":
			return skip("service-account token naming no ServiceAccount")
		case legacyToken(obj.GetName(), sa):
			return skip("service-account token the source's controller made: the target issues its own")
		}
		delete(obj.Object, "data")
		delete(obj.Object, "stringData")
		ann := obj.GetAnnotations()
		delete(ann, corev1.ServiceAccountUIDKey)
		obj.SetAnnotations(ann)
		// What the source's apiserver and controllers record of the
		// token's use; the target's record their own.
		if labels := obj.GetLabels(); labels != nil {
			delete(labels, "kubernetes.io/legacy-token-last-used")
			delete(labels, "kubernetes.io/legacy-token-invalid-since")
			obj.SetLabels(labels)
		}
		return Decision{Notes: []string{fmt.Sprintf("token not copied: the target's token controller issues one for its ServiceAccount %s", sa)}}
	case "bootstrap.kubernetes.io/token":
		return skip("bootstrap token: it joins nodes to the source cluster")
	}
	return Decision{}
}

// legacyToken says whether name is a token Secret the controller made by
// itself for ServiceAccount sa (before v1.24): "<sa>-token-", cut to 58
// characters as the apiserver cuts a generateName, then 5 random ones.
func legacyToken(name, sa string) bool {
	prefix := sa + "-token-"
	if len(prefix) > 58 {
		prefix = prefix[:58]
	}
	return strings.HasPrefix(name, prefix) && legacyRandom.MatchString(name[len(prefix):])
}

// legacyRandom is the random end of a generated name.
var legacyRandom = regexp.MustCompile(`^[a-z0-9]{5}$`)
