package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// Schema identifies the JSON report format (DESIGN.md §6).
const Schema = "kmsprobe.report/v1"

// Report is the result of one audit. Its JSON form is a contract.
type Report struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	Probe       Info      `json:"probe"`
	Summary     Summary   `json:"summary"`
	// Incomplete is set when the audit was stopped (Ctrl-C, deadline)
	// before every answer arrived; unanswered checks are "unknown".
	Incomplete bool   `json:"incomplete,omitempty"`
	Reason     string `json:"incomplete_reason,omitempty"`
	// DurationSeconds is the wall time of the audit.
	DurationSeconds float64 `json:"duration_seconds"`
	// Infrastructure holds the faults of shared servers (city resolvers,
	// the KMS host, NTP), each once (DESIGN §4.2); school findings that
	// follow from one carry its Ref in DependsOn.
	Infrastructure []Infra  `json:"infrastructure,omitempty"`
	Schools        []School `json:"schools"`
	// Selected lists the --school ids when the audit covered only those;
	// empty for a whole-city audit. A diff against such a report must
	// not call the other schools removed (or new).
	Selected []string `json:"selected_schools,omitempty"`
	// Changes since the previous saved report, when there is one.
	Changes *Changes `json:"since_last_report,omitempty"`
}

// Info describes the probe that made the report.
type Info struct {
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
	Vantage  string `json:"vantage"` // central or campus
	// Simulation marks a report of the demo's simulated city.
	Simulation bool `json:"simulation,omitempty"`
	// Exchanges counts the distinct network questions asked.
	Exchanges int `json:"exchanges,omitempty"`
	// PeakPerServer is the most questions one DNS server had in flight
	// at once (probe.per_server caps it).
	PeakPerServer int `json:"peak_per_server,omitempty"`
}

// Infra is one shared server's fault and how many schools use that server.
type Infra struct {
	finding.Finding
	Affects int `json:"affects"`
}

// Summary counts schools by status.
type Summary struct {
	Schools int `json:"schools"`
	Pass    int `json:"pass"`
	Warn    int `json:"warn"`
	Fail    int `json:"fail"`
	Unknown int `json:"unknown"`
}

// School is one school's verdict and the findings behind it.
type School struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Suffix   string            `json:"suffix"`
	Status   finding.Status    `json:"status"`
	Findings []finding.Finding `json:"findings"`
}

// Changes is what differs from the previous saved report.
type Changes struct {
	Previous    time.Time `json:"previous_generated_at"`
	Regressions []Change  `json:"regressions"`
	Fixes       []Change  `json:"fixes"`
	New         []string  `json:"new_schools"`
	Removed     []string  `json:"removed_schools"`
	// Changed are schools whose status stayed the same while what their
	// findings say moved (a KMS failure from "not KMS" to "refused", one
	// resolver back while another still fails).
	Changed []Change `json:"changed,omitempty"`
}

// Change is one school whose status moved.
type Change struct {
	School string         `json:"school"`
	From   finding.Status `json:"from"`
	To     finding.Status `json:"to"`
	// Checks are the check ids whose status moved the same way.
	Checks []string `json:"checks,omitempty"`
	// Findings are the checks, per server, whose verdict or reason moved.
	Findings []FindingChange `json:"findings,omitempty"`
}

