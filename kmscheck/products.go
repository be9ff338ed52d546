package kmscheck

import (
	"fmt"
	"sort"
	"strings"
)

// Application IDs select the host's count pool (PROTOCOL.md §10).
var (
	AppWindows    = mustUUID("55c92734-d682-4d71-983e-d6ec3f16059f")
	AppOffice2010 = mustUUID("59a52881-a989-479d-af46-f275c6370663")
	AppOffice2013 = mustUUID("0ff1ce15-a989-479d-af46-f275c6370663")
)

// Product is a volume-licensed edition a KMS client can ask for.
type Product struct {
	Key      string // short flag-friendly name, e.g. "win10-ent"
	Name     string // display name, e.g. "Windows 10/11 Enterprise"
	AppID    UUID
	SKUID    UUID
	KMSID    UUID // KMS counted ID: what the host checks against its host key, and its count pool
	N        int  // activation threshold: clients activate once the host counts N
	Protocol int  // the KMS protocol version real clients of this product speak
	GVLK     string
	Aliases  []string // other stable names, e.g. "win11-ent"
}

// DefaultProduct is what a school PC most often is.
const DefaultProduct = "win10-ent"

// KMS counted IDs (count pools).
var (
	kmsWin10       = mustUUID("58e2134f-8e11-4d17-9cb2-91069c151148") // Windows 10/11 client editions
	kmsWinLTSC2019 = mustUUID("11b15659-e603-4cf1-9c1f-f0ec01b81888") // Windows 10 LTSC 2019/2021, Windows 11 LTSC 2024
	kmsWS2019      = mustUUID("8449b1fb-f0ea-497a-99ab-66ca96e9a0f5")
	kmsWS2022      = mustUUID("b74263e4-0f92-46c6-bcf8-c11d5efe2959")
	kmsWS2025      = mustUUID("4b83307d-7788-50ff-8d1f-1861915bdb9d")
	kmsOffice2019  = mustUUID("617d9eb1-ef36-4f82-86e0-a65ae07b96c6")
	kmsOffice2021  = mustUUID("86d50b16-4808-41af-b83b-b338274318b2")
	kmsOffice2024  = mustUUID("1b4db7eb-4057-5ddf-91e0-36dec72071f5")
)

