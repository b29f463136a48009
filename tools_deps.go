//go:build tools

package tandem

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "k8s.io/cli-runtime/pkg/genericclioptions"
	_ "k8s.io/kubectl/pkg/drain"
	_ "sigs.k8s.io/yaml"
)
