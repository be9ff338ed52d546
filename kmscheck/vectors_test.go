package kmscheck

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// vector is one captured exchange from testdata/vectors (copied from
// shared/kms/vectors, see its README).
type vector struct {
	name     string
	pdus     map[string][]byte // "01-bind" -> bytes
	order    []string
	manifest manifest
}

type manifest struct {
	Name    string `json:"name"`
	Summary []struct {
		RequestPDU  string `json:"request_pdu"`
		ResponsePDU string `json:"response_pdu"`
		Request     *struct {
			Protocol      string `json:"kms_protocol"`
			AppID         string `json:"application_id"`
			SKUID         string `json:"sku_id"`
			KMSID         string `json:"kms_counted_id"`
			CMID          string `json:"client_machine_id"`
			PrevCMID      string `json:"previous_client_machine_id"`
			Workstation   string `json:"workstation_name"`
			FileTime      uint64 `json:"client_time_filetime"`
			LicenseStatus uint32 `json:"license_status"`
			Grace         uint32 `json:"grace_minutes"`
			Required      uint32 `json:"required_client_count"`
			VM            bool   `json:"is_client_vm"`
			Salt          string `json:"salt_iv_hex"`
		} `json:"request"`
		Response *struct {
			ReturnCode string `json:"rpc_return_code"`
			EPID       string `json:"epid"`
			Count      uint32 `json:"current_count"`
			Activation uint32 `json:"vl_activation_interval_minutes"`
			Renewal    uint32 `json:"vl_renewal_interval_minutes"`
			Build      int    `json:"host_os_build"`
			LCID       int    `json:"host_lcid"`
			HwID       string `json:"hwid_hex"`
		} `json:"response"`
		FaultStatus string `json:"rpc_fault_status"`
	} `json:"summary"`
	Exchanges []struct {
		Request struct {
			KMSMessage string `json:"kms_message_hex"`
			PlainBase  string `json:"plain_base_request_hex"`
			DSalt      string `json:"aes_decrypt_of_salt_hex"`
		} `json:"request"`
	} `json:"kms_exchanges"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	dirs, err := filepath.Glob("testdata/vectors/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no vectors in testdata/vectors: %v", err)
	}
	var vs []vector
	for _, d := range dirs {
		vs = append(vs, loadVector(t, d))
	}
	return vs
}

func loadVector(t testing.TB, dir string) vector {
	t.Helper()
	v := vector{name: filepath.Base(dir), pdus: map[string][]byte{}}
	files, _ := filepath.Glob(filepath.Join(dir, "*.hex"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		k := strings.TrimSuffix(filepath.Base(f), ".hex")
		v.pdus[k] = p
		v.order = append(v.order, k)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v.manifest); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return v
}

func (v vector) pdu(t testing.TB, file string) []byte {
	t.Helper()
	p, ok := v.pdus[strings.TrimSuffix(file, ".hex")]
	if !ok {
		t.Fatalf("%s: no PDU %s", v.name, file)
	}
	return p
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request rebuilds summary[i]'s request from the manifest values.
func (v vector) request(t testing.TB, i int) ActivationRequest {
	t.Helper()
	m := v.manifest.Summary[i].Request
	if m == nil {
		t.Fatalf("%s: summary[%d] has no request", v.name, i)
	}
	maj, min, _ := strings.Cut(m.Protocol, ".")
	ma, _ := strconv.Atoi(maj)
	mi, _ := strconv.Atoi(min)
	u := func(s string) UUID {
		x, err := ParseUUID(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	r := ActivationRequest{
		Version:       Version{Major: uint16(ma), Minor: uint16(mi)},
		VM:            m.VM,
		LicenseStatus: m.LicenseStatus,
		GraceMinutes:  m.Grace,
		AppID:         u(m.AppID),
		SKUID:         u(m.SKUID),
		KMSID:         u(m.KMSID),
		CMID:          u(m.CMID),
		RequiredCount: m.Required,
		Time:          m.FileTime,
		PreviousCMID:  u(m.PrevCMID),
		Workstation:   m.Workstation,
	}
	if m.Salt != "" {
		copy(r.Salt[:], mustHex(t, m.Salt))
	}
	return r
}
