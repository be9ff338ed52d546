package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kh-edu/kmsprobe/exporter"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/internal/testenv"
)

// syncBuffer is an io.Writer safe for the exporter's log goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeBadFlags: each mistake is exit 3 with the words that name it,
// and never the hint meant for an address in use.
func TestServeBadFlags(t *testing.T) {
	cfg := testCity(t, false, false)
	missing := filepath.Join(t.TempDir(), "web.yml")
	webFile := func(body string) string {
		p := filepath.Join(t.TempDir(), "web.yml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badWeb := webFile("basic_auth_users:\n  admin: plaintext-not-bcrypt\n")
	tabWeb := webFile("tls_server_config:\n\tcert_file: x\n")
	unknownWeb := webFile("basic_auth_user:\n  admin: x\n")
	listWeb := webFile("basic_auth_users:\n  admin: [1, 2]\n")
	noCertWeb := webFile("tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"interval zero", []string{"--interval", "0s"}, []string{"--interval 0s is out of range", "10s to 168h"}},
		{"interval negative", []string{"--interval", "-5m"}, []string{"--interval -5m0s is out of range"}},
		{"port out of range", []string{"--listen", "127.0.0.1:99999"}, []string{"invalid port \"99999\"", "1 to 65535"}},
		{"port not a number", []string{"--listen", "127.0.0.1:http-ish"}, []string{"invalid port"}},
		{"no port", []string{"--listen", "127.0.0.1"}, []string{"is not host:port"}},
		{"address not here", []string{"--listen", "192.0.2.1:9688"}, []string{"no interface of this host has that address"}},
		{"budget zero", []string{"--probe.max-budget", "0s"}, []string{"--probe.max-budget 0s is out of range"}},
		{"queue negative", []string{"--probe.queue", "-1"}, []string{"--probe.queue -1 is out of range"}},
		{"web config missing", []string{"--web.config.file", missing}, []string{"--web.config.file", missing}},
		{"web config plaintext password", []string{"--web.config.file", badWeb}, []string{"is not usable", "not a bcrypt hash"}},
		{"web config tab", []string{"--web.config.file", tabWeb}, []string{"a tab at line 2: indent YAML with spaces"}},
		{"web config unknown key", []string{"--web.config.file", unknownWeb}, []string{"line 1: unknown key basic_auth_user"}},
		{"web config list", []string{"--web.config.file", listWeb}, []string{"line 2: a list where another kind of value belongs"}},
		{"web config missing cert", []string{"--web.config.file", noCertWeb}, []string{"/nonexistent/cert.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb syncBuffer
			code := run(ctx, &env{Stdout: &out, Stderr: &errb}, append([]string{"serve", "-c", cfg}, tt.args...))
			if code != exitUnknown {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUnknown, errb.String())
			}
			msg := errb.String()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr lacks %q:\n%s", w, msg)
				}
			}
			for _, bad := range []string{"another kmsprobe serve", "exporter:", "web:", "yaml:", "web.Config", "config.plain", "!!"} {
				if strings.Contains(msg, bad) {
					t.Errorf("stderr says %q, which does not fit this mistake:\n%s", bad, msg)
				}
			}
		})
	}
}

