package standby

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The apiserver's words for a refusal (k8s.io/apiserver: webhook
// errors.ToStatusErr, the validating policy dispatcher, the webhook
// dispatchers' call failures): only a webhook's refusal names a webhook.
func TestRefusingWebhookIsReadFromTheApiserversWords(t *testing.T) {
	deployments := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, c := range []struct {
		err  error
		want string
	}{
		{apierrors.NewForbidden(deployments, "web", errors.New(`admission webhook "validation.gatekeeper.sh" denied the request: [allowed-repos] container <p> has an invalid image repo <probe>`)), "validation.gatekeeper.sh"},
		{apierrors.NewBadRequest(`admission webhook "validate.kyverno.svc-fail" denied the request without explanation`), "validate.kyverno.svc-fail"},
		{apierrors.NewForbidden(deployments, "web", errors.New(`ValidatingAdmissionPolicy 'tandem-standby-deployments' with binding 'tandem-standby-deployments' denied request: `+Message)), ""},
		{apierrors.NewInternalError(errors.New(`failed calling webhook "validation.gatekeeper.sh": context deadline exceeded`)), ""},
		{apierrors.NewForbidden(deployments, "web", errors.New(`User "ops" cannot create resource "deployments"`)), ""},
		{apierrors.NewBadRequest(`admission webhook "legacy.example.com" does not support dry run`), "legacy.example.com"},
		{errors.New(`admission webhook "unterminated denied the request`), ""},
	} {
		if got := refusingWebhook(c.err); got != c.want {
			t.Errorf("refusingWebhook(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}
