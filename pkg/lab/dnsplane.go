package lab

// The lab's DNS plane, beside the AWS endpoint and the DNS server: each
// cluster's lab ingress serves on an address of its own and publishes it in
// its Ingresses' status, and a real ExternalDNS per cluster publishes the
// records of its Ingresses and Services to the endpoint's Route53.

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandem-io/tandem/pkg/lab/externaldns"
)

// externalDNSProcess is the name each cluster's ExternalDNS is recorded under.
const externalDNSProcess = "external-dns"

// clusterAddresses are the loopback addresses the clusters' lab ingresses
// serve on for traffic that followed the lab's DNS, in cluster order.
var clusterAddresses = []string{"127.0.10.1", "127.0.10.2"}

// planDNS gives each cluster its address and ports, once.
func (l *Lab) planDNS(st *State) error {
	need := 0
	if st.AppPort == 0 {
		need++
	}
	for _, c := range st.Clusters {
		if c.ExternalDNSPort == 0 {
			need++
		}
	}
	if need == 0 {
		return nil
	}
	ports, err := freePorts(need)
	if err != nil {
		return err
	}
	if st.AppPort == 0 {
		st.AppPort, ports = ports[0], ports[1:]
	}
	for i := range st.Clusters {
		st.Clusters[i].Address = clusterAddresses[i%len(clusterAddresses)]
		if st.Clusters[i].ExternalDNSPort == 0 {
			st.Clusters[i].ExternalDNSPort, ports = ports[0], ports[1:]
		}
	}
	return l.save(st)
}

// ExternalDNS builds (or finds cached) the lab's ExternalDNS from the
// wrapper module in pkg/lab/externaldns, with the Go toolchain its go.mod
// asks for (in this build's environment only).
func (b *Builder) ExternalDNS(ctx context.Context) (string, error) {
	out := filepath.Join(b.CacheDir, "bin", "external-dns-"+externaldns.Version)
	bin := filepath.Join(out, "external-dns")
	if len(missingBinaries(out, []string{"external-dns"})) == 0 {
		return bin, nil
	}
	src := filepath.Join(b.CacheDir, "src", "external-dns-"+externaldns.Version)
	err := fs.WalkDir(externaldns.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := externaldns.Files.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(src, strings.TrimSuffix(path, ".txt"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("external-dns wrapper: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp"
	env := []string{"GOTOOLCHAIN=" + externaldns.Toolchain, "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}
	if err := b.run(ctx, src, "building ExternalDNS "+externaldns.Version+" (AWS provider only, "+externaldns.Toolchain+")", env,
		"go", "build", "-p", "2", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "."); err != nil {
		return "", err
	}
	return bin, os.Rename(tmp, bin)
}

// startExternalDNS runs one ExternalDNS per cluster against the endpoint's
// Route53: both sources, the TXT registry with the cluster's name as owner,
// policy sync, the lab zone only, a short interval and event-driven runs.
func (l *Lab) startExternalDNS(ctx context.Context, st *State, b *Builder) error {
	bin, err := b.ExternalDNS(ctx)
	if err != nil {
		return err
	}
	for _, c := range st.Clusters {
		p := Process{Cluster: c.Name, Name: externalDNSProcess, Binary: bin, Port: c.ExternalDNSPort,
			Args: []string{"--provider=aws", "--source=ingress", "--source=service",
				"--kubeconfig=" + filepath.Join(c.dir(l.Dir), "admin.kubeconfig"),
				"--policy=sync", "--registry=txt", "--txt-owner-id=" + c.Name, "--domain-filter=" + LabZone,
				"--interval=5s", "--events", "--min-event-sync-interval=1s", "--aws-zone-type=public",
				fmt.Sprintf("--metrics-address=127.0.0.1:%d", c.ExternalDNSPort)},
			// ExternalDNS has no endpoint flag: the AWS SDK's own variable
			// points its Route53 client at the lab's endpoint, with
			// credentials the endpoint accepts (it checks none).
			Env: []string{"AWS_ENDPOINT_URL_ROUTE_53=" + st.AWSEndpoint(), "AWS_REGION=us-east-1",
				"AWS_ACCESS_KEY_ID=lab", "AWS_SECRET_ACCESS_KEY=lab", "AWS_EC2_METADATA_DISABLED=true"},
			Log: filepath.Join(l.Dir, "logs", c.Name+"-external-dns.log")}
		port := c.ExternalDNSPort
		if err := l.ensure(ctx, l.runningSet(), p, func(ctx context.Context) error {
			return poll(ctx, 200*time.Millisecond, func() error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), nil)
				resp, err := insecureClient.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("external-dns health: %d", resp.StatusCode)
				}
				return nil
			})
		}); err != nil {
			return err
		}
	}
	return nil
}