// FindingChange is one check at one server that says something else than
// in the previous report. An empty From (To) status means the finding was
// not there before (is gone now).
type FindingChange struct {
	Check     string `json:"check"`
	Server    string `json:"server,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	FromShort string `json:"from_short,omitempty"`
	ToShort   string `json:"to_short,omitempty"`
	Message   string `json:"message,omitempty"` // the new message, or the old one when gone
}

// Finish computes every school's status and the summary. Call it after
// changing findings.
func (r *Report) Finish() {
	r.Summary = Summary{Schools: len(r.Schools)}
	for i := range r.Schools {
		s := &r.Schools[i]
		s.Status = finding.Worst(s.Findings)
		switch s.Status {
		case finding.Pass, finding.Skip:
			r.Summary.Pass++
		case finding.Warn:
			r.Summary.Warn++
		case finding.Fail:
			r.Summary.Fail++
		case finding.Unknown:
			r.Summary.Unknown++
		}
	}
}

// Worst is the worst status over all schools and the shared
// infrastructure: a KMS host that is down must page someone even when
// every school still has a way around it.
func (r *Report) Worst() finding.Status {
	w := finding.Pass
	for _, s := range r.Schools {
		if s.Status.Worse(w) {
			w = s.Status
		}
	}
	for _, f := range r.Infrastructure {
		if f.Status.Worse(w) {
			w = f.Status
		}
	}
	return w
}

// ExitCode is the monitoring-plugins code of the report (DESIGN.md §5).
func (r *Report) ExitCode() int { return r.Worst().Code() }

// WriteJSON writes the report as indented JSON, the bytes
// json.Encoder (indent "  ", no HTML escaping) would write, but school by
// school: a city's report is tens of megabytes, and encoding it whole
// holds it twice more in memory (the encoded bytes, then the indented
// copy).
func (r *Report) WriteJSON(w io.Writer) error {
	if len(r.Schools) == 0 {
		return r.encodeWhole(w)
	}
	// Everything but the schools, with an empty list where they go.
	head := *r
	head.Schools = []School{}
	var hb bytes.Buffer
	if err := head.encodeWhole(&hb); err != nil {
		return err
	}
	before, after, ok := bytes.Cut(hb.Bytes(), []byte(schoolsMark))
	if !ok {
		// Cannot happen: a top-level key is indented by exactly two
		// spaces, and a newline inside a JSON string is escaped.
		return r.encodeWhole(w)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(before)
	bw.WriteString("\n  \"schools\": [\n    ")
	var buf []byte
	for i := range r.Schools {
		if i > 0 {
			bw.WriteString(",\n    ")
		}
		buf = appendSchool(buf[:0], &r.Schools[i])
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("\n  ]")
	bw.Write(after)
	return bw.Flush()
}

// appendSchool is one element of the indented schools list, as
// json.Encoder writes it; the findings are most of a city's report, and
// finding.AppendIndent writes them without reflection or a second
// indenting pass.
func appendSchool(b []byte, s *School) []byte {
	const (
		prefix = "    "
		indent = "  "
		member = "\n" + prefix + indent
	)
	b = append(b, "{"+member+`"id": `...)
	b = finding.AppendJSONString(b, s.ID)
	b = append(b, ","+member+`"name": `...)
	b = finding.AppendJSONString(b, s.Name)
	b = append(b, ","+member+`"suffix": `...)
	b = finding.AppendJSONString(b, s.Suffix)
	b = append(b, ","+member+`"status": `...)
	b = finding.AppendJSONString(b, s.Status.String())
	b = append(b, ","+member+`"findings": `...)
	switch {
	case s.Findings == nil:
		b = append(b, "null"...)
	case len(s.Findings) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i := range s.Findings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, member+indent...)
			b = s.Findings[i].AppendIndent(b, prefix+indent+indent, indent)
		}
		b = append(b, member+"]"...)
	}
	return append(b, "\n"+prefix+"}"...)
}

// schoolsMark is where the schools go in the indented report.
const schoolsMark = "\n  \"schools\": []"

func (r *Report) encodeWhole(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadJSON reads a report, refusing other schemas so a renamed file never
// turns into a silently empty report.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a kmsprobe report: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("schema %q is not %q: not a kmsprobe report, or from an incompatible version", r.Schema, Schema)
	}
	return &r, nil
}

// ReadFile reads a report file.
func ReadFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Single wraps the findings of a one-target command (dns, kms, dhcp) in a
// report with one pseudo-school, so one parser reads every command's JSON
// (DESIGN.md §5).
func Single(s School, version, vantage string, start time.Time) *Report {
	hn, _ := os.Hostname()
	r := &Report{
		Schema:          Schema,
		GeneratedAt:     time.Now(),
		Probe:           Info{Hostname: hn, Version: version, Vantage: vantage},
		DurationSeconds: time.Since(start).Seconds(),
		Schools:         []School{s},
	}
	r.Finish()
	return r
}
