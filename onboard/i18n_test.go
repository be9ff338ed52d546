package onboard_test

import (
	"testing"

	"github.com/kh-edu/kmsprobe/i18n/i18ntest"
	"github.com/kh-edu/kmsprobe/onboard"
)

// Every reason is in both locale files, English word for word, the Chinese
// text with the same placeholders, and no file has an unused id.
func TestCatalogsMatchReasons(t *testing.T) {
	i18ntest.CheckCatalog(t, "init", onboard.Reasons)
}
