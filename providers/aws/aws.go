// Package aws is the adapter for Amazon EC2, through the AWS SDK for Go
// v2: GPU instance types from DescribeInstanceTypes, on-demand Linux
// prices from the AWS Price List Query API (GetProducts), spot prices from
// DescribeSpotPriceHistory, in the regions of Regions; and instances run,
// started, stopped, terminated and described. An instance id is
// "<region>/<instance id>". The SDK's own retries are off: the aggregator
// decides when to call again.
package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
	"github.com/aws/smithy-go"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "aws"

// Regions are the regions offers are listed in.
var Regions = []string{"us-east-1", "us-west-2", "eu-west-1"}

// maxPages bounds every paginated listing.
const maxPages = 20

// Adapter talks to EC2 and the Price List API.
type Adapter struct {
	cfg     providers.Config
	awsCfg  aws.Config
	ec2s    map[string]*ec2.Client
	pricing *pricing.Client
}

// New builds the adapter; the credentials are "access_key_id" and
// "secret_access_key".
func New(cfg providers.Config) *Adapter {
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ac := aws.Config{
		Credentials: credentials.NewStaticCredentialsProvider(cfg.Cred("access_key_id"), cfg.Cred("secret_access_key"), ""),
		HTTPClient:  hc, Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
	endpoint := func() *string {
		if cfg.BaseURL == "" {
			return nil
		}
		return aws.String(cfg.BaseURL)
	}
	a := &Adapter{cfg: cfg, awsCfg: ac, ec2s: map[string]*ec2.Client{}}
	for _, r := range Regions {
		rc := ac.Copy()
		rc.Region = r
		a.ec2s[r] = ec2.NewFromConfig(rc, func(o *ec2.Options) { o.BaseEndpoint = endpoint() })
	}
	pc := ac.Copy()
	pc.Region = "us-east-1" // the Price List API answers in us-east-1
	a.pricing = pricing.NewFromConfig(pc, func(o *pricing.Options) { o.BaseEndpoint = endpoint() })
	return a
}

// shapes are the families listed (P3, P4d, P4de, P5, P5e, P5en, P6-B200,
// G4dn, G5, G6, G6e) as EC2's accelerated computing instance
// specifications give them, from g4dn.xlarge (4 vCPUs, 16 GiB) to the
// 48xlarge sizes (192 vCPUs, up to 2,048 GiB), with a gp3 root volume of
// 1 to 16,384 GiB (the EC2 API's EBS block device sizes).
var shapes = providers.Shapes{
	GPUCounts: []int{1, 4, 8},
	VCPU:      providers.Range{Min: 4, Max: 192},
	RAMGiB:    providers.Range{Min: 16, Max: 2048},
	DiskGiB:   providers.Range{Min: 1, Max: 16384},
	Regions:   Regions,
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// Provider implements providers.Adapter.
func (a *Adapter) Provider() string { return ID }

// ListOffers reads types, prices and spot prices of every region.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	var out []providers.Offer
	for _, r := range Regions {
		types, err := a.gpuTypes(ctx, r)
		if err != nil {
			return nil, err
		}
		prices, err := a.prices(ctx, r)
		if err != nil {
			return nil, err
		}
		spot, err := a.spot(ctx, r, types)
		if err != nil {
			return nil, err
		}
		offers, err := DecodeOffers(r, types, prices, spot)
		if err != nil {
			return nil, err
		}
		out = append(out, offers...)
	}
	return a.cfg.Normalized(out, nil)
}

func (a *Adapter) gpuTypes(ctx context.Context, region string) ([]ec2types.InstanceTypeInfo, error) {
	var out []ec2types.InstanceTypeInfo
	in := &ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-type"),
		Values: []string{"p3.*", "p4d.*", "p4de.*", "p5.*", "p5e.*", "p5en.*", "p6-b200.*", "g4dn.*", "g5.*", "g6.*", "g6e.*"}}}}
	for i := 0; i < maxPages; i++ {
		res, err := a.ec2s[region].DescribeInstanceTypes(ctx, in)
		if err != nil {
			return nil, mapErr("describe instance types", err)
		}
		for _, t := range res.InstanceTypes {
			if t.GpuInfo != nil && len(t.GpuInfo.Gpus) > 0 {
				out = append(out, t)
			}
		}
		if res.NextToken == nil || *res.NextToken == "" {
			break
		}
		in.NextToken = res.NextToken
	}
	return out, nil
}

func (a *Adapter) prices(ctx context.Context, region string) ([]string, error) {
	term := func(f, v string) pricingtypes.Filter {
		return pricingtypes.Filter{Type: pricingtypes.FilterTypeTermMatch, Field: aws.String(f), Value: aws.String(v)}
	}
	in := &pricing.GetProductsInput{ServiceCode: aws.String("AmazonEC2"), Filters: []pricingtypes.Filter{
		term("regionCode", region), term("instanceFamily", "GPU instance"), term("operatingSystem", "Linux"),
		term("tenancy", "Shared"), term("preInstalledSw", "NA"), term("capacitystatus", "Used")}}
	var out []string
	for i := 0; i < maxPages; i++ {
		res, err := a.pricing.GetProducts(ctx, in)
		if err != nil {
			return nil, mapErr("get products", err)
		}
		out = append(out, res.PriceList...)
		if res.NextToken == nil || *res.NextToken == "" {
			break
		}
		in.NextToken = res.NextToken
	}
	return out, nil
}

