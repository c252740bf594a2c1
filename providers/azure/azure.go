// Package azure is the adapter for Microsoft Azure: GPU virtual machine
// prices from the public Azure Retail Prices API
// (https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices),
// pay-as-you-go and Spot, Linux only; and virtual machines created,
// started, deallocated, deleted and read through Azure Resource Manager
// (https://learn.microsoft.com/rest/api/compute/virtual-machines) with a
// client-credentials token from Microsoft Entra ID. Machines go into the
// tenant's resource group on the tenant's subnet, with a public IP and a
// NIC that are deleted with them. The price list says nothing of GPUs, so
// the GPU shape of each VM size comes from the table sizes.
package azure

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "azure"

// The documented addresses: prices, sign-in, Resource Manager.
const (
	PricesURL = "https://prices.azure.com"
	LoginURL  = "https://login.microsoftonline.com"
	ARMURL    = "https://management.azure.com"
)

const apiVersion = "2024-07-01"

// maxPages bounds how far the price list is followed.
const maxPages = 20

type size struct {
	gpu        string
	count      int
	vcpu       int
	ramGB      float64
	interconnt string
}

// sizes are Azure's GPU VM sizes as Microsoft documents them.
var sizes = map[string]size{
	"Standard_ND96isr_H100_v5":   {"H100-SXM-80GB", 8, 96, 1900, "infiniband"},
	"Standard_ND96isr_H200_v5":   {"H200-SXM-141GB", 8, 96, 1850, "infiniband"},
	"Standard_NC40ads_H100_v5":   {"H100-NVL-94GB", 1, 40, 320, ""},
	"Standard_NC80adis_H100_v5":  {"H100-NVL-94GB", 2, 80, 640, "nvlink"},
	"Standard_NC24ads_A100_v4":   {"A100-PCIE-80GB", 1, 24, 220, ""},
	"Standard_NC48ads_A100_v4":   {"A100-PCIE-80GB", 2, 48, 440, ""},
	"Standard_NC96ads_A100_v4":   {"A100-PCIE-80GB", 4, 96, 880, ""},
	"Standard_ND96asr_v4":        {"A100-SXM-40GB", 8, 96, 900, "infiniband"},
	"Standard_ND96amsr_A100_v4":  {"A100-SXM-80GB", 8, 96, 1900, "infiniband"},
	"Standard_NC4as_T4_v3":       {"T4-PCIE-16GB", 1, 4, 28, ""},
	"Standard_NC8as_T4_v3":       {"T4-PCIE-16GB", 1, 8, 56, ""},
	"Standard_NC16as_T4_v3":      {"T4-PCIE-16GB", 1, 16, 110, ""},
	"Standard_NC64as_T4_v3":      {"T4-PCIE-16GB", 4, 64, 440, ""},
	"Standard_NV36ads_A10_v5":    {"A10-PCIE-24GB", 1, 36, 440, ""},
	"Standard_NV72ads_A10_v5":    {"A10-PCIE-24GB", 2, 72, 880, ""},
	"Standard_NC6s_v3":           {"V100-PCIE-16GB", 1, 6, 112, ""},
	"Standard_NC24s_v3":          {"V100-PCIE-16GB", 4, 24, 448, ""},
	"Standard_ND96isr_MI300X_v5": {"MI300X-OAM-192GB", 8, 96, 1850, "infiniband"},
}

