package externaldns

import (
	"errors"
	"testing"

	"github.com/tandem-io/tandem/pkg/traffic"
)

func TestPrefixOfVersion(t *testing.T) {
	for image, want := range map[string]string{
		"registry.k8s.io/external-dns/external-dns:v0.14.2": AlphaPrefix,
		"registry.k8s.io/external-dns/external-dns:v0.21.0": AlphaPrefix,
		"registry.k8s.io/external-dns/external-dns:v0.22.0": GAPrefix,
		"bitnami/external-dns:0.23.1-debian-12-r0":          GAPrefix,
		// no version to read: not guessed
		"registry.k8s.io/external-dns/external-dns:latest":                                                                          "",
		"registry.k8s.io/external-dns/external-dns@sha256:4f6a0e2fbc5e2d1a3e6c1f3c2f0b8d9b1a2c3d4e5f60718293a4b5c6d7e8f901":         "",
		"registry.k8s.io/external-dns/external-dns:v0.23.0@sha256:4f6a0e2fbc5e2d1a3e6c1f3c2f0b8d9b1a2c3d4e5f60718293a4b5c6d7e8f901": "",
	} {
		if got, why := PrefixOfVersion(image); got != want || why == "" {
			t.Errorf("PrefixOfVersion(%s) = %s (%s), want %s", image, got, why, want)
		}
	}
}

func TestParseURL(t *testing.T) {
	c, err := ParseURL("externaldns://ingress/shop/web?clusters=blue,green&setid.green=green-eu")
	if err != nil || c.Kind != "ingress" || c.Namespace != "shop" || c.Name != "web" || len(c.Clusters) != 2 || c.SetIDs["green"] != "green-eu" {
		t.Fatalf("ParseURL = %+v, %v", c, err)
	}
	for _, raw := range []string{"externaldns://pod/shop/web", "externaldns://ingress/shop", "externaldns://ingress/shop/web?prefix=nope", "externaldns://ingress/a/b?what=1",
		"externaldns://ingress/a/b?verify=route53://", "externaldns://ingress/a/b?verify=Z1"} {
		if _, err := ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}

// A Deployment that does not say its version (digest, no tag version), or no
// Deployment at all, is refused with the fix: prefix=.
func TestPrefixNotGuessed(t *testing.T) {
	if _, _, err := prefixFor(nil); err == nil {
		t.Error("no Deployment: a prefix was guessed")
	}
	p, why := PrefixOfVersion("registry.k8s.io/external-dns/external-dns@sha256:0123")
	if _, _, err := prefixFor([]Instance{{Ref: "dns/external-dns", Prefix: p, PrefixWhy: why}}); err == nil {
		t.Error("a digest-pinned image: a prefix was guessed")
	}
	if got, _, err := prefixFor([]Instance{{Ref: "dns/external-dns", Prefix: GAPrefix, PrefixWhy: "--annotation-prefix"}}); err != nil || got != GAPrefix {
		t.Errorf("--annotation-prefix: %q %v", got, err)
	}
}
