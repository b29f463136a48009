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
		"registry.k8s.io/external-dns/external-dns:latest":  AlphaPrefix,
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
	for _, raw := range []string{"externaldns://pod/shop/web", "externaldns://ingress/shop", "externaldns://ingress/shop/web?prefix=nope", "externaldns://ingress/a/b?what=1"} {
		if _, err := ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}
