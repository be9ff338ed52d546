package kmscheck

import (
	"strconv"
	"strings"
)

// HostInfo is what an ePID says about the KMS host (PROTOCOL.md §7).
type HostInfo struct {
	Build    int    // host OS build, e.g. 17763
	OS       string // e.g. "Windows Server 2019 / Windows 10 1809"; "" if the build is unknown
	LCID     int    // host OS language id, e.g. 1033
	Language string // e.g. "en-US"; "" if unknown
	Group    string // CSVLK group id, e.g. "00206"
	KeyDate  string // DDDYYYY: day of year and year the host key was installed
}

// ParseEPID splits an ePID. ok is false when it does not have the eight
// dash-separated fields every genuine ePID has.
func ParseEPID(epid string) (h HostInfo, ok bool) {
	f := strings.Split(epid, "-")
	if len(f) != 8 {
		return h, false
	}
	b, _, _ := strings.Cut(f[6], ".")
	if !decimal(f[5], 5) || !decimal(b, 6) {
		return h, false
	}
	lcid, _ := strconv.Atoi(f[5])
	build, _ := strconv.Atoi(b)
	return HostInfo{
		Build:    build,
		OS:       buildNames[build],
		LCID:     lcid,
		Language: lcidNames[lcid],
		Group:    f[1],
		KeyDate:  f[7],
	}, true
}

// Server and client releases share build numbers; a KMS host is usually a
// server, so the server name comes first.
var buildNames = map[int]string{
	6002:  "Windows Server 2008 SP2 / Vista SP2",
	7601:  "Windows Server 2008 R2 SP1 / Windows 7 SP1",
	9200:  "Windows Server 2012 / Windows 8",
	9600:  "Windows Server 2012 R2 / Windows 8.1",
	10240: "Windows 10 1507",
	10586: "Windows 10 1511",
	14393: "Windows Server 2016 / Windows 10 1607",
	15063: "Windows 10 1703",
	16299: "Windows 10 1709",
	17134: "Windows 10 1803",
	17763: "Windows Server 2019 / Windows 10 1809",
	18362: "Windows 10 1903",
	18363: "Windows 10 1909",
	19041: "Windows 10 2004",
	19042: "Windows 10 20H2",
	19043: "Windows 10 21H1",
	19044: "Windows 10 21H2",
	19045: "Windows 10 22H2",
	20348: "Windows Server 2022",
	22000: "Windows 11 21H2",
	22621: "Windows 11 22H2",
	22631: "Windows 11 23H2",
	26100: "Windows Server 2025 / Windows 11 24H2",
}

var lcidNames = map[int]string{
	1028: "zh-TW", 1031: "de-DE", 1033: "en-US", 1036: "fr-FR", 1040: "it-IT",
	1041: "ja-JP", 1042: "ko-KR", 1043: "nl-NL", 1045: "pl-PL", 1046: "pt-BR",
	1049: "ru-RU", 1053: "sv-SE", 1055: "tr-TR", 2052: "zh-CN", 2057: "en-GB",
	2070: "pt-PT", 3076: "zh-HK", 3082: "es-ES", 4100: "zh-SG", 5124: "zh-MO",
}

// decimal reports whether s is a plain decimal number of at most n digits
// as an ePID writes it: no sign, no leading zero, no overflow.
func decimal(s string, n int) bool {
	if s == "" || len(s) > n || len(s) > 1 && s[0] == '0' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
