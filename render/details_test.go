package render

import (
	"bytes"
	"testing"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
)

func TestKMSDetailsGolden(t *testing.T) {
	fs := []finding.Finding{
		{Check: finding.KMSRPC, Server: "127.0.0.1:1688", Status: finding.Pass, Message: "KMS host answered an activation request",
			Evidence: finding.EvidenceMap(map[string]any{"epid": "06401-00206-551-000000-03-1033-17763.0000-0012024", "protocol": "6.0", "rpc_syntax": "NDR64",
				"host_os": "Windows Server 2019", "host_build": 17763, "host_language": "English (United States)", "host_lcid": 1033,
				"hwid": "3A1C049600B60076", "count": 50, "min_count": 25, "activation_interval_min": 120, "renewal_interval_min": 10080, "rtt_ms": 3})},
		{Check: finding.KMSRPC, Server: "127.0.0.2:1688", Status: finding.Pass, Message: "answered, bare",
			Evidence: finding.EvidenceMap(map[string]any{"epid": "x", "protocol": "4.0", "rpc_syntax": "NDR", "host_build": 9600, "host_lcid": 1028, "count": 5, "min_count": 5,
				"activation_interval_min": 120, "renewal_interval_min": 10080, "rtt_ms": 1})},
		{Check: finding.KMSTCP, Server: "127.0.0.3:1688", Status: finding.Fail, Message: "connection refused", Remedy: "start the KMS service: net start sppsvc"},
		{Check: finding.KMSTCP, Server: "127.0.0.4:1688", Status: finding.Pass, Message: "connected", Remedy: "not shown for a pass"},
	}
	var b bytes.Buffer
	if err := KMSDetails(&b, fs); err != nil {
		t.Fatal(err)
	}
	golden(t, "kms.details.txt", b.Bytes())
}

func TestDHCPOffersGolden(t *testing.T) {
	ev := finding.EvidenceMap(map[string]any{
		"iface": "eth1",
		"offers": []map[string]any{
			{"server_id": "10.0.0.1", "server_mac": "02:00:00:00:00:01", "offered_ip": "10.0.0.50", "domain_name": "school.kh.edu.tw", "dns": []string{"10.0.0.53"}, "routers": []string{"10.0.0.1"}, "lease_s": 86400},
			{"server_id": "10.0.0.9", "server_mac": "02:00:00:00:00:09", "offered_ip": "10.0.0.99", "relay": "10.0.0.254", "malformed": "option 6: length 5 is not a multiple of 4"},
		},
		"dhcpv6_replies": []map[string]any{{"server_duid": "0001000100", "source": "fe80::1", "server_mac": "02:00:00:00:00:01", "dns": []string{"fd00::53"}, "domains": []string{"school.kh.edu.tw"}}},
		"router_adverts": []map[string]any{{"source": "fe80::1", "mac": "02:00:00:00:00:01", "lifetime_s": 1800, "managed": false, "other": true, "rdnss": []string{"fd00::53"}}},
		"search_domains": []map[string]any{{"domain": "school.kh.edu.tw", "source": "option 15", "origin": "10.0.0.1"}},
		"dns_servers":    []map[string]any{{"address": "10.0.0.53", "source": "option 6", "origin": "10.0.0.1"}},
	})
	fs := []finding.Finding{
		{Check: finding.DHCPOffer, Server: "eth1", Status: finding.Warn, Message: "two DHCP servers answered", Evidence: ev},
	}
	var b bytes.Buffer
	if err := DHCPOffers(&b, fs); err != nil {
		t.Fatal(err)
	}
	golden(t, "dhcp.offers.txt", b.Bytes())

	// No offer: nothing but the IPv6 half and what a PC would use.
	b.Reset()
	if err := DHCPOffers(&b, []finding.Finding{{Check: finding.DHCPOffer, Evidence: finding.EvidenceMap(map[string]any{"iface": "eth1", "ipv6_error": "no IPv6 link-local address"})}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "dhcp.nooffer.txt", b.Bytes())
}

func TestValidationJSONGolden(t *testing.T) {
	for name, v := range map[string]Validation{
		"validate.ok.json": {Schools: 3, Warnings: []config.Problem{{Path: "schools.yaml", Line: 12, School: "a", Field: "dns", Msg: "192.0.2.53 is a documentation address"}}},
		"validate.bad.json": {Problems: []config.Problem{
			{Path: "schools.yaml", Line: 4, Field: "kms.protocol", Msg: "7 is not a KMS protocol version; use 4, 5 or 6"},
			{Path: "schools.yaml", Msg: "schools: no schools listed"},
		}},
	} {
		var b bytes.Buffer
		if err := ValidationJSON(&b, v); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.Bytes())
	}
}