// Adapter talks to Azure.
type Adapter struct {
	prices, login, arm *providers.Client
	cfg                providers.Config

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New builds the adapter; the credentials are "tenant_id", "client_id",
// "client_secret", "subscription_id", "resource_group" and "subnet_id"
// (the full resource id of the subnet machines join).
func New(cfg providers.Config) *Adapter {
	a := &Adapter{prices: providers.NewClient(ID, PricesURL, cfg), login: providers.NewClient(ID, LoginURL, cfg),
		arm: providers.NewClient(ID, ARMURL, cfg), cfg: cfg}
	a.arm.Classify = classify
	a.arm.Auth = func(r *http.Request) error {
		tok, err := a.bearer(r.Context())
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
	return a
}

// regions are the Azure public cloud's regions by programmatic name, as
// the Azure regions list gives them: the price list names any of them.
var regions = []string{
	"australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast", "belgiumcentral",
	"brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia", "centralus", "chilecentral",
	"eastasia", "eastus", "eastus2", "francecentral", "francesouth", "germanynorth", "germanywestcentral",
	"indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest", "jioindiacentral", "jioindiawest",
	"koreacentral", "koreasouth", "malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope",
	"norwayeast", "norwaywest", "polandcentral", "qatarcentral", "southafricanorth", "southafricawest",
	"southcentralus", "southeastasia", "southindia", "spaincentral", "swedencentral", "switzerlandnorth",
	"switzerlandwest", "uaecentral", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia",
	"westus", "westus2", "westus3",
}

// shapes are the sizes table's GPU counts, vCPUs and memory, in the
// regions above, with an OS disk from the Ubuntu image's 30 GiB to the
// 4,095 GiB a managed OS disk may have (Azure managed disks overview).
var shapes = providers.Span(maps.Values(sizes), func(s size) providers.Machine {
	return providers.Machine{GPUs: s.count, VCPU: s.vcpu, RAMGiB: s.ramGB}
}, providers.Range{Min: 30, Max: 4095}, regions)

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// Provider implements providers.Adapter.
func (a *Adapter) Provider() string { return ID }

const priceFilter = "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and startswith(armSkuName, 'Standard_N')"

// ListOffers pages through the price list.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	var pages [][]byte
	req := providers.Request{Op: "list prices", Path: "/api/retail/prices", Query: url.Values{"$filter": {priceFilter}}}
	for i := 0; i < maxPages; i++ {
		body, err := a.prices.Do(ctx, req, nil)
		if err != nil {
			return nil, err
		}
		pages = append(pages, body)
		var next struct {
			NextPageLink string `json:"NextPageLink"`
		}
		if err := json.Unmarshal(body, &next); err != nil {
			return nil, providers.BadResponse(ID, "list prices", "%v", err)
		}
		u, err := url.Parse(next.NextPageLink)
		if next.NextPageLink == "" || err != nil {
			break
		}
		// Follow the link's path and query on the configured address.
		req = providers.Request{Op: "list prices", Path: u.Path, Query: u.Query()}
	}
	return a.cfg.Normalized(DecodeOffers(pages...))
}

// DecodeOffers turns price pages into offers, one per GPU size and region:
// the Linux pay-as-you-go price, with the Spot meter as the spot price.
func DecodeOffers(pages ...[]byte) ([]providers.Offer, error) {
	type key struct{ sku, region string }
	ondemand, spot := map[key]float64{}, map[key]float64{}
	for _, page := range pages {
		var v struct {
			Items []struct {
				CurrencyCode string  `json:"currencyCode"`
				RetailPrice  float64 `json:"retailPrice"`
				Region       string  `json:"armRegionName"`
				SkuName      string  `json:"skuName"`
				ProductName  string  `json:"productName"`
				ArmSku       string  `json:"armSkuName"`
				Unit         string  `json:"unitOfMeasure"`
				Type         string  `json:"type"`
			} `json:"Items"`
		}
		if err := json.Unmarshal(page, &v); err != nil {
			return nil, providers.BadResponse(ID, "list prices", "%v", err)
		}
		if v.Items == nil {
			return nil, providers.BadResponse(ID, "list prices", "no Items")
		}
		for _, it := range v.Items {
			if _, ok := sizes[it.ArmSku]; !ok || it.Region == "" || it.CurrencyCode != "USD" || it.Unit != "1 Hour" ||
				it.Type != "Consumption" || strings.Contains(it.ProductName, "Windows") || strings.HasSuffix(it.SkuName, "Low Priority") ||
				!(it.RetailPrice > 0) || math.IsInf(it.RetailPrice, 0) {
				continue
			}
			k := key{it.ArmSku, it.Region}
			if strings.HasSuffix(it.SkuName, " Spot") {
				spot[k] = it.RetailPrice
			} else {
				ondemand[k] = it.RetailPrice
			}
		}
	}
	keys := make([]key, 0, len(ondemand))
	for k := range ondemand {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].sku+keys[i].region < keys[j].sku+keys[j].region })
	out := make([]providers.Offer, 0, len(keys))
	for _, k := range keys {
		s := sizes[k.sku]
		o := providers.Offer{Provider: ID, SKU: k.sku, GPU: s.gpu, GPUCount: s.count, VCPU: s.vcpu, RAMGB: s.ramGB, Region: k.region,
			Interconnect: s.interconnt, PriceHour: ondemand[k], Availability: providers.Available, AvailableCount: -1}
		if sp := spot[k]; sp > 0 && sp < o.PriceHour {
			o.SpotPriceHour = sp
		}
		out = append(out, o)
	}
	return out, nil
}

// bearer returns a Resource Manager token, renewed a minute before it
// ends.
func (a *Adapter) bearer(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Clock()()
	if a.token != "" && now.Before(a.expires.Add(-time.Minute)) {
		return a.token, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.cfg.Cred("client_id")},
		"client_secret": {a.cfg.Cred("client_secret")}, "scope": {ARMURL + "/.default"}}
	if _, err := a.login.Do(ctx, providers.Request{Op: "get token", Method: http.MethodPost,
		Path: "/" + url.PathEscape(a.cfg.Cred("tenant_id")) + "/oauth2/v2.0/token", Form: form}, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &providers.Error{Provider: ID, Op: "get token", Kind: providers.KindAuth, Message: "no access token"}
	}
	a.token, a.expires = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second)
	return a.token, nil
}

