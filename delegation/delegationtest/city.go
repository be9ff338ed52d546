package delegationtest

import (
	"fmt"
	"strings"
)

// City is a simulated city for `kmsprobe init` and the delegation leg: a
// Ministry elementary-school list of N schools (UTF-8 with BOM, as the
// Ministry publishes it) and the DNS behind it on loopback. Every fourth
// school's zone is hosted on the city's server; the others have their own
// name server, which also serves the KMS host's name so an audit can
// follow the SRV target; every tenth school's 網址 is an IP address, so
// init cannot write it.
type City struct {
	*Net
	CSV      []byte
	Resolver string // the city resolver, ip:port
	Own      int    // schools with their own name server
	Hosted   int    // schools whose zone the city's server hosts
	Skipped  int    // schools whose 網址 gives no suffix
}

// StartCity starts a city of n schools whose SRV records point at
// kms.test.example (127.0.0.1) port kmsPort. Close it with Close.
func StartCity(n, kmsPort int) (*City, error) {
	c := &City{}
	kms := "kms.test.example. 300 IN A 127.0.0.1"
	cache := []string{"kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "dns1.kh.edu.tw. 3600 IN A 127.0.0.10", kms}
	city := []string{"kh.edu.tw. 3600 IN SOA dns1.kh.edu.tw. h.kh.edu.tw. 1 3600 600 86400 300", "kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "dns1.kh.edu.tw. 3600 IN A 127.0.0.10"}
	zones := map[string][]string{}
	var hosts []*Host
	var rows strings.Builder
	rows.WriteString("\ufeff學年度,代碼,學校名稱,公/私立,縣市名稱,地址,電話,網址\r\n")
	for i := range n {
		id := fmt.Sprintf("s%03d", i)
		zone := id + ".kh.edu.tw"
		url := "http://www." + zone + "/"
		if i%10 == 9 {
			url = fmt.Sprintf("http://163.16.%d.%d/", i/250, i%250)
			c.Skipped++
		}
		fmt.Fprintf(&rows, "114,5%05d,市立第%d國小,公立,[64]高雄市,高雄市某區某路%d號,(07)0000000,%s\r\n", i, i, i, url)
		srv := fmt.Sprintf("_vlmcs._tcp.%s. 300 IN SRV 0 0 %d kms.test.example.", zone, kmsPort)
		soa := fmt.Sprintf("%s. 3600 IN SOA ns1.%s. h.%s. 1 3600 600 86400 300", zone, zone, zone)
		cache = append(cache, srv)
		if i%10 == 9 {
			continue
		}
		if i%4 == 0 {
			c.Hosted++
			cache = append(cache, zone+". 3600 IN NS dns1.kh.edu.tw.")
			city = append(city, zone+". 3600 IN NS dns1.kh.edu.tw.")
			zones[zone] = []string{soa, zone + ". 3600 IN NS dns1.kh.edu.tw.", srv}
			continue
		}
		c.Own++
		ip := fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200)
		ns := "ns1." + zone
		cache = append(cache, zone+". 3600 IN NS "+ns+".", ns+". 3600 IN A "+ip)
		city = append(city, zone+". 3600 IN NS "+ns+".", ns+". 3600 IN A "+ip)
		hosts = append(hosts, &Host{IP: ip, Zones: map[string][]string{
			zone:           {soa, zone + ". 3600 IN NS " + ns + ".", ns + ". 3600 IN A " + ip, srv},
			"test.example": {"test.example. 3600 IN SOA " + ns + ". h.test.example. 1 3600 600 86400 300", kms},
		}})
	}
	zones["kh.edu.tw"] = city
	hosts = append(hosts,
		&Host{IP: "127.0.0.2", Cache: cache},
		&Host{IP: "127.0.0.10", Zones: zones},
	)
	n2, err := Listen(hosts...)
	if err != nil {
		return nil, err
	}
	c.Net = n2
	c.Resolver = n2.Addr("127.0.0.2")
	c.CSV = []byte(rows.String())
	return c, nil
}
