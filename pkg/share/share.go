package share

import (
	"sort"
	"strings"
	"unique"
)

// String is the one copy of s.
func String(s string) string { return unique.Make(s).Value() }

// Key is the canonical form of a map of strings (a set of labels): equal
// maps have equal keys. False when m holds anything but strings.
func Key(m map[string]any) (string, bool) {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(string); !ok {
			return "", false
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k].(string))
		b.WriteByte(0)
	}
	return b.String(), true
}
