package cli

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestComparableNeverShowsSecretValues(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "namespace": "n", "annotations": map[string]any{
			lastApplied: `{"data":{"password":"aHVudGVyMg=="}}`,
		}},
		"data":       map[string]any{"password": "aHVudGVyMg=="},
		"stringData": map[string]any{"token": "hunter2"},
	}}
	out := comparable(secret)
	for _, leak := range []string{"aHVudGVyMg==", "hunter2"} {
		if strings.Contains(out, leak) {
			t.Errorf("comparable output shows a secret value %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "password: <redacted hmac:") || !strings.Contains(out, "token: <redacted hmac:") {
		t.Errorf("keys should stay visible with a hash:\n%s", out)
	}
	// A changed value must give a different hash, or a diff would hide the change.
	secret2 := secret.DeepCopy()
	secret2.Object["data"].(map[string]any)["password"] = "b3RoZXI="
	if comparable(secret2) == out {
		t.Error("a changed secret value does not change the redacted output")
	}
	if comparable(secret.DeepCopy()) != out {
		t.Error("the same value gives another tag within one run")
	}
	// Another run (another key) tags the same value otherwise: a tag is not
	// a hash anyone can test guesses against.
	saved := redactKey
	redactKey = []byte("another run's key")
	defer func() { redactKey = saved }()
	if comparable(secret.DeepCopy()) == out {
		t.Error("the same value is tagged alike in two runs")
	}
}

func TestComparableDropsServerFieldsAndNullTimestamps(t *testing.T) {
	cj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": "c", "uid": "u", "resourceVersion": "1", "managedFields": []any{}, "annotations": map[string]any{"tandem.io/source-hash": "h"}},
		"spec":     map[string]any{"jobTemplate": map[string]any{"metadata": map[string]any{"creationTimestamp": nil}}},
		"status":   map[string]any{"active": []any{}},
	}}
	out := comparable(cj)
	for _, gone := range []string{"uid", "resourceVersion", "managedFields", "creationTimestamp", "status", "source-hash"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q still in:\n%s", gone, out)
		}
	}
}