// The product table: the one place product IDs live.
//
// Sources. GVLKs: Microsoft Learn, "Key Management Services (KMS) client
// activation and product keys" (Windows, Windows Server) and "GVLKs for
// KMS and Active Directory-based activation of Office, Project, and
// Visio" (Office LTSC 2021/2024). SKU (activation) IDs and KMS counted
// IDs: the KMS host database of vlmcsd (github.com/Wind4/vlmcsd,
// src/kmsdata-full.c) for every product up to 2019, checked byte for byte
// against its GUIDs; products after it (Server 2022/2025, Office LTSC
// 2021/2024) are not in vlmcsd's database and come from py-kms's
// KmsDataBase.xml (github.com/Py-KMS-Organization/py-kms, May 2026),
// which vlmcsd's own successors use. N and protocol: the same databases
// (NCountPolicy 25 for Windows client editions, 5 for servers and Office;
// protocol 6 for all current products).
//
// Inferred, not documented by Microsoft: Windows 11 editions use the
// Windows 10 editions' SKU and KMS IDs (Microsoft's GVLK page lists one
// key for both), and Windows 11 Enterprise LTSC 2024 those of Windows 10
// Enterprise LTSC 2019/2021 (same GVLK on that page).
var products = []Product{
	{"win10-ent", "Windows 10/11 Enterprise", AppWindows, mustUUID("73111121-5638-40f6-bc11-f1d7b0d64300"), kmsWin10, 25, 6, "NPPR9-FWDCX-D2C8J-H872K-2YT43", []string{"win11-ent"}},
	{"win10-edu", "Windows 10/11 Education", AppWindows, mustUUID("e0c42288-980c-4788-a014-c080d2e1926e"), kmsWin10, 25, 6, "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2", []string{"win11-edu"}},
	{"win10-pro", "Windows 10/11 Pro", AppWindows, mustUUID("2de67392-b7a7-462a-b1ca-108dd189f588"), kmsWin10, 25, 6, "W269N-WFGWX-YVC9B-4J6C9-T83GX", []string{"win11-pro"}},
	{"win10-proedu", "Windows 10/11 Pro Education", AppWindows, mustUUID("3f1afc82-f8ac-4f6c-8005-1d233e606eee"), kmsWin10, 25, 6, "6TP4R-GNPTD-KYYHQ-7B7DP-J447Y", []string{"win11-proedu"}},
	{"win10-ltsc", "Windows 10 Enterprise LTSC 2019/2021", AppWindows, mustUUID("32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee"), kmsWinLTSC2019, 25, 6, "M7XTQ-FN8P6-TTKYV-9D4CC-J462D", nil},
	{"win11-ent-ltsc2024", "Windows 11 Enterprise LTSC 2024", AppWindows, mustUUID("32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee"), kmsWinLTSC2019, 25, 6, "M7XTQ-FN8P6-TTKYV-9D4CC-J462D", nil},
	{"ws2019-std", "Windows Server 2019 Standard", AppWindows, mustUUID("de32eafd-aaee-4662-9444-c1befb41bde2"), kmsWS2019, 5, 6, "N69G4-B89J2-4G8F4-WWYCC-J464C", []string{"ws2019"}},
	{"ws2019-dc", "Windows Server 2019 Datacenter", AppWindows, mustUUID("34e1ae55-27f8-4950-8877-7a03be5fb181"), kmsWS2019, 5, 6, "WMDGN-G9PQG-XVVXX-R3X43-63DFG", nil},
	{"ws2022-std", "Windows Server 2022 Standard", AppWindows, mustUUID("9bd77860-9b31-4b7b-96ad-2564017315bf"), kmsWS2022, 5, 6, "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", []string{"ws2022"}},
	{"ws2022-dc", "Windows Server 2022 Datacenter", AppWindows, mustUUID("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"), kmsWS2022, 5, 6, "WX4NM-KYWYW-QJJR4-XV3QB-6VM33", nil},
	{"ws2025-std", "Windows Server 2025 Standard", AppWindows, mustUUID("7dc26449-db21-4e09-ba37-28f2958506a6"), kmsWS2025, 5, 6, "TVRH6-WHNXV-R9WG3-9XRFY-MY832", []string{"ws2025"}},
	{"ws2025-dc", "Windows Server 2025 Datacenter", AppWindows, mustUUID("c052f164-cdf6-409a-a0cb-853ba0f0f55a"), kmsWS2025, 5, 6, "D764K-2NDRG-47T6Q-P8T8W-YP6DF", nil},
	{"office2019-proplus", "Office Professional Plus 2019", AppOffice2013, mustUUID("85dd8b5f-eaa4-4af3-a628-cce9e77c9a03"), kmsOffice2019, 5, 6, "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP", nil},
	{"office2019-std", "Office Standard 2019", AppOffice2013, mustUUID("6912a74b-a5fb-401a-bfdb-2e3ab46f4b02"), kmsOffice2019, 5, 6, "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK", nil},
	{"office2021-proplus", "Office LTSC Professional Plus 2021", AppOffice2013, mustUUID("fbdb3e18-a8ef-4fb3-9183-dffd60bd0984"), kmsOffice2021, 5, 6, "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH", nil},
	{"office2021-std", "Office LTSC Standard 2021", AppOffice2013, mustUUID("080a45c5-9f9f-49eb-b4b0-c3c610a5ebd3"), kmsOffice2021, 5, 6, "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3", nil},
	{"office2024-proplus", "Office LTSC Professional Plus 2024", AppOffice2013, mustUUID("8d368fc1-9470-4be2-8d66-90e836cbb051"), kmsOffice2024, 5, 6, "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", nil},
	{"office2024-std", "Office LTSC Standard 2024", AppOffice2013, mustUUID("bbac904f-6a7e-418a-bb4b-24c85da06187"), kmsOffice2024, 5, 6, "V28N4-JG22K-W66P8-VTMGK-H6HGR", nil},
	{"win7-ent", "Windows 7 Enterprise", AppWindows, mustUUID("ae2ee509-1b34-41c0-acb7-6d4650168915"), mustUUID("7fde5219-fbfa-484a-82c9-34d1ad53e856"), 25, 4, "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH", nil},
	{"office2013-proplus", "Office Professional Plus 2013", AppOffice2013, mustUUID("b322da9c-a2e2-4058-9e4e-f59a6970bd69"), mustUUID("e6a6f1bf-9d40-40c3-aa9f-c77ba21578c0"), 5, 5, "", nil},
}

// Products lists the known products in table order (most common first).
func Products() []Product { return append([]Product(nil), products...) }

// ProductKeys lists the short names, sorted, for flag help and config errors.
func ProductKeys() []string {
	ks := make([]string, len(products))
	for i, p := range products {
		ks[i] = p.Key
	}
	sort.Strings(ks)
	return ks
}

// LookupProduct finds a product by its short key or display name, ignoring
// case. The empty name is the default product.
func LookupProduct(name string) (Product, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		n = DefaultProduct
	}
	for _, p := range products {
		if strings.EqualFold(p.Key, n) || strings.EqualFold(p.Name, n) {
			return p, nil
		}
		for _, a := range p.Aliases {
			if strings.EqualFold(a, n) {
				return p, nil
			}
		}
	}
	return Product{}, fmt.Errorf("unknown product %q; use one of %s", name, strings.Join(ProductNames(), ", "))
}

// Class says which threshold family a product belongs to, for messages.
func (p Product) Class() string {
	switch {
	case p.AppID != AppWindows:
		return "Office"
	case p.N == 5:
		return "Windows Server"
	default:
		return "Windows client"
	}
}

// ProductNames lists every stable name (keys and aliases), sorted, for
// flag help and config errors.
func ProductNames() []string {
	var ns []string
	for _, p := range products {
		ns = append(ns, p.Key)
		ns = append(ns, p.Aliases...)
	}
	sort.Strings(ns)
	return ns
}

// LookupProducts resolves several names (kms.products), dropping blanks
// and duplicates; none at all is the default product.
func LookupProducts(names []string) ([]Product, error) {
	var out []Product
	seen := map[string]bool{}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			continue
		}
		p, err := LookupProduct(n)
		if err != nil {
			return nil, err
		}
		if !seen[p.Key] {
			seen[p.Key] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		p, _ := LookupProduct(DefaultProduct)
		out = []Product{p}
	}
	return out, nil
}
