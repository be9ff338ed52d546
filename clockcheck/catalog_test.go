package clockcheck

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n/i18ntest"
)

// Every id Judge can produce is in both catalogs, English word for word,
// with the same placeholders, and the English entry renders to the
// Message and Remedy.
func TestCatalog(t *testing.T) {
	i18ntest.CheckCatalog(t, "clock", messages, remedies)
	var fs []finding.Finding
	for _, rs := range [][]Result{nil, {{Server: "a", Offset: time.Second}}, {{Server: "a", Offset: -time.Hour}}, {{Server: "a", Offset: 5 * time.Hour}}, {{Server: "a", Err: errors.New("x")}}} {
		fs = append(fs, Judge(Measurement{Results: rs})...)
	}
	fs = append(fs, Judge(Measurement{Results: []Result{{Server: "a", Err: context.Canceled}}, Stopped: true})...)
	i18ntest.CheckFindings(t, "clock", fs)
}