// classify reads Resource Manager error codes.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch v.Error.Code {
	case "SkuNotAvailable", "AllocationFailed", "ZonalAllocationFailed", "OverconstrainedAllocationRequest":
		return providers.KindNoCapacity
	case "OperationNotAllowed", "QuotaExceeded":
		if strings.Contains(strings.ToLower(v.Error.Message), "quota") || v.Error.Code == "QuotaExceeded" {
			return providers.KindQuota
		}
	case "AuthorizationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken":
		return providers.KindAuth
	case "ResourceNotFound", "NotFound", "ResourceGroupNotFound":
		return providers.KindNotFound
	}
	return ""
}

func (a *Adapter) vm(name string) string {
	return "/subscriptions/" + url.PathEscape(a.cfg.Cred("subscription_id")) + "/resourceGroups/" + url.PathEscape(a.cfg.Cred("resource_group")) +
		"/providers/Microsoft.Compute/virtualMachines/" + url.PathEscape(name)
}

var version = url.Values{"api-version": {apiVersion}}

// Create makes a Linux VM of the size in the offer's region; its id is
// the VM name. Spot VMs are deallocated on eviction.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	user := "gpubroker"
	nic := map[string]any{"name": req.Name + "-nic", "properties": map[string]any{"primary": true, "deleteOption": "Delete",
		"ipConfigurations": []any{map[string]any{"name": "ipconfig1", "properties": map[string]any{
			"subnet":                       map[string]string{"id": a.cfg.Cred("subnet_id")},
			"publicIPAddressConfiguration": map[string]any{"name": req.Name + "-ip", "properties": map[string]string{"deleteOption": "Delete"}},
		}}}}}
	props := map[string]any{
		"hardwareProfile": map[string]string{"vmSize": req.Offer.SKU},
		"storageProfile": map[string]any{
			"imageReference": map[string]string{"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"},
			"osDisk":         map[string]any{"createOption": "FromImage", "deleteOption": "Delete", "diskSizeGB": max(req.DiskGB, 128)}},
		"osProfile": map[string]any{"computerName": req.Name, "adminUsername": user, "linuxConfiguration": map[string]any{
			"disablePasswordAuthentication": true,
			"ssh":                           map[string]any{"publicKeys": []any{map[string]string{"path": "/home/" + user + "/.ssh/authorized_keys", "keyData": req.SSHPublicKey}}}}},
		"networkProfile": map[string]any{"networkApiVersion": "2020-11-01", "networkInterfaceConfigurations": []any{nic}},
		"priority":       "Regular",
	}
	price := req.Offer.PriceHour
	if req.Spot {
		props["priority"], props["evictionPolicy"] = "Spot", "Deallocate"
		props["billingProfile"] = map[string]float64{"maxPrice": -1}
		price = req.Offer.SpotPriceHour
	}
	var out struct {
		Name       string `json:"name"`
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	if _, err := a.arm.Do(ctx, providers.Request{Op: "create vm", Method: http.MethodPut, Path: a.vm(req.Name), Query: version,
		Body: map[string]any{"location": req.Offer.Region, "properties": props}}, &out); err != nil {
		return providers.Instance{}, err
	}
	return providers.Instance{ID: req.Name, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		SSHPort: 22, PriceHour: price}, nil
}

func (a *Adapter) post(ctx context.Context, op, name, verb string) error {
	_, err := a.arm.Do(ctx, providers.Request{Op: op, Method: http.MethodPost, Path: a.vm(name) + "/" + verb, Query: version}, nil)
	return err
}

// Start starts a deallocated VM.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.post(ctx, "start vm", id, "start")
}

// Stop deallocates a VM, which ends its compute billing.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.post(ctx, "deallocate vm", id, "deallocate")
}

// Terminate deletes a VM with its disk, NIC and public IP.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.arm.Do(ctx, providers.Request{Op: "delete vm", Method: http.MethodDelete, Path: a.vm(id), Query: version}, nil)
	return err
}

// Instance reads a VM's instance view.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Statuses []struct {
			Code string `json:"code"`
		} `json:"statuses"`
	}
	if _, err := a.arm.Do(ctx, providers.Request{Op: "get vm", Path: a.vm(id) + "/instanceView", Query: version}, &out); err != nil {
		return providers.Instance{}, err
	}
	in := providers.Instance{ID: id, Provider: ID, SSHPort: 22, State: providers.StatePending}
	for _, s := range out.Statuses {
		switch s.Code {
		case "ProvisioningState/failed":
			in.State = providers.StateFailed
		case "PowerState/running":
			in.State = providers.StateRunning
		case "PowerState/deallocated", "PowerState/stopped":
			in.State = providers.StateStopped
		case "PowerState/deallocating", "PowerState/stopping":
			in.State = providers.StateStopping
		case "ProvisioningState/deleting":
			in.State = providers.StateTerminated
		}
	}
	return in, nil
}
