package traffic

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://user:hunter2@lb.internal/healthz", "http://user:***@lb.internal/healthz"},
		{"http://lb.internal/healthz?token=abc123&x=1", "http://lb.internal/healthz?token=***&x=1"},
		{"./check.sh --password=hunter2 --url https://a:b@x/y", "./check.sh --password=*** --url https://a:***@x/y"},
		{"curl -H 'Authorization: Bearer xyz' http://x/", "curl -H 'Authorization: *** ***' http://x/"},
		{"http://plain.example/", "http://plain.example/"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Redact(tt.in); strings.Contains(got, "hunter2") || strings.Contains(got, "xyz") || strings.Contains(got, "abc123") {
			t.Errorf("%q leaks", tt.in)
		}
	}
}
