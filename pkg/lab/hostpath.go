package lab

// The volumes kube-controller-manager's hostPath provisioner made for the
// lab's claims live outside the lab's directory, in hostPathRoot (a path
// the provisioner hard-codes). lab down removes the lab's own: the
// directories its clusters' PersistentVolumes name, nothing else there.

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostPathRoot is where the hostPath provisioner makes each volume's
// directory (/tmp/hostpath_pv/<uuid>).
const hostPathRoot = "/tmp/hostpath_pv"

// hostPathDirs lists the provisioner's directories the lab's clusters'
// PersistentVolumes name. A cluster that does not answer (a half-made or
// half-stopped lab) is skipped: its directories stay.
func (l *Lab) hostPathDirs(ctx context.Context) []string {
	st, err := l.Load()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, c := range st.Clusters {
		cs, err := l.clientset(c)
		if err != nil {
			continue
		}
		pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, pv := range pvs.Items {
			if hp := pv.Spec.HostPath; hp != nil {
				if d, ok := provisionedDir(hp.Path); ok {
					dirs = append(dirs, d)
				}
			}
		}
	}
	return dirs
}

// provisionedDir says whether path is one of the provisioner's volume
// directories (a direct child of hostPathRoot) and gives it cleaned.
func provisionedDir(path string) (string, bool) {
	p := filepath.Clean(path)
	return p, filepath.Dir(p) == hostPathRoot && !strings.HasPrefix(filepath.Base(p), ".")
}

// removeDirs removes dirs; one that cannot be removed is left.
func removeDirs(dirs []string) {
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}
