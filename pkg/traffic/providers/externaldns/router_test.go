package externaldns

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

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
	if _, _, err := prefixFor(nil, "ingress", "shop"); err == nil {
		t.Error("no Deployment: a prefix was guessed")
	}
	p, why := PrefixOfVersion("registry.k8s.io/external-dns/external-dns@sha256:0123")
	if _, _, err := prefixFor([]Instance{{Ref: "dns/external-dns", Prefix: p, PrefixWhy: why}}, "ingress", "shop"); err == nil {
		t.Error("a digest-pinned image: a prefix was guessed")
	}
	if got, _, err := prefixFor([]Instance{{Ref: "dns/external-dns", Prefix: GAPrefix, PrefixWhy: "--annotation-prefix"}}, "ingress", "shop"); err != nil || got != GAPrefix {
		t.Errorf("--annotation-prefix: %q %v", got, err)
	}
}

// Of several ExternalDNS instances, the prefix is that of those that read
// the object (its kind among their --source, its namespace their
// --namespace); those that read it but disagree are refused with the fix.
func TestPrefixOfTheInstancesThatReadTheObject(t *testing.T) {
	svcOnly := Instance{Ref: "a/svc-only", Prefix: AlphaPrefix, PrefixWhy: "v0.14.2", Sources: []string{"service"}}
	otherNS := Instance{Ref: "b/other-ns", Prefix: AlphaPrefix, PrefixWhy: "v0.14.2", Sources: []string{"ingress"}, Namespace: "elsewhere"}
	ga := Instance{Ref: "c/ga", Prefix: GAPrefix, PrefixWhy: "v0.23.0", Sources: []string{"service", "ingress"}}
	if got, notes, err := prefixFor([]Instance{svcOnly, otherNS, ga}, "ingress", "shop"); err != nil || got != GAPrefix || len(notes) != 1 {
		t.Errorf("ingress in shop: %q %v %v, want %s from c/ga alone", got, notes, err, GAPrefix)
	}
	if got, _, err := prefixFor([]Instance{svcOnly, otherNS, ga}, "ingress", "elsewhere"); err == nil {
		t.Errorf("ingress in elsewhere, read by b/other-ns (alpha) and c/ga (GA): %q, want an error naming both", got)
	} else if !strings.Contains(err.Error(), "b/other-ns") || !strings.Contains(err.Error(), "c/ga") || !strings.Contains(err.Error(), "prefix=") {
		t.Errorf("the disagreement is not explained: %v", err)
	}
	// None reads the object: the first one's prefix still (the preflight says none reads it).
	if got, _, err := prefixFor([]Instance{svcOnly}, "ingress", "shop"); err != nil || got != AlphaPrefix {
		t.Errorf("no instance reads ingresses: %q %v", got, err)
	}
}

// How long an instance may take to publish a change: its --interval (1m by
// default), or with --events its --min-event-sync-interval (5s by default);
// flags as arguments or as EXTERNAL_DNS_* variables, an argument winning.
// Of several instances, the longest of those that read the object.
func TestPublishInterval(t *testing.T) {
	img := "registry.k8s.io/external-dns/external-dns:v0.23.0"
	for _, tc := range []struct {
		name string
		ct   corev1.Container
		want time.Duration
	}{
		{"defaults", corev1.Container{Image: img, Args: []string{"--source=ingress"}}, time.Minute},
		{"--interval", corev1.Container{Image: img, Args: []string{"--interval=30s"}}, 30 * time.Second},
		{"--interval as two args", corev1.Container{Image: img, Args: []string{"--interval", "2m"}}, 2 * time.Minute},
		{"--events", corev1.Container{Image: img, Args: []string{"--events", "--interval=10m"}}, 5 * time.Second},
		{"--events, min interval", corev1.Container{Image: img, Args: []string{"--events", "--min-event-sync-interval=20s"}}, 20 * time.Second},
		{"env", corev1.Container{Image: img, Env: []corev1.EnvVar{{Name: "EXTERNAL_DNS_INTERVAL", Value: "45s"}}}, 45 * time.Second},
		{"argument over env", corev1.Container{Image: img, Args: []string{"--interval=15s"}, Env: []corev1.EnvVar{{Name: "EXTERNAL_DNS_INTERVAL", Value: "45s"}}}, 15 * time.Second},
		{"unparsable", corev1.Container{Image: img, Args: []string{"--interval=soon"}}, time.Minute},
	} {
		if got := parseInstance("ns/edns", tc.ct).Interval; got != tc.want {
			t.Errorf("%s: interval %s, want %s", tc.name, got, tc.want)
		}
	}
	fast := Instance{Ref: "a/fast", Sources: []string{"ingress"}, Interval: 5 * time.Second}
	slow := Instance{Ref: "b/slow", Sources: []string{"ingress"}, Interval: 2 * time.Minute}
	svc := Instance{Ref: "c/svc", Sources: []string{"service"}, Interval: 10 * time.Minute}
	if got := publishWithin([]Instance{fast, slow, svc}, "ingress", "shop"); got != 2*time.Minute {
		t.Errorf("publishWithin of the instances reading the Ingress: %s, want the slower's 2m", got)
	}
	if got := publishWithin(nil, "ingress", "shop"); got != time.Minute {
		t.Errorf("publishWithin with no instance: %s, want ExternalDNS's default 1m", got)
	}
}
