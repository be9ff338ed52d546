package delegation_test

import (
	"testing"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/i18n/i18ntest"
)

// Every message id is in both locale files, English word for word, the
// Chinese text with the same placeholders, and no file has an unused id.
func TestCatalogsMatchMessages(t *testing.T) {
	i18ntest.CheckCatalog(t, "delegation", delegation.Messages)
}
