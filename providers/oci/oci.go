// Package oci is the adapter for Oracle Cloud Infrastructure: GPU shape
// prices from Oracle's public price list API
// (https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/), and
// instances launched, started, stopped, terminated and read through the
// Core Services API (https://docs.oracle.com/iaas/api/#/en/iaas/20160918/)
// with requests signed as OCI documents (HTTP Signatures, rsa-sha256, over
// date, (request-target) and host, plus the body's digest, type and length
// for POST and PUT). The price list prices GPUs per GPU hour by part; the
// GPU shapes and the regions that sell them come from the tables below.
package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "oci"

// The documented addresses: the public price list and Core Services in a
// region ("https://iaas.<region>.oraclecloud.com").
const (
	PriceListURL = "https://apexapps.oracle.com"
	coreURL      = "https://iaas.%s.oraclecloud.com"
	identityURL  = "https://identity.%s.oraclecloud.com"
)

type shape struct {
	part  string // price list display name of the GPU part
	gpu   string
	count int
	ocpu  int // OCI bills OCPUs; a vCPU is half of one
	ramGB float64
	ic    string
}

// shapes are OCI's GPU shapes as Oracle documents them.
var shapes = map[string]shape{
	"BM.GPU.H100.8":      {"Compute - GPU - H100", "H100-SXM-80GB", 8, 112, 2048, "infiniband"},
	"BM.GPU.H200.8":      {"Compute - GPU - H200", "H200-SXM-141GB", 8, 112, 3072, "infiniband"},
	"BM.GPU.A100-v2.8":   {"Compute - GPU - A100 - v2", "A100-SXM-80GB", 8, 128, 2048, "infiniband"},
	"BM.GPU4.8":          {"Compute - GPU - A100 - v1", "A100-SXM-40GB", 8, 64, 2048, "infiniband"},
	"BM.GPU.L40S.4":      {"Compute - GPU - L40S", "L40S-PCIE-48GB", 4, 112, 1024, ""},
	"VM.GPU.A10.1":       {"Compute - GPU - A10", "A10-PCIE-24GB", 1, 15, 240, ""},
	"VM.GPU.A10.2":       {"Compute - GPU - A10", "A10-PCIE-24GB", 2, 30, 480, ""},
	"BM.GPU.MI300X.8":    {"Compute - GPU - MI300X", "MI300X-OAM-192GB", 8, 112, 2048, "infiniband"},
	"VM.GPU3.1":          {"Compute - GPU - Standard - V2", "V100-SXM-16GB", 1, 6, 90, ""},
	"BM.GPU.B200.8":      {"Compute - GPU - B200", "B200-SXM-180GB", 8, 128, 4096, "infiniband"},
	"VM.GPU.A100.40G.1":  {"Compute - GPU - A100 - v1", "A100-SXM-40GB", 1, 15, 240, ""},
	"VM.GPU.A100.80GB.1": {"Compute - GPU - A100 - v2", "A100-SXM-80GB", 1, 15, 240, ""},
}

// Regions are the commercial regions offers are listed in.
var Regions = []string{"us-ashburn-1", "us-phoenix-1", "us-chicago-1", "eu-frankfurt-1", "uk-london-1", "ap-tokyo-1"}

// Adapter talks to OCI.
type Adapter struct {
	prices *providers.Client
	cfg    providers.Config
	key    *rsa.PrivateKey
	keyErr error
}

// New builds the adapter; the credentials are "tenancy_ocid",
// "user_ocid", "fingerprint", "private_key" (PEM), "compartment_ocid" and
// "subnet_ocid" (where instances are launched).
func New(cfg providers.Config) *Adapter {
	a := &Adapter{prices: providers.NewClient(ID, PriceListURL, cfg), cfg: cfg}
	a.key, a.keyErr = parseKey(cfg.Cred("private_key"))
	return a
}

// machineShapes are the shapes table's GPU counts, vCPUs (two per OCPU) and
// memory, in the regions listed, with a boot volume of 50 GB to 32 TB
// (OCI Block Volume boot volume sizes).
var machineShapes = providers.Span(maps.Values(shapes), func(s shape) providers.Machine {
	return providers.Machine{GPUs: s.count, VCPU: 2 * s.ocpu, RAMGiB: s.ramGB}
}, providers.Range{Min: 50, Max: 32768}, Regions)

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return machineShapes }

func parseKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("private_key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private_key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private_key is not an RSA key")
	}
	return rk, nil
}

// Provider implements providers.Adapter.
func (a *Adapter) Provider() string { return ID }

