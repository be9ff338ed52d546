package dhcpcheck

import (
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readPacket(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "packets", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dnsmasq119 is option 119 as dnsmasq 2.90 sends
// "school.example,kh.edu.tw,sub.school.example": the third name ends in a
// pointer to offset 0.
const dnsmasq119 = "067363686f6f6c076578616d706c6500 026b6803656475027477 00 03737562c000"

func TestDecodeSearchList(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    []string
		wantErr string
	}{
		{"dnsmasq, compressed", dnsmasq119, []string{"school.example", "kh.edu.tw", "sub.school.example"}, ""},
		// RFC 3397 §2's own example.
		{"RFC 3397 example", "03656e67056170706c6503636f6d00 096d61726b6574696e67c004", []string{"eng.apple.com", "marketing.apple.com"}, ""},
		{"root name", "00", []string{"."}, ""},
		{"escaped label", "03612e6200", []string{`a\.b`}, ""},
		{"empty", "", nil, "empty"},
		{"no terminator", "03616263", nil, "no terminating zero label"},
		{"label past the end", "0561626300", nil, "label at 0 has length 5"},
		{"pointer to itself", "c000", nil, "does not point backwards"},
		{"pointer forward", "c002 00", nil, "does not point backwards"},
		{"truncated pointer", "00 c0", []string{"."}, "truncated compression pointer"},
		{"reserved label type", "4000", nil, "reserved label type"},
		{"loop through labels", "0161 c000", nil, "longer than 255 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
			if err != nil {
				if tc.wantErr == "encoding/hex" {
					return
				}
				t.Fatal(err)
			}
			got, err := decodeSearchList(b)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeSearchListLongLoop(t *testing.T) {
	// A label followed by a pointer back to it: every jump is backwards,
	// yet the name grows without end; the 255-byte limit must stop it.
	b := []byte{0, 5, 'a', 'b', 'c', 'd', 'e', 0xc0, 1}
	if _, err := decodeSearchList(b); err == nil || !strings.Contains(err.Error(), "longer than 255") {
		t.Errorf("err = %v, want the name length limit", err)
	}
}

func TestDecodeSuffix(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"demo-jh.kh.edu.tw", "demo-jh.kh.edu.tw", ""},
		{"demo-jh.kh.edu.tw\x00", "demo-jh.kh.edu.tw", ""}, // Windows DHCP and some routers add a NUL
		{"Demo-JH.kh.edu.tw.", "Demo-JH.kh.edu.tw.", ""},
		{"", "", "empty"},
		{"\x00", "", "only NUL"},
		{"a\x00b", "a\x00b", "NUL byte inside"},
		{"a.example b.example", "a.example b.example", "not allowed in a DNS suffix"},
		{"a..example", "a..example", "empty label"},
		{strings.Repeat("a", 64) + ".example", strings.Repeat("a", 64) + ".example", "63"},
	}
	for _, tc := range tests {
		got, err := decodeSuffix([]byte(tc.in))
		if got != tc.want || tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("decodeSuffix(%q) = %q, %v; want %q, error with %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// offerView is what the decoding tests compare.
type offerView struct {
	ServerID, YourIP, Relay string
	DNS, Routers            []string
	Suffix                  string
	Search                  []string
	Lease                   time.Duration
	States                  map[uint8]string
	Malformed               map[uint8]string
}

func view(o Offer) offerView {
	st := map[uint8]string{}
	for _, c := range []uint8{OptRouters, OptDNS, OptDomainName, OptLeaseTime, OptServerID, OptDomainSearch} {
		st[c] = o.State(c).String()
	}
	return offerView{ipText(o.ServerID), ipText(o.YourIP), ipText(o.Relay), ipStrings(o.DNS), ipStrings(o.Routers),
		o.Suffix, o.SearchList, o.LeaseTime, st, o.Malformed}
}

// withOptions replaces the options of a real offer with raw option bytes.
func withOptions(t *testing.T, base []byte, opts string) []byte {
	p := append([]byte(nil), base[:optionsOff]...)
	return append(p, unhex(t, opts)...)
}

func TestParseOffer(t *testing.T) {
	dnsmasq := readPacket(t, "offer-dnsmasq-2.90.bin")
	kea := readPacket(t, "offer-kea-2.2.0.bin")
	states := func(kv ...string) map[uint8]string {
		m := map[uint8]string{OptRouters: "absent", OptDNS: "absent", OptDomainName: "absent", OptLeaseTime: "absent", OptServerID: "absent", OptDomainSearch: "absent"}
		codes := map[string]uint8{"3": 3, "6": 6, "15": 15, "51": 51, "54": 54, "119": 119}
		for i := 0; i < len(kv); i += 2 {
			m[codes[kv[i]]] = kv[i+1]
		}
		return m
	}
	src := net.IPv4(10, 99, 0, 1).To4()
	tests := []struct {
		name string
		pkt  []byte
		want offerView
	}{
		{"dnsmasq 2.90", dnsmasq, offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", DNS: []string{"10.99.0.1"}, Routers: []string{"10.99.0.1"},
			Suffix: "school.example", Search: []string{"school.example", "kh.edu.tw", "sub.school.example"}, Lease: time.Hour,
			States: states("3", "present", "6", "present", "15", "present", "51", "present", "54", "present", "119", "present"),
		}},
		{"kea 2.2.0", kea, offerView{
			ServerID: "192.168.1.1", YourIP: "192.168.1.100", DNS: []string{"192.168.1.1"}, Routers: []string{"192.168.1.1"},
			Suffix: "home.lan", Lease: time.Hour,
			States: states("3", "present", "6", "present", "15", "present", "51", "present", "54", "present"),
		}},
		{"no options: server id falls back to the source", withOptions(t, dnsmasq, "350102 ff"), offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", States: states(),
		}},
		{"malformed 6, 15, 51, 54 are told from absent", withOptions(t, dnsmasq, "350102 0605 0a63000101 0f00 3302 0001 3603 0a6300 ff"), offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", DNS: []string{"10.99.0.1"},
			States: states("6", "malformed", "15", "malformed", "51", "malformed", "54", "malformed"),
			Malformed: map[uint8]string{OptDNS: "5 bytes, not a multiple of 4", OptDomainName: "empty",
				OptLeaseTime: "2 bytes, want 4", OptServerID: "3 bytes, want 4"},
		}},
		{"option cut off by the end of the packet", withOptions(t, dnsmasq, "350102 0f10 6162"), offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", Suffix: "ab",
			States:    states("15", "malformed"),
			Malformed: map[uint8]string{OptDomainName: "length 16 but only 2 bytes left in the packet"},
		}},
		{"RFC 3396: a split option is concatenated", withOptions(t, dnsmasq, "350102 0f06 7363686f6f6c 0f08 2e6578616d706c65 ff"), offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", Suffix: "school.example", States: states("15", "present"),
		}},
		{"trailing NUL in option 15", withOptions(t, dnsmasq, "350102 0f0f 7363686f6f6c2e6578616d706c6500 ff"), offerView{
			ServerID: "10.99.0.1", YourIP: "10.99.0.149", Suffix: "school.example", States: states("15", "present"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseMessage(tc.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, view(newOffer(m, src, nil)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("offer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOverload(t *testing.T) {
	// Option 52 = 1: option 15 continues in the file field.
	p := withOptions(t, readPacket(t, "offer-dnsmasq-2.90.bin"), "350102 340101 ff")
	copy(p[fileOff:], unhex(t, "0f0e 7363686f6f6c2e6578616d706c65 ff"))
	m, err := parseMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	if o := newOffer(m, nil, nil); o.Suffix != "school.example" || o.State(OptDomainName) != Present {
		t.Errorf("suffix from the file field = %q (%v), want school.example", o.Suffix, o.State(OptDomainName))
	}
}

func TestParseNotDHCP(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 239), make([]byte, 300)} {
		if _, err := parseMessage(b); err == nil {
			t.Errorf("parseMessage(%d bytes) accepted a non-DHCP packet", len(b))
		}
	}
}

func TestUDP4RoundTrip(t *testing.T) {
	payload := readPacket(t, "discover-kmsprobe.bin")
	pkt := udp4(payload, net.IPv4zero, 68, net.IPv4bcast, 67)
	if sum16(0, pkt[:ipv4HdrLen]) != 0xffff {
		t.Error("IPv4 header checksum does not verify")
	}
	got, src, sport, ok := stripUDP4(pkt, 67)
	if !ok || !src.Equal(net.IPv4zero) || sport != 68 || string(got) != string(payload) {
		t.Errorf("stripUDP4 = %d bytes from %v:%d ok=%v; want the payload back", len(got), src, sport, ok)
	}
	if _, _, _, ok := stripUDP4(pkt, 68); ok {
		t.Error("stripUDP4 accepted a packet to another port (our own DISCOVER must not read as an answer)")
	}
}
