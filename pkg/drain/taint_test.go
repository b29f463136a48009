package drain

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseTaint(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    corev1.Taint
		wantErr bool
	}{
		{in: DefaultTaint, want: corev1.Taint{Key: "migration", Value: "migration", Effect: corev1.TaintEffectNoSchedule}},
		{in: "retire:NoExecute", want: corev1.Taint{Key: "retire", Effect: corev1.TaintEffectNoExecute}},
		{in: "migration=migration", wantErr: true},
		{in: "k=v:Sometimes", wantErr: true},
		{in: "=v:NoSchedule", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTaint(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTaint(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("ParseTaint(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
