package storage

import "strings"

// WithoutQuery drops a URL's query (driver options, perhaps credentials)
// for messages.
func WithoutQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 && IsURL(s) {
		return s[:i]
	}
	return s
}