func (a *Adapter) spot(ctx context.Context, region string, types []ec2types.InstanceTypeInfo) ([]ec2types.SpotPrice, error) {
	if len(types) == 0 {
		return nil, nil
	}
	names := make([]ec2types.InstanceType, len(types))
	for i, t := range types {
		names[i] = t.InstanceType
	}
	res, err := a.ec2s[region].DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{InstanceTypes: names,
		ProductDescriptions: []string{"Linux/UNIX"}, StartTime: aws.Time(a.cfg.Clock()())})
	if err != nil {
		return nil, mapErr("describe spot prices", err)
	}
	return res.SpotPriceHistory, nil
}

// OnDemand reads the price list's products into USD per hour by instance
// type.
func OnDemand(priceList []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, raw := range priceList {
		var p struct {
			Product struct {
				Attributes struct {
					InstanceType string `json:"instanceType"`
				} `json:"attributes"`
			} `json:"product"`
			Terms struct {
				OnDemand map[string]struct {
					PriceDimensions map[string]struct {
						Unit         string            `json:"unit"`
						PricePerUnit map[string]string `json:"pricePerUnit"`
					} `json:"priceDimensions"`
				} `json:"OnDemand"`
			} `json:"terms"`
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, providers.BadResponse(ID, "get products", "%v", err)
		}
		for _, term := range p.Terms.OnDemand {
			for _, d := range term.PriceDimensions {
				v, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64)
				if err == nil && d.Unit == "Hrs" && v > 0 && !math.IsInf(v, 0) && p.Product.Attributes.InstanceType != "" {
					out[p.Product.Attributes.InstanceType] = v
				}
			}
		}
	}
	return out, nil
}

// DecodeOffers joins one region's GPU types, price list and spot prices:
// an offer per priced type; the spot price is the lowest of its zones.
func DecodeOffers(region string, types []ec2types.InstanceTypeInfo, priceList []string, spot []ec2types.SpotPrice) ([]providers.Offer, error) {
	onDemand, err := OnDemand(priceList)
	if err != nil {
		return nil, err
	}
	lowest := map[string]float64{}
	for _, s := range spot {
		v, err := strconv.ParseFloat(aws.ToString(s.SpotPrice), 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) {
			continue
		}
		if cur, ok := lowest[string(s.InstanceType)]; !ok || v < cur {
			lowest[string(s.InstanceType)] = v
		}
	}
	var out []providers.Offer
	for _, t := range types {
		name := string(t.InstanceType)
		price := onDemand[name]
		if price <= 0 || t.GpuInfo == nil || len(t.GpuInfo.Gpus) == 0 {
			continue
		}
		g := t.GpuInfo.Gpus[0]
		if aws.ToInt32(g.Count) <= 0 {
			continue
		}
		memGB := int(math.Round(float64(aws.ToInt32(g.MemoryInfo.SizeInMiB)) / 1024))
		o := providers.Offer{Provider: ID, SKU: name, GPU: providers.MustCanonicalGPU(aws.ToString(g.Manufacturer)+" "+aws.ToString(g.Name), memGB),
			GPUCount: int(aws.ToInt32(g.Count)), GPUMemoryGB: memGB, Region: region, PriceHour: price,
			Availability: providers.Available, AvailableCount: -1}
		if t.VCpuInfo != nil {
			o.VCPU = int(aws.ToInt32(t.VCpuInfo.DefaultVCpus))
		}
		if t.MemoryInfo != nil {
			o.RAMGB = math.Round(float64(aws.ToInt64(t.MemoryInfo.SizeInMiB)) / 1024)
		}
		if t.InstanceStorageInfo != nil {
			o.DiskGB = int(aws.ToInt64(t.InstanceStorageInfo.TotalSizeInGB))
		}
		if sp := lowest[name]; sp > 0 && sp < price {
			o.SpotPriceHour = sp
		}
		if o.GPUCount >= 8 {
			o.Interconnect = "nvlink"
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out, nil
}

// mapErr turns an SDK error into a typed provider error by its API code.
func mapErr(op string, err error) error {
	e := &providers.Error{Provider: ID, Op: op, Kind: providers.KindUnavailable, Err: err}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		e.Status = resp.HTTPStatusCode()
		if resp.Response != nil {
			e.RetryAfter = providers.RetryAfter(resp.Response.Header.Get("Retry-After"), time.Now())
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Message = api.ErrorMessage()
		switch code := api.ErrorCode(); {
		case code == "InsufficientInstanceCapacity" || code == "InsufficientCapacity" || code == "Unsupported" && strings.Contains(e.Message, "capacity"):
			e.Kind = providers.KindNoCapacity
		case strings.HasSuffix(code, "LimitExceeded") && code != "RequestLimitExceeded":
			e.Kind = providers.KindQuota
		case code == "RequestLimitExceeded" || code == "Throttling" || code == "ThrottlingException":
			e.Kind = providers.KindRateLimit
		case code == "AuthFailure" || code == "UnauthorizedOperation" || code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" ||
			code == "AccessDeniedException":
			e.Kind = providers.KindAuth
		case strings.HasSuffix(code, ".NotFound") || code == "NotFoundException":
			e.Kind = providers.KindNotFound
		case strings.HasPrefix(code, "Invalid") || code == "ValidationException":
			e.Kind = providers.KindInvalid
		}
		return e
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
		switch e.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			e.Kind = providers.KindAuth
		case http.StatusTooManyRequests:
			e.Kind = providers.KindRateLimit
		}
		if re.Response != nil {
			e.RetryAfter = providers.RetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
		}
	}
	if strings.Contains(err.Error(), "deserialization failed") || strings.Contains(err.Error(), "unmarshal") {
		e.Kind = providers.KindBadResponse
	}
	return e
}

func split(id string) (string, string, error) {
	region, inst, ok := strings.Cut(id, "/")
	if !ok || region == "" || inst == "" {
		return "", "", &providers.Error{Provider: ID, Op: "parse instance id", Kind: providers.KindInvalid, Message: "want <region>/<instance id>, got " + id}
	}
	return region, inst, nil
}

func (a *Adapter) client(region string) (*ec2.Client, error) {
	c, ok := a.ec2s[region]
	if !ok {
		return nil, &providers.Error{Provider: ID, Op: "pick region", Kind: providers.KindInvalid, Message: "region " + region + " is not served"}
	}
	return c, nil
}

// Create runs one instance of the type from the request's AMI; the SSH key
// is installed by cloud-init user data. Spot runs a one-time spot request.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	c, err := a.client(req.Offer.Region)
	if err != nil {
		return providers.Instance{}, err
	}
	if req.Image == "" {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "run instances", Kind: providers.KindInvalid, Message: "an AMI id is required"}
	}
	in := &ec2.RunInstancesInput{ImageId: aws.String(req.Image), InstanceType: ec2types.InstanceType(req.Offer.SKU),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(req.Name)}}}}}
	if req.SSHPublicKey != "" {
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte("#cloud-config\nssh_authorized_keys:\n  - " + req.SSHPublicKey + "\n")))
	}
	price := req.Offer.PriceHour
	if req.Spot {
		in.InstanceMarketOptions = &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot}
		price = req.Offer.SpotPriceHour
	}
	res, err := c.RunInstances(ctx, in)
	if err != nil {
		return providers.Instance{}, mapErr("run instances", err)
	}
	if len(res.Instances) == 0 {
		return providers.Instance{}, providers.BadResponse(ID, "run instances", "no instance in answer")
	}
	inst := normal(req.Offer.Region, res.Instances[0])
	inst.PriceHour = price
	return inst, nil
}

