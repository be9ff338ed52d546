package render

import (
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// Languages a report can be written in (report.lang, --lang).
const (
	English = "en"
	Chinese = "zh-TW"
)

// Langs lists the supported languages for messages.
var Langs = []string{English, Chinese}

// CheckLang refuses a language the catalog does not have, with the fix.
func CheckLang(lang string) error {
	for _, l := range Langs {
		if lang == l {
			return nil
		}
	}
	return fmt.Errorf("language %q is not supported; use %s", lang, strings.Join(Langs, " or "))
}

// zhTW translates the fixed strings of reports. Keys are the English text
// itself, so English needs no table and a missing translation falls back
// to readable English instead of a key name. Finding messages and remedies
// come from the legs in English and are left as they are: they quote DNS
// names, records and commands an admin copies verbatim.
var zhTW = map[string]string{
	// table columns
	"school":  "學校",
	"suffix":  "DNS 尾碼",
	"dhcp":    "DHCP",
	"own dns": "學校 DNS",
	"target":  "SRV 目標",
	"kms":     "KMS 主機",
	"clock":   "時鐘",
	"status":  "狀態",

	// statuses
	"pass":    "通過",
	"warn":    "警告",
	"fail":    "失敗",
	"unknown": "未知",
	"skip":    "略過",

	// sections and labels
	"KMS activation audit":                   "KMS 啟用稽核報告",
	"What to fix:":                           "待修正項目：",
	"What to fix":                            "待修正項目",
	"fix:":                                   "修正：",
	"Compliance":                             "各校合規狀態",
	"Changes since the last report":          "與上次報告相比的變化",
	"Changes since the last report (%s)":     "與上次報告（%s）相比的變化",
	"Regressions":                            "退步",
	"Fixed":                                  "已修復",
	"New schools":                            "新增學校",
	"Removed schools":                        "移除的學校",
	"No change since the last report.":       "與上次報告相比沒有變化。",
	"No earlier report to compare with.":     "沒有可比較的上一份報告。",
	"Compliance over time":                   "合規趨勢",
	"Share of schools that pass, per report": "每份報告中通過的學校比例",
	"%d schools: %d pass, %d warn, %d fail, %d unknown": "%d 所學校：%d 通過、%d 警告、%d 失敗、%d 未知",
	"INCOMPLETE":                      "未完成",
	"Generated %s on %s, kmsprobe %s": "產生時間 %s，主機 %s，kmsprobe %s",
	"This report comes from a simulation (kmsprobe demo), not the real network.": "此報告來自模擬環境（kmsprobe demo），並非實際網路。",
	"Every school passes. Nothing to fix.":                                       "所有學校皆通過，沒有需要修正的項目。",
	"checks: %s":                                                                 "檢查項目：%s",
	"%s: %d%% pass (%d of %d)":                                                   "%s：%d%% 通過（%d / %d）",
	"Legend":                                                                     "圖例",
	"✓ pass, ! warn, ✗ fail, ? unknown, – skipped":                               "✓ 通過、! 警告、✗ 失敗、? 未知、– 略過",
	"Sent by kmsprobe. Resend with: kmsprobe mail %s":                            "由 kmsprobe 寄出。重寄指令：kmsprobe mail %s",

	// subject
	"KMS audit":      "KMS 稽核",
	"%d fail":        "%d 失敗",
	"%d warn":        "%d 警告",
	"%d pass":        "%d 通過",
	"%d unknown":     "%d 未知",
	"%d regressions": "%d 項退步",
	"%d regression":  "%d 項退步",
	"simulation":     "模擬",
}

// checkTitles name each check for people; the id stays beside it because
// it is what reports, metrics and the docs match on.
var checkTitles = map[string][2]string{
	finding.DNSSRV:         {"SRV record", "SRV 記錄"},
	finding.DNSTarget:      {"SRV target resolves", "SRV 目標解析"},
	finding.DNSConsistency: {"DNS servers agree", "DNS 伺服器一致性"},
	finding.KMSTCP:         {"TCP 1688 to the KMS host", "KMS 主機 TCP 1688 連線"},
	finding.KMSRPC:         {"KMS host answers", "KMS 主機回應"},
	finding.ClockOffset:    {"clock offset", "時鐘誤差"},
	finding.DHCPOffer:      {"DHCP offer", "DHCP 回應"},
	finding.DHCPSuffix:     {"DHCP domain name (option 15)", "DHCP 網域尾碼（option 15）"},
	finding.DHCPDNS:        {"DHCP DNS servers (option 6)", "DHCP 提供的 DNS（option 6）"},
	finding.DHCPRogue:      {"rogue DHCP servers", "非法 DHCP 伺服器"},
}

// tr translates a fixed string and formats it.
func tr(lang, s string, args ...any) string {
	if lang == Chinese {
		if t, ok := zhTW[s]; ok {
			s = t
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// CheckTitle is the human name of a check id in lang, or the id itself.
func CheckTitle(lang, id string) string {
	t, ok := checkTitles[id]
	if !ok {
		return id
	}
	if lang == Chinese {
		return t[1]
	}
	return t[0]
}

// StatusWord is a status in lang ("fail", "失敗").
func StatusWord(lang string, s finding.Status) string { return tr(lang, s.String()) }

// Subject is the mail subject: the counts an admin triages by, worst first,
// so the inbox list alone says whether to open it.
func Subject(lang string, r *probe.Report) string {
	s := r.Summary
	parts := []string{tr(lang, "%d fail", s.Fail), tr(lang, "%d warn", s.Warn), tr(lang, "%d pass", s.Pass)}
	if s.Unknown > 0 {
		parts = append(parts, tr(lang, "%d unknown", s.Unknown))
	}
	sep, colon := ", ", ": "
	if lang == Chinese {
		sep, colon = "、", "："
	}
	subj := tr(lang, "KMS audit") + colon + strings.Join(parts, sep)
	if r.Changes != nil && len(r.Changes.Regressions) > 0 {
		n := len(r.Changes.Regressions)
		key := "%d regressions"
		if n == 1 {
			key = "%d regression"
		}
		subj += " — " + tr(lang, key, n)
	}
	if r.Incomplete {
		subj += " [" + tr(lang, "INCOMPLETE") + "]"
	}
	if r.Probe.Simulation {
		subj += " [" + tr(lang, "simulation") + "]"
	}
	return subj
}