// ListOffers reads the public price list.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.prices.Do(ctx, providers.Request{Op: "read price list", Path: "/pls/apex/cetools/api/v1/products/",
		Query: url.Values{"currencyCode": {"USD"}}}, nil)
	if err != nil {
		return nil, err
	}
	return a.cfg.Normalized(DecodeOffers(body))
}

// DecodeOffers prices every GPU shape from its part's pay-as-you-go GPU
// hour price, in every listed region.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Items []struct {
			DisplayName string `json:"displayName"`
			MetricName  string `json:"metricName"`
			Prices      []struct {
				CurrencyCode string `json:"currencyCode"`
				Prices       []struct {
					Model string  `json:"model"`
					Value float64 `json:"value"`
				} `json:"prices"`
			} `json:"currencyCodeLocalizations"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "read price list", "%v", err)
	}
	if v.Items == nil {
		return nil, providers.BadResponse(ID, "read price list", "no items")
	}
	perGPU := map[string]float64{}
	for _, it := range v.Items {
		if it.MetricName != "GPU Per Hour" {
			continue
		}
		for _, l := range it.Prices {
			for _, p := range l.Prices {
				if l.CurrencyCode == "USD" && p.Model == "PAY_AS_YOU_GO" && p.Value > 0 && !math.IsInf(p.Value, 0) {
					perGPU[it.DisplayName] = p.Value
				}
			}
		}
	}
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []providers.Offer
	for _, n := range names {
		s := shapes[n]
		price := perGPU[s.part]
		if price <= 0 {
			continue
		}
		for _, r := range Regions {
			out = append(out, providers.Offer{Provider: ID, SKU: n, GPU: s.gpu, GPUCount: s.count, VCPU: 2 * s.ocpu, RAMGB: s.ramGB,
				Region: r, Interconnect: s.ic, PriceHour: math.Round(price*float64(s.count)*1000) / 1000,
				Availability: providers.Available, AvailableCount: -1})
		}
	}
	return out, nil
}

// core sends a signed Core Services call in a region.
func (a *Adapter) core(ctx context.Context, region, op, method, path string, body any, out any) error {
	return a.call(ctx, coreURL, region, op, method, path, body, out)
}

func (a *Adapter) call(ctx context.Context, service, region, op, method, path string, body any, out any) error {
	if a.keyErr != nil {
		return &providers.Error{Provider: ID, Op: op, Kind: providers.KindAuth, Err: a.keyErr}
	}
	base := fmt.Sprintf(service, region)
	if a.cfg.BaseURL != "" {
		base = a.cfg.BaseURL
	}
	cfg := a.cfg
	cfg.BaseURL = base
	c := providers.NewClient(ID, base, cfg)
	c.Classify = classify
	c.Auth = a.sign
	_, err := c.Do(ctx, providers.Request{Op: op, Method: method, Path: path, Body: body}, out)
	return err
}

// sign adds OCI's HTTP signature to a request.
func (a *Adapter) sign(r *http.Request) error {
	r.Header.Set("Date", a.cfg.Clock()().UTC().Format(http.TimeFormat))
	headers := []string{"date", "(request-target)", "host"}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		var body []byte
		if r.GetBody != nil {
			rc, err := r.GetBody()
			if err != nil {
				return err
			}
			body, _ = io.ReadAll(rc)
		}
		sum := sha256.Sum256(body)
		r.Header.Set("x-content-sha256", base64.StdEncoding.EncodeToString(sum[:]))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
		headers = append(headers, "x-content-sha256", "content-type", "content-length")
	}
	signing := SigningString(r, headers)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	if err != nil {
		return err
	}
	keyID := a.cfg.Cred("tenancy_ocid") + "/" + a.cfg.Cred("user_ocid") + "/" + a.cfg.Cred("fingerprint")
	r.Header.Set("Authorization", fmt.Sprintf(`Signature version="1",keyId="%s",algorithm="rsa-sha256",headers="%s",signature="%s"`,
		keyID, strings.Join(headers, " "), base64.StdEncoding.EncodeToString(sig)))
	return nil
}

// SigningString builds the string an OCI signature covers.
func SigningString(r *http.Request, headers []string) string {
	var b bytes.Buffer
	for i, h := range headers {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch h {
		case "(request-target)":
			b.WriteString("(request-target): " + strings.ToLower(r.Method) + " " + r.URL.RequestURI())
		case "host":
			b.WriteString("host: " + r.URL.Host)
		default:
			b.WriteString(h + ": " + r.Header.Get(h))
		}
	}
	return b.String()
}

// classify reads OCI error codes.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch {
	case v.Code == "LimitExceeded" || v.Code == "QuotaExceeded":
		return providers.KindQuota
	case strings.Contains(v.Message, "Out of host capacity") || v.Code == "OutOfCapacity":
		return providers.KindNoCapacity
	case v.Code == "NotAuthenticated" || v.Code == "NotAuthorizedOrNotFound" && strings.Contains(v.Message, "Authorization failed"):
		return providers.KindAuth
	case v.Code == "NotAuthorizedOrNotFound" || v.Code == "NotFound":
		return providers.KindNotFound
	case v.Code == "TooManyRequests":
		return providers.KindRateLimit
	}
	return ""
}

type instance struct {
	ID             string `json:"id"`
	LifecycleState string `json:"lifecycleState"`
	Shape          string `json:"shape"`
	Region         string `json:"region"`
}

func (v instance) normal() providers.Instance {
	in := providers.Instance{ID: v.ID, Provider: ID, SKU: v.Shape, Region: v.Region, SSHPort: 22, State: providers.StateUnknown}
	switch v.LifecycleState {
	case "PROVISIONING", "STARTING", "MOVING", "CREATING_IMAGE":
		in.State = providers.StatePending
	case "RUNNING":
		in.State = providers.StateRunning
	case "STOPPING", "TERMINATING":
		in.State = providers.StateStopping
	case "STOPPED":
		in.State = providers.StateStopped
	case "TERMINATED":
		in.State = providers.StateTerminated
	}
	return in
}

// regionOf reads the region from an instance OCID
// (ocid1.instance.oc1.<region>.<id>).
func regionOf(id string) (string, error) {
	parts := strings.Split(id, ".")
	if len(parts) < 5 || parts[0] != "ocid1" || parts[3] == "" {
		return "", &providers.Error{Provider: ID, Op: "parse instance id", Kind: providers.KindInvalid, Message: "not an instance OCID: " + id}
	}
	return parts[3], nil
}

// Create launches an instance of the shape in the offer's region, in the
// region's first availability domain.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "launch preemptible")
	}
	region := req.Offer.Region
	var ads []struct {
		Name string `json:"name"`
	}
	if err := a.call(ctx, identityURL, region, "list availability domains", http.MethodGet,
		"/20160918/availabilityDomains?compartmentId="+url.QueryEscape(a.cfg.Cred("tenancy_ocid")), nil, &ads); err != nil {
		return providers.Instance{}, err
	}
	if len(ads) == 0 {
		return providers.Instance{}, providers.BadResponse(ID, "list availability domains", "none in %s", region)
	}
	body := map[string]any{"compartmentId": a.cfg.Cred("compartment_ocid"), "availabilityDomain": ads[0].Name, "shape": req.Offer.SKU,
		"displayName": req.Name, "sourceDetails": map[string]string{"sourceType": "image", "imageId": req.Image},
		"createVnicDetails": map[string]any{"subnetId": a.cfg.Cred("subnet_ocid"), "assignPublicIp": true},
		"metadata":          map[string]string{"ssh_authorized_keys": req.SSHPublicKey}}
	var out instance
	if err := a.core(ctx, region, "launch instance", http.MethodPost, "/20160918/instances", body, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "launch instance", "no instance id")
	}
	in := out.normal()
	in.PriceHour = req.Offer.PriceHour
	if in.Region == "" {
		in.Region = region
	}
	return in, nil
}

func (a *Adapter) action(ctx context.Context, id, action string) error {
	region, err := regionOf(id)
	if err != nil {
		return err
	}
	return a.core(ctx, region, strings.ToLower(action)+" instance", http.MethodPost, "/20160918/instances/"+url.PathEscape(id)+"?action="+action, nil, nil)
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.action(ctx, id, "START") }

// Stop stops an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.action(ctx, id, "STOP") }

// Terminate terminates an instance and its boot volume.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	region, err := regionOf(id)
	if err != nil {
		return err
	}
	return a.core(ctx, region, "terminate instance", http.MethodDelete, "/20160918/instances/"+url.PathEscape(id)+"?preserveBootVolume=false", nil, nil)
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	region, err := regionOf(id)
	if err != nil {
		return providers.Instance{}, err
	}
	var out instance
	if err := a.core(ctx, region, "get instance", http.MethodGet, "/20160918/instances/"+url.PathEscape(id), nil, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.normal(), nil
}
