package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/delegation/delegationtest"
)

type initCity struct {
	*delegationtest.City
	csv     string
	kmsPort int
}

// startInitCity starts delegationtest's simulated city of n schools, with
// a KMS port that only accepts (for --kms-mode tcp).
func startInitCity(t testing.TB, n int) initCity {
	t.Helper()
	port := acceptingPort(t)
	city, err := delegationtest.StartCity(n, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(city.Close)
	c := initCity{City: city, kmsPort: port, csv: filepath.Join(t.TempDir(), "國民小學名錄.csv")}
	if err := os.WriteFile(c.csv, city.CSV, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c initCity) initArgs(out string) []string {
	return []string{"init", "--from", c.csv, "--discover", "--resolver", c.Resolver,
		"--ns-port", fmt.Sprint(c.Port), "--timeout", "1s", "-o", out}
}

func runInitCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestInitDiscoverValidateAudit(t *testing.T) {
	c := startInitCity(t, 12)
	out := filepath.Join(t.TempDir(), "schools.yaml")
	code, stdout, stderr := runInitCmd(c.initArgs(out)...)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"s001                     own name servers ns1.s001.kh.edu.tw (127.0.1.2)",
		"s000                     shared name servers dns1.kh.edu.tw (the city's) not listed",
		"not written: 代碼 500009 市立第9國小",
		fmt.Sprintf("%d schools (%d with their own DNS servers), %d not written", c.Own+c.Hosted, c.Own, c.Skipped),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, stdout)
		}
	}
	if code, o, e := runInitCmd("validate", "-c", out); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, o, e)
	}
	// The admin points the audit at the lab's KMS host; the rest is
	// what init wrote.
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "kms: {host: kms.test.example, port: %d, addresses: [127.0.0.1]}\nprobe: {timeout: 500ms, attempts: 2, ns_port: %d}\n", c.kmsPort, c.Port)
	f.Close()
	code, o, e := runInitCmd("audit", "-c", out, "--kms-mode", "tcp", "--format", "json")
	if code != 0 {
		t.Fatalf("audit of the written city: exit %d\n%s%s", code, o, e)
	}
	var rep struct {
		Summary struct{ Schools, Pass int }
		Schools []struct {
			ID       string
			Findings []struct{ Check, Server, Status string }
		}
	}
	if err := json.Unmarshal([]byte(o), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Schools != c.Own+c.Hosted || rep.Summary.Pass != rep.Summary.Schools {
		t.Errorf("audit summary %+v, want %d schools all passing", rep.Summary, c.Own+c.Hosted)
	}
	// A school with its own server was asked there, not only at the
	// city resolver.
	asked := map[string]bool{}
	for _, s := range rep.Schools {
		if s.ID == "s001" {
			for _, f := range s.Findings {
				asked[f.Check+"@"+f.Server] = true
			}
		}
	}
	if !asked["dns.srv@"+c.Addr("127.0.1.2")] || !asked["dns.srv@"+c.Resolver] {
		t.Errorf("s001 findings: %v", asked)
	}

	// A second run refuses to overwrite; with --force it merges and
	// finds nothing new.
	if code, _, e := runInitCmd(c.initArgs(out)...); code != 3 || !strings.Contains(e, "--force") {
		t.Errorf("second init without --force: exit %d, %s", code, e)
	}
	code, stdout, stderr = runInitCmd(append(c.initArgs(out), "--force")...)
	if code != 0 || !strings.Contains(stdout, "0 added, 0 changed, 0 dropped") {
		t.Errorf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("kms: {host: kms.test.example")) {
		t.Errorf("the merge lost the admin's kms: line:\n%s", b)
	}
}

func TestInitBadInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.csv")
	fifoErr := ""
	if err := mkfifo(fifo); err == nil {
		fifoErr = "regular file"
	}
	notList := filepath.Join(dir, "x.csv")
	os.WriteFile(notList, []byte("a,b\n1,2\n"), 0o644)
	badOv := filepath.Join(dir, "ov.yaml")
	os.WriteFile(badOv, []byte("abc: {suffx: a.kh.edu.tw}\n"), 0o644)
	good := filepath.Join("..", "..", "onboard", "testdata", "國民小學名錄.csv")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "--from FILE.csv"},
		{[]string{"init", "--from", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"init", "--from", notList, "-o", filepath.Join(dir, "o.yaml")}, "x.csv: no header row"},
		{[]string{"init", "--from", good, "--overrides", badOv, "-o", filepath.Join(dir, "o.yaml")}, "suffx"},
		{[]string{"init", "--from", good, "--resolver", "127.0.0.1"}, "only used with --discover"},
		{[]string{"init", "--from", good, "--discover", "--resolver", "dns.example"}, "not an IP address"},
		{[]string{"init", "--from", good, "--zone", "tw."}, "not a DNS zone"},
		{[]string{"init", "--from", good, "--city", "臺北市", "-o", filepath.Join(dir, "o.yaml")}, "nothing was written"},
		{[]string{"init", "stray"}, "no arguments"},
	}
	if fifoErr != "" {
		cases = append(cases, struct {
			args []string
			want string
		}{[]string{"init", "--from", fifo}, fifoErr})
	}
	for _, tc := range cases {
		start := time.Now()
		code, o, e := runInitCmd(tc.args...)
		if code != 3 || !strings.Contains(o+e, tc.want) {
			t.Errorf("%v: exit %d, want 3 with %q:\n%s%s", tc.args, code, tc.want, o, e)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v took %s", tc.args, d)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.yaml")); err == nil {
		t.Error("a failed init wrote its output")
	}
}

func TestInitToStdout(t *testing.T) {
	good := filepath.Join("..", "..", "onboard", "testdata", "國民小學名錄.csv")
	code, o, e := runInitCmd("init", "--from", good, "-o", "-")
	if code != 0 || !strings.HasPrefix(o, "# schools.yaml made by `kmsprobe init`") || !strings.Contains(e, "not written: 代碼 583603") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	// A FIFO is written through, never replaced or merged into.
	fifo := filepath.Join(t.TempDir(), "out")
	if err := mkfifo(fifo); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if code, o, e := runInitCmd("init", "--from", good, "-o", fifo); code != 0 {
		t.Fatalf("-o FIFO: exit %d\n%s%s", code, o, e)
	}
	select {
	case b := <-got:
		if !bytes.HasPrefix(b, []byte("# schools.yaml made by")) {
			t.Errorf("FIFO got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came through the FIFO")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
}

// TestInitCityOf400 times init --discover on a simulated city the size of
// Kaohsiung's. The bound is loose (CI is a loaded 2-core machine); the
// log line is the figure.
func TestInitCityOf400(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 400-school run starts 300 name servers")
	}
	c := startInitCity(t, 400)
	out := filepath.Join(t.TempDir(), "schools.yaml")
	start := time.Now()
	code, stdout, stderr := runInitCmd(c.initArgs(out)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := fmt.Sprintf("%d schools (%d with their own DNS servers), %d not written", c.Own+c.Hosted, c.Own, c.Skipped)
	if !strings.Contains(stdout, want) {
		t.Errorf("summary lacks %q:\n%s", want, stdout[max(0, len(stdout)-400):])
	}
	if code, o, e := runInitCmd("validate", "-c", out); code != 0 {
		t.Fatalf("validate: %d %s%s", code, o, e)
	}
	t.Logf("init --discover of %d schools (%d own name servers): %s", 400, c.Own, took.Round(time.Millisecond))
	if took > 60*time.Second {
		t.Errorf("init took %s for 400 schools", took)
	}
}
