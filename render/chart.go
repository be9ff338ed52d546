package render

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// TrendPoint is one saved report's summary on the trend chart.
type TrendPoint struct {
	At         time.Time
	Summary    probe.Summary
	Incomplete bool
}

// The chart is a PNG, not inline SVG: Gmail, Outlook and most webmail
// strip <svg> from mail, while an image/png part referenced by cid: shows
// in all of them, and as a data: URI in a standalone HTML file. It has no
// text (text in a raster needs fonts); the HTML around it carries the
// dates and percentages, so it is also readable when images are blocked.
//
// Statuses differ in lightness as well as hue and fail is hatched, so the
// chart survives grayscale printing like the table's symbols do.
const (
	chartW    = 640
	chartH    = 160
	chartPad  = 4
	maxPoints = 52
)

var (
	chartBG   = color.RGBA{0xff, 0xff, 0xff, 0xff}
	chartGrid = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	barPass   = color.RGBA{0x4c, 0xaf, 0x50, 0xff} // mid
	barWarn   = color.RGBA{0xff, 0xe0, 0x82, 0xff} // light
	barUnk    = color.RGBA{0x9e, 0x9e, 0x9e, 0xff}
	barFail   = color.RGBA{0xb7, 0x1c, 0x1c, 0xff} // dark, hatched
	barFail2  = color.RGBA{0x5d, 0x0e, 0x0e, 0xff}
)

// ChartPNG draws the share of schools by status per report as stacked
// bars, oldest left. It returns nil when there are fewer than two points:
// one bar is not a trend.
func ChartPNG(pts []TrendPoint) []byte {
	if len(pts) > maxPoints {
		pts = pts[len(pts)-maxPoints:]
	}
	if len(pts) < 2 {
		return nil
	}
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	fill(img, img.Bounds(), chartBG)
	plotH := chartH - 2*chartPad
	for _, q := range []int{0, 25, 50, 75, 100} {
		y := chartPad + plotH - plotH*q/100
		fill(img, image.Rect(0, y, chartW, y+1), chartGrid)
	}
	slot := (chartW - 2*chartPad) / len(pts)
	gap := max(1, slot/5)
	for i, p := range pts {
		n := p.Summary.Schools
		if n == 0 {
			continue
		}
		x0 := chartPad + i*slot + gap/2
		x1 := x0 + slot - gap
		y := chartPad + plotH
		seg := func(count int, c color.RGBA, hatch bool) {
			h := (plotH*count + n/2) / n
			if h == 0 {
				return
			}
			r := image.Rect(x0, y-h, x1, y)
			if hatch {
				for yy := r.Min.Y; yy < r.Max.Y; yy++ {
					for xx := r.Min.X; xx < r.Max.X; xx++ {
						if (xx+yy)%6 < 2 {
							img.SetRGBA(xx, yy, barFail2)
						} else {
							img.SetRGBA(xx, yy, c)
						}
					}
				}
			} else {
				fill(img, r, c)
			}
			y -= h
		}
		seg(p.Summary.Pass, barPass, false)
		seg(p.Summary.Warn, barWarn, false)
		seg(p.Summary.Unknown, barUnk, false)
		seg(p.Summary.Fail, barFail, true)
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil // cannot happen writing to memory
	}
	return b.Bytes()
}

// ChartDataURI is ChartPNG as a data: URI for a standalone HTML file.
func ChartDataURI(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// passPercent rounds down, so 183 of 184 never shows as 100%.
func passPercent(s probe.Summary) int {
	if s.Schools == 0 {
		return 0
	}
	return s.Pass * 100 / s.Schools
}

// trendPoint words one point: "2026-11-23: 90% pass (36 of 40)".
func trendPoint(lang string, p TrendPoint) string {
	return t(lang, "render.trend.point", i18n.Args{"Date": p.At.Format("2006-01-02"), "Percent": passPercent(p.Summary), "Pass": p.Summary.Pass, "Schools": p.Summary.Schools})
}
