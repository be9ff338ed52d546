package render_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// cityReport is the golden report's schools repeated to n, each with its
// own id: a city-sized report with every kind of finding the goldens have.
func cityReport(b *testing.B, n int) *probe.Report {
	b.Helper()
	r, err := probe.ReadFile("testdata/report.json")
	if err != nil {
		b.Fatal(err)
	}
	if len(r.Schools) == 0 {
		b.Fatal("testdata/report.json has no schools")
	}
	proto := r.Schools
	r.Schools = make([]probe.School, 0, n)
	for i := range n {
		s := proto[i%len(proto)]
		s.ID = fmt.Sprintf("%s-%04d", s.ID, i)
		r.Schools = append(r.Schools, s)
	}
	r.Finish()
	return r
}

// BenchmarkRender1000 renders a 1,000-school report in the formats cron
// and the exporter write most: the table and JSON.
func BenchmarkRender1000(b *testing.B) {
	r := cityReport(b, 1000)
	for _, format := range []string{"table", "json"} {
		b.Run(format, func(b *testing.B) {
			var n countWriter
			if err := render.Write(&n, r, render.Options{Format: format}); err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				b.Fatalf("%s: nothing written", format)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := render.Write(io.Discard, r, render.Options{Format: format}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