// TestServeAddressInUse: the one case where another serve is the likely
// cause gets that hint.
func TestServeAddressInUse(t *testing.T) {
	cfg := testCity(t, false, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := run(ctx, &env{Stdout: &out, Stderr: &errb}, []string{"serve", "-c", cfg, "--listen", ln.Addr().String()})
	if code != exitUnknown || !strings.Contains(errb.String(), "the address is in use (is another kmsprobe serve running?") {
		t.Errorf("exit %d, stderr: %s", code, errb.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	certFile, keyFile, _ = testenv.SelfSignedCert(t, dir, "kmsprobe test")
	return certFile, keyFile
}

// TestServeTLSBasicAuthWithPrometheus: kmsprobe serve locked with
// --web.config.file (TLS, a bcrypt user) is scraped by a real Prometheus
// that knows the CA and the password; plain HTTP and a wrong password
// are refused.
func TestServeTLSBasicAuthWithPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a real Prometheus; skipped with -short")
	}
	promBin := testenv.LookPath(t, "prometheus", "prometheus")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	const user, pass = "prometheus", "s3cret-for-the-test"
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n", certFile, keyFile, user, hash), 0o600); err != nil {
		t.Fatal(err)
	}

	sc, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	x, err := exporter.New(sc.Config, exporter.Options{Schools: []string{"good-jh", "nosrv-es"}, Interval: 10 * time.Second, Hostname: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	var out, errb syncBuffer
	served := make(chan int, 1)
	go func() { served <- serve(sctx, &env{Stdout: &out, Stderr: &errb}, x, "127.0.0.1:0", webCfg, ready) }()
	defer func() {
		stop()
		<-served
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-served:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}

	// Our own client first: TLS with the CA, and the password.
	caPEM, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	status := func(c *http.Client, u, user, pass string) int {
		req, _ := http.NewRequest("GET", u, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(tlsClient, "https://"+addr+"/healthz", user, pass); got != http.StatusOK {
		t.Errorf("TLS with the password: status %d, want 200", got)
	}
	if got := status(tlsClient, "https://"+addr+"/metrics", user, "wrong"); got != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", got)
	}
	if got := status(tlsClient, "https://"+addr+"/metrics", "", ""); got != http.StatusUnauthorized {
		t.Errorf("no password: status %d, want 401", got)
	}
	if got := status(&http.Client{Timeout: 10 * time.Second}, "http://"+addr+"/metrics", user, pass); got == http.StatusOK {
		t.Errorf("plain HTTP was served despite tls_server_config")
	}

	// The real Prometheus, as an admin would configure it.
	promURL := startPrometheusWith(t, ctx, promBin, fmt.Sprintf(`  - job_name: kmsprobe-tls
    scheme: https
    tls_config:
      ca_file: %s
    basic_auth:
      username: %s
      password: %s
    static_configs:
      - targets: ['%s']
  - job_name: kmsprobe-nopass
    scheme: https
    tls_config:
      ca_file: %s
    static_configs:
      - targets: ['%s']
`, certFile, user, pass, addr, certFile, addr))

	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		up := promQuery(t, ctx, promURL, `up`)
		st := promQuery(t, ctx, promURL, `kmsprobe_school_status{job="kmsprobe-tls"}`)
		last = fmt.Sprintf("up=%v school_status=%v", up, st)
		if up[`kmsprobe-tls`] == "1" && up[`kmsprobe-nopass`] == "0" && len(st) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape over TLS with basic auth within 90 s: %s\nserve log:\n%s", last, errb.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("Prometheus: %s", last)
}

// promQuery runs an instant query and returns, per series, its job (or
// the whole label set when there is no job) and its value.
func promQuery(t *testing.T, ctx context.Context, base, q string) map[string]string {
	t.Helper()
	vec, err := promVector(ctx, base, q, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range vec {
		k := s.Metric["job"]
		if k == "" || s.Metric["school"] != "" {
			b, _ := json.Marshal(s.Metric)
			k = string(b)
		}
		out[k] = s.Value
	}
	return out
}

type promSample struct {
	Metric map[string]string
	Value  string
}

// promVector asks Prometheus's HTTP API directly (not through package
// city), at time at when it is not zero.
func promVector(ctx context.Context, base, q string, at time.Time) ([]promSample, error) {
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", fmt.Sprintf("%.3f", float64(at.UnixMilli())/1e3))
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	var out []promSample
	for _, s := range r.Data.Result {
		val, _ := s.Value[1].(string)
		out = append(out, promSample{Metric: s.Metric, Value: val})
	}
	return out, nil
}
