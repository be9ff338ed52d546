package main

import (
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/config"
)

func TestKMSHostPort(t *testing.T) {
	withPort := config.Default()
	withPort.KMS.Port = 11688
	for _, tc := range []struct {
		arg        string
		cfg        *config.Config
		host, port string
		err        string
	}{
		{"kms.example.edu.tw", nil, "kms.example.edu.tw", "1688", ""},
		{"kms.example.edu.tw", withPort, "kms.example.edu.tw", "11688", ""},
		{"127.0.0.1:2000", withPort, "127.0.0.1", "2000", ""},
		{"[::1]:1688", nil, "::1", "1688", ""},
		{"::1", nil, "::1", "1688", ""},
		{"127.0.0.1:0", nil, "", "", `"127.0.0.1:0": port "0" is not a number from 1 to 65535`},
		{"127.0.0.1:kms", nil, "", "", `port "kms" is not a number`},
		{"127.0.0.1:65536", nil, "", "", `port "65536"`},
	} {
		host, port, err := kmsHostPort(tc.arg, tc.cfg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("kmsHostPort(%q) error = %v, want %q", tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("kmsHostPort(%q) = %q, %q, %v; want %q, %q", tc.arg, host, port, err, tc.host, tc.port)
		}
	}
}

func TestKMSCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		discover string
		pos      []string
		err      string
	}{
		{"", []string{"kms.example.edu.tw"}, ""},
		{"school.example.edu.tw", nil, ""},
		{"school.example.edu.tw", []string{"kms.example.edu.tw"}, "not both"},
		{"", nil, "exactly one HOST[:PORT]"},
		{"", []string{"a", "b"}, "exactly one HOST[:PORT]"},
	} {
		err := (&kmsFlags{discover: tc.discover}).checkTarget(tc.pos)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("checkTarget(discover %q, %q) = %v, want %q", tc.discover, tc.pos, err, tc.err)
		}
	}
}
