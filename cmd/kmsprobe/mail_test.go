package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// attachments walks a MIME message and returns each attachment's file
// name and body.
func attachments(t *testing.T, raw string) map[string]string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("not a mail: %v", err)
	}
	out := map[string]string{}
	var walk func(ct string, body io.Reader, disp, enc string)
	walk = func(ct string, body io.Reader, disp, enc string) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Disposition"), p.Header.Get("Content-Transfer-Encoding"))
			}
		}
		if d, dp, err := mime.ParseMediaType(disp); err == nil && d == "attachment" {
			switch strings.ToLower(enc) {
			case "base64":
				body = base64.NewDecoder(base64.StdEncoding, body)
			case "quoted-printable":
				body = quotedprintable.NewReader(body)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatalf("%s: %v", dp["filename"], err)
			}
			out[dp["filename"]] = string(b)
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Body, "", "")
	return out
}

// TestAuditMailAttachesChecklists: the audit's mail carries one
// checklist per failing school, and none for the others.
func TestAuditMailAttachesChecklists(t *testing.T) {
	addr, msgs := recordingSMTP(t)
	dir := filepath.Join(t.TempDir(), "reports")
	code, out, stderr := runCmd(t, "demo", "-c", writeConfig(t, addr), "--save", dir, "--mail", "--format", "json")
	if code != exitPass || len(msgs()) != 1 {
		t.Fatalf("demo --mail: exit %d, %d messages; stderr:\n%s", code, len(msgs()), stderr)
	}
	var rep struct {
		Schools []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range rep.Schools {
		if s.Status == "fail" {
			want = append(want, "checklist-"+s.ID+".html")
		}
	}
	if len(want) == 0 {
		t.Fatal("the demo city has no failing school to test with")
	}
	atts := attachments(t, msgs()[0])
	var got []string
	for name := range atts {
		got = append(got, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	for name, body := range atts {
		if !strings.Contains(body, "nslookup") || !strings.Contains(body, "slmgr") {
			t.Errorf("%s is not a checklist (%d bytes)", name, len(body))
		}
	}
}
