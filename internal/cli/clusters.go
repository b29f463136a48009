package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
)

type clusterInfo struct {
	Side       string `json:"side"`
	Context    string `json:"context"`
	Server     string `json:"server"`
	Version    string `json:"version"`
	Reachable  bool   `json:"reachable"`
	Nodes      int    `json:"nodes"`
	Namespaces int    `json:"namespaces"`
	Identity   string `json:"identity"`
}

func newClustersCmd(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "clusters",
		Short: "Show the source and target clusters: server, version, nodes, namespaces",
		Long: `Connects to the source and target contexts and prints, for each: context,
API server, Kubernetes version, reachability, node and namespace counts, and
the cluster identity (the kube-system namespace UID). Refuses a source and
target that are the same cluster.`,
		Example: "  tandem clusters --source blue --target green -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, dst, err := g.connectPair(ctx)
			if err != nil {
				return err
			}
			var infos []clusterInfo
			for _, side := range []struct {
				name string
				c    *cluster.Conn
			}{{"source", src}, {"target", dst}} {
				info, err := describeCluster(ctx, side.name, side.c)
				if err != nil {
					return err
				}
				infos = append(infos, info)
			}
			return g.printObject(infos, func(w io.Writer) {
				tw := newTable(w, "SIDE", "CONTEXT", "SERVER", "VERSION", "REACHABLE", "NODES", "NAMESPACES", "IDENTITY")
				for _, i := range infos {
					row(tw, i.Side, i.Context, i.Server, i.Version, i.Reachable, i.Nodes, i.Namespaces, i.Identity)
				}
				tw.Flush()
			})
		},
	}
}

func describeCluster(ctx context.Context, side string, c *cluster.Conn) (clusterInfo, error) {
	info := clusterInfo{Side: side, Context: c.Context, Server: c.Server}
	v, err := c.Check(ctx)
	if err != nil {
		return info, err
	}
	info.Version, info.Reachable = v.GitVersion, true
	if info.Identity, err = c.Identity(ctx); err != nil {
		return info, err
	}
	nodes, err := c.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return info, err
	}
	nss, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return info, err
	}
	info.Nodes, info.Namespaces = len(nodes.Items), len(nss.Items)
	return info, nil
}
