package aws

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

// sigv4 checks that the SDK signed the request with the tenant's key.
func sigv4(r *http.Request) error {
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		return fmt.Errorf("authorization %q", a)
	}
	return nil
}

func ec2Route(action, file string) pt.Route {
	return pt.Route{Method: "POST", Path: "/", Contains: "Action=" + action, File: file,
		Header: map[string]string{"Content-Type": "text/xml"}}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "g5.xlarge", Region: "us-east-1", PriceHour: 1.006}
	pricingRoute := pt.Route{Method: "POST", Path: "/", Contains: `"ServiceCode":"AmazonEC2"`, File: "products.json",
		Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"access_key_id": "AKIDTEST", "secret_access_key": "s"}})
		},
		Auth:     sigv4,
		List:     []pt.Route{ec2Route("DescribeInstanceTypes", "instance_types.xml"), pricingRoute, ec2Route("DescribeSpotPriceHistory", "spot.xml")},
		AuthFile: "unauthorized.xml", RateFile: "rate_limited.xml",
		// p4d has no price in the recorded list: two priced types in each region.
		Offers: 2 * len(Regions),
		Expect: []pt.Want{
			{SKU: "p5.48xlarge", Region: "us-east-1", GPU: "H100-SXM-80GB", Count: 8, Price: 55.04, Spot: 29.97, Availability: providers.Available},
			{SKU: "g5.xlarge", Region: "eu-west-1", GPU: "A10G-PCIE-24GB", Count: 1, Price: 1.006, Spot: 0.4352},
		},
		Calls: []pt.Call{
			{Name: "run, describe, stop, start and terminate", Routes: []pt.Route{
				ec2Route("RunInstances", "run.xml"), ec2Route("DescribeInstances", "describe.xml"),
				ec2Route("StopInstances", "state_change.xml"), ec2Route("StartInstances", "state_change.xml"),
				ec2Route("TerminateInstances", "state_change.xml")},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: "ami-0abcdef1234567890", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == "us-east-1/i-0123456789abcdef0" && in.State == providers.StatePending, "ran %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "3.80.10.20", "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "insufficient capacity is no capacity", Routes: []pt.Route{{Method: "POST", Path: "/", Contains: "Action=RunInstances", File: "insufficient.xml", Status: 500}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2", Image: "ami-1"})
					return err
				}, Want: providers.ErrNoCapacity},
			{Name: "a vCPU limit is a quota error", Routes: []pt.Route{{Method: "POST", Path: "/", Contains: "Action=RunInstances", File: "vcpu_limit.xml", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-3", Image: "ami-1", Spot: true})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	one := int32(1)
	types := []ec2types.InstanceTypeInfo{{InstanceType: "g5.xlarge", GpuInfo: &ec2types.GpuInfo{Gpus: []ec2types.GpuDeviceInfo{{Count: &one}}}}}
	b, err := os.ReadFile("testdata/products.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, item []byte) {
		offers, err := DecodeOffers("us-east-1", types, []string{string(item)}, nil)
		if err != nil {
			return
		}
		for _, o := range offers {
			o.Normalize(time.Unix(0, 0))
			if o.Validate() != nil {
				t.Fatalf("invalid offer %+v: %v", o, o.Validate())
			}
		}
	})
}