func normal(region string, i ec2types.Instance) providers.Instance {
	in := providers.Instance{ID: region + "/" + aws.ToString(i.InstanceId), Provider: ID, SKU: string(i.InstanceType), Region: region,
		PublicIP: aws.ToString(i.PublicIpAddress), SSHPort: 22, State: providers.StateUnknown}
	if i.LaunchTime != nil {
		in.CreatedAt = *i.LaunchTime
	}
	if i.State != nil {
		switch i.State.Name {
		case ec2types.InstanceStateNamePending:
			in.State = providers.StatePending
		case ec2types.InstanceStateNameRunning:
			in.State = providers.StateRunning
		case ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameShuttingDown:
			in.State = providers.StateStopping
		case ec2types.InstanceStateNameStopped:
			in.State = providers.StateStopped
		case ec2types.InstanceStateNameTerminated:
			in.State = providers.StateTerminated
		}
	}
	return in
}

// on runs fn with the EC2 client of the instance's region and its bare id.
func (a *Adapter) on(id string, fn func(c *ec2.Client, inst string) error) error {
	region, inst, err := split(id)
	if err != nil {
		return err
	}
	c, err := a.client(region)
	if err != nil {
		return err
	}
	return fn(c, inst)
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.on(id, func(c *ec2.Client, inst string) error {
		_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{inst}})
		return wrap("start instances", err)
	})
}

// Stop stops an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.on(id, func(c *ec2.Client, inst string) error {
		_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{inst}})
		return wrap("stop instances", err)
	})
}

// Terminate terminates an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	return a.on(id, func(c *ec2.Client, inst string) error {
		_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{inst}})
		return wrap("terminate instances", err)
	})
}

// wrap maps an SDK error, keeping nil nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return mapErr(op, err)
}

// Instance describes an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out providers.Instance
	err := a.on(id, func(c *ec2.Client, inst string) error {
		res, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{inst}})
		if err != nil {
			return mapErr("describe instances", err)
		}
		for _, r := range res.Reservations {
			for _, i := range r.Instances {
				region, _, _ := strings.Cut(id, "/")
				out = normal(region, i)
				return nil
			}
		}
		return &providers.Error{Provider: ID, Op: "describe instances", Kind: providers.KindNotFound, Message: "no instance " + id}
	})
	return out, err
}
