package city

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/kh-edu/kmsprobe/exporter"
)

const (
	metricSchoolStatus  = exporter.SchoolStatus
	metricFindingStatus = exporter.FindingStatus
	metricSchoolInfo    = exporter.SchoolInfo
	metricServerInfo    = exporter.DNSServerInfo
	metricLastSuccess   = exporter.AuditLastSuccess
	metricInterval      = exporter.BackgroundInterval
	metricSkipped       = exporter.FindingSkipped
	metricInfraStatus   = exporter.InfraStatus
	metricInfraAffects  = exporter.InfraAffects
)

// DefaultSettle is how far behind now the city view reads by default.
// Prometheus stamps a scrape's samples, and a failed scrape's staleness
// markers, with the scrape's start but writes them when it ends, up to
// scrape_timeout later (30 s in scripts/prometheus/prometheus.yml). Read
// at "now", a series can vanish between two queries of one snapshot;
// read at now minus the scrape timeout, every query sees the same,
// finished data.
const DefaultSettle = 30 * time.Second

// FetchOptions say where and how to ask.
type FetchOptions struct {
	// Prometheus is the server's base URL, e.g. http://prometheus:9090.
	Prometheus string
	// Selector is extra label matchers for every query, e.g.
	// job="kmsprobe", to keep test or staging probes out.
	Selector string
	// Lookback is how far back the last values of a probe that stopped
	// reporting are found (default 7 days: a campus box off over a long
	// weekend still shows up, marked stale).
	Lookback time.Duration
	// Timeout bounds every query (default 30 s).
	Timeout time.Duration
	// At is the evaluation time of every query: one snapshot (default
	// now minus Settle).
	At time.Time
	// Settle is how far behind now to read when At is not given
	// (default DefaultSettle; negative means now).
	Settle time.Duration
}

// Fetch reads the kmsprobe series from Prometheus.
func Fetch(ctx context.Context, o FetchOptions) (Data, error) {
	if o.Lookback <= 0 {
		o.Lookback = 7 * 24 * time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.At.IsZero() {
		// Every query below carries this one time (time=), so a probe's
		// staleness markers landing between two queries cannot make one
		// query see a probe the next one has lost.
		o.At = time.Now().Add(-max(o.Settle, 0))
	}
	u, err := url.Parse(o.Prometheus)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Data{}, fmt.Errorf("--prometheus %q is not a URL like http://prometheus.example.edu.tw:9090", o.Prometheus)
	}
	c, err := api.NewClient(api.Config{Address: o.Prometheus, Client: &http.Client{Timeout: o.Timeout}})
	if err != nil {
		return Data{}, fmt.Errorf("--prometheus %q: %w", o.Prometheus, err)
	}
	a := v1.NewAPI(c)
	sel := strings.TrimSpace(o.Selector)
	lb := model.Duration(o.Lookback).String()
	d := Data{At: o.At, Current: map[string][]Sample{}, Last: map[string][]Sample{}, Prometheus: o.Prometheus, LookbackTxt: lb}

	query := func(q string) ([]Sample, error) {
		qctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		v, _, _, err := a.Query(qctx, q, o.At, v1.WithTimeout(o.Timeout))
		if err != nil {
			return nil, explain(o.Prometheus, q, err)
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("Prometheus at %s answered %q with a %s, not an instant vector", o.Prometheus, q, v.Type())
		}
		out := make([]Sample, 0, len(vec))
		for _, s := range vec {
			l := make(map[string]string, len(s.Metric))
			for k, v := range s.Metric {
				l[string(k)] = string(v)
			}
			out = append(out, Sample{Labels: l, Value: float64(s.Value)})
		}
		return out, nil
	}
	perSchool := []string{metricSchoolStatus, metricFindingStatus, metricSkipped, metricSchoolInfo, metricServerInfo, metricInfraStatus, metricInfraAffects}
	for _, m := range perSchool {
		if d.Current[m], err = query(m + "{" + sel + "}"); err != nil {
			return d, err
		}
	}
	for _, m := range append(perSchool, metricLastSuccess, metricInterval) {
		if d.Last[m], err = query("last_over_time(" + m + "{" + sel + "}[" + lb + "])"); err != nil {
			return d, err
		}
	}
	if d.Up, err = query("up{" + sel + "}"); err != nil {
		return d, err
	}
	if len(d.Last[metricSchoolStatus]) == 0 {
		return d, fmt.Errorf("Prometheus at %s holds no %s series in the %s before %s: is it scraping kmsprobe serve (see scripts/prometheus/prometheus.yml in the kmsprobe sources), and does --selector {%s} match its job? Right after Prometheus or the probes start, the first scrapes are younger than --settle: wait that long or lower --settle", o.Prometheus, metricSchoolStatus, lb, o.At.Format(time.RFC3339), sel)
	}
	return d, nil
}

// explain turns an API error into advice.
func explain(base, q string, err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) && ae.Type == v1.ErrBadData {
		return fmt.Errorf("Prometheus at %s refused the query %s: %s (check --selector)", base, q, ae.Msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("Prometheus at %s did not answer %s in time: %w", base, q, err)
	}
	// The HTTP method and URL of the API call are noise to an admin: the
	// network error itself says what went wrong.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot query Prometheus at %s: %v (is the URL right and is Prometheus up? try curl %s/-/ready)", base, err, strings.TrimRight(base, "/"))
}
