package probe

import (
	"maps"

	"github.com/kh-edu/kmsprobe/i18n"
)

// english is the English text of a message id the probe writes itself
// (i18n/locales/probe.en.toml): the catalog is its one source, so the
// message a finding carries is always the one its id translates.
func english(id string, args map[string]string) string {
	return i18n.T(i18n.English, id, args)
}

// withArgs is args plus more, never writing into a map another finding
// may share.
func withArgs(args map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(args)+len(kv)/2)
	maps.Copy(out, args)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
