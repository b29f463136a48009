package traffic

import (
	"net/url"
	"regexp"
	"strings"
)

// urlInText finds URLs in free text (a command line).
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"]+`)

// bearer finds an HTTP credential after its scheme (Bearer xyz, Basic xyz).
var bearer = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[^\s'"]+`)

// secretParam finds key=value pairs whose key says they are secret.
var secretParam = regexp.MustCompile(`(?i)((?:password|passwd|secret|token|apikey|api_key|api-key|access_key|auth)[a-z_-]*)(=|:\s*)([^\s&'",]+)`)

// Redact hides the credentials a URL or a command line may hold — the
// password of user:password@, and the values of password=, token=, secret=
// and the like — so gate and router names can be printed, journaled and
// kept in reports.
func Redact(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, redactURL)
	s = bearer.ReplaceAllString(s, "$1 ***")
	return secretParam.ReplaceAllString(s, "$1$2***")
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}
