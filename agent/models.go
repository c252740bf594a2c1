package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/bedrock"
	"github.com/tmc/langchaingo/llms/ollama"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// Planner names a model behind the agent, as agent.planner spells it.
type Planner string

// The planners. PlannerNone is agent.fallback_planner's "no fallback".
const (
	PlannerBuiltin   Planner = "builtin"
	PlannerOpenAI    Planner = "openai"
	PlannerAnthropic Planner = "anthropic"
	PlannerBedrock   Planner = "bedrock"
	PlannerOllama    Planner = "ollama"
	PlannerNone      Planner = "none"
)

// The parameters ModelFor reads.
const (
	ParamPlanner         = "agent.planner"
	ParamModel           = "agent.model"
	ParamEndpoint        = "agent.endpoint"
	ParamAPIKey          = "agent.api_key"
	ParamFallbackPlanner = "agent.fallback_planner"
	ParamFallbackModel   = "agent.fallback_model"
	ParamModelTimeout    = "agent.model_timeout"
	ParamModelOptions    = "agent.model_options"
	ParamPriceInput      = "agent.price_input_per_mtok_usd"
	ParamPriceOutput     = "agent.price_output_per_mtok_usd"
)

// defaultModels are the models a planner asks when agent.model is empty.
var defaultModels = map[Planner]string{
	PlannerOpenAI:    "gpt-4o-mini",
	PlannerAnthropic: "claude-3-5-sonnet-latest",
	PlannerBedrock:   "anthropic.claude-3-5-sonnet-20240620-v1:0",
	PlannerOllama:    "llama3.1",
}

// needsKey says which planners cannot be asked without agent.api_key.
func (p Planner) needsKey() bool { return p == PlannerOpenAI || p == PlannerAnthropic }

// ModelFor builds the model a task of tenantID in mode m runs with, from
// the parameters the snapshot holds: agent.planner's model (builtin, the
// default, needs nothing), each language model call bounded by
// agent.model_timeout and priced by agent.price_*_per_mtok_usd, and, when
// agent.fallback_planner is set, a Fallback that asks it when the planner
// fails. A planner that needs a key and has none is an error naming
// agent.api_key; no error ever holds the key.
func ModelFor(s *params.Snapshot, tenantID string, m mode.Mode, now func() time.Time) (Model, error) {
	get := func(key string) string { return s.String(tenantID, m, key) }
	opts, err := callOptions(get(ParamModelOptions))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ParamModelOptions, err)
	}
	c := modelConfig{
		endpoint: strings.TrimSpace(get(ParamEndpoint)),
		key:      strings.TrimSpace(get(ParamAPIKey)),
		timeout:  s.Duration(tenantID, m, ParamModelTimeout),
		prices:   Prices{InputPerMTok: s.Money(tenantID, m, ParamPriceInput), OutputPerMTok: s.Money(tenantID, m, ParamPriceOutput)},
		options:  opts,
		now:      now,
	}
	primary := Planner(get(ParamPlanner))
	if primary == "" {
		primary = PlannerBuiltin
	}
	pm, pname, err := c.build(primary, get(ParamModel), true)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ParamPlanner, primary, err)
	}
	fallback := Planner(get(ParamFallbackPlanner))
	if fallback == "" || fallback == PlannerNone {
		return pm, nil
	}
	fm, fname, err := c.build(fallback, get(ParamFallbackModel), fallback == primary)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ParamFallbackPlanner, fallback, err)
	}
	return &Fallback{Primary: pm, Secondary: fm, PrimaryName: pname, SecondaryName: fname}, nil
}

// modelConfig is what every model of a task is built with.
type modelConfig struct {
	endpoint, key string
	timeout       time.Duration
	prices        Prices
	options       []llms.CallOption
	now           func() time.Time
}

// build makes planner's model (its default when name is empty), and says
// which it is. Only the planner agent.planner names shares agent.endpoint
// and agent.api_key: another provider's fallback is never sent them.
func (c modelConfig) build(p Planner, name string, shared bool) (Model, string, error) {
	if p == PlannerBuiltin {
		now := c.now
		if now == nil {
			now = time.Now
		}
		return Builtin{Now: now}, string(p), nil
	}
	if strings.TrimSpace(name) == "" {
		name = defaultModels[p]
	}
	endpoint, key := c.endpoint, c.key
	if !shared {
		endpoint, key = "", ""
	}
	if p.needsKey() && key == "" {
		if !shared {
			return nil, "", fmt.Errorf("it needs an API key, and %s is sent to %s's provider only: choose a fallback that needs none (builtin, ollama, bedrock) or that planner with %s",
				ParamAPIKey, ParamPlanner, ParamFallbackModel)
		}
		return nil, "", fmt.Errorf("the planner needs an API key: set %s", ParamAPIKey)
	}
	var l *LLM
	var err error
	switch p {
	case PlannerOpenAI:
		l, err = NewOpenAI(OpenAIConfig{Model: name, BaseURL: endpoint, Key: key, Timeout: c.timeout, Prices: c.prices})
	case PlannerAnthropic:
		l, err = NewAnthropic(AnthropicConfig{Model: name, BaseURL: endpoint, Key: key, Timeout: c.timeout, Prices: c.prices})
	case PlannerBedrock:
		l, err = NewBedrock(context.Background(), BedrockConfig{Model: name, Endpoint: endpoint, Key: key, Timeout: c.timeout, Prices: c.prices})
		if err != nil {
			err = fmt.Errorf("%w (%s is <access key id>:<secret access key>, or empty for the AWS default credentials)", err, ParamAPIKey)
		}
	case PlannerOllama:
		l, err = NewOllama(OllamaConfig{Model: name, BaseURL: endpoint, Timeout: c.timeout, Prices: c.prices})
	default:
		return nil, "", fmt.Errorf("no such planner")
	}
	if err != nil {
		return nil, "", err
	}
	l.Options = append(l.Options, c.options...)
	return l, string(p) + "/" + name, nil
}

// callOptions reads agent.model_options: a JSON object of temperature and
// max_tokens; other fields are refused, so a misspelt option is not
// silently ignored.
func callOptions(raw string) ([]llms.CallOption, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var o struct {
		Temperature *float64 `json:"temperature"`
		MaxTokens   int      `json:"max_tokens"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("want an object of temperature and max_tokens: %w", err)
	}
	var out []llms.CallOption
	if t := o.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			return nil, fmt.Errorf("temperature must be between 0 and 2, got %g", *t)
		}
		out = append(out, llms.WithTemperature(*t))
	}
	if o.MaxTokens < 0 || o.MaxTokens > 1_000_000 {
		return nil, fmt.Errorf("max_tokens must be between 1 and 1000000, got %d", o.MaxTokens)
	}
	if o.MaxTokens > 0 {
		out = append(out, llms.WithMaxTokens(o.MaxTokens))
	}
	return out, nil
}

// Fallback asks Primary and, when it fails, Secondary: a provider's outage
// or a call that ran out of its time does not end the task. When the
// caller itself gave up (its context is done) nothing more is asked.
type Fallback struct {
	Primary, Secondary Model
	// PrimaryName and SecondaryName say which model is which, as
	// planner/model, in the log and the errors.
	PrimaryName, SecondaryName string
	// Log, when set, records each call the secondary answered, with the
	// primary's error.
	Log *slog.Logger

	primary, secondary atomic.Int64
}

// Next implements Model.
func (f *Fallback) Next(ctx context.Context, p Prompt) (Answer, error) {
	ans, err := f.Primary.Next(ctx, p)
	if err == nil {
		f.primary.Add(1)
		return ans, nil
	}
	if ctx.Err() != nil {
		return Answer{}, fmt.Errorf("%s: %w", f.PrimaryName, err)
	}
	ans, ferr := f.Secondary.Next(ctx, p)
	if ferr != nil {
		return Answer{}, fmt.Errorf("%s failed (%v), and so did its fallback %s: %w", f.PrimaryName, err, f.SecondaryName, ferr)
	}
	f.secondary.Add(1)
	if f.Log != nil {
		f.Log.WarnContext(ctx, "the agent's fallback model answered", "primary", f.PrimaryName, "fallback", f.SecondaryName, "error", err.Error())
	}
	return ans, nil
}

// Answered counts the calls each model answered: the primary's and the
// fallback's.
func (f *Fallback) Answered() (primary, secondary int64) {
	return f.primary.Load(), f.secondary.Load()
}

// AnthropicConfig names a model of Anthropic's Messages API.
type AnthropicConfig struct {
	Model   string
	BaseURL string // empty: Anthropic's own, https://api.anthropic.com/v1
	Key     string
	Client  *http.Client
	Timeout time.Duration
	Prices  Prices
}

// NewAnthropic is an Anthropic model through langchaingo's client: the
// tools are declared natively and its tool_use block is the step.
func NewAnthropic(c AnthropicConfig) (*LLM, error) {
	if c.Key == "" {
		// The client would read the key from its environment variable
		// instead: keys come from the parameters only.
		return nil, errors.New("the Anthropic model needs an API key")
	}
	opts := []anthropic.Option{anthropic.WithModel(c.Model), anthropic.WithToken(c.Key)}
	if c.BaseURL != "" {
		opts = append(opts, anthropic.WithBaseURL(strings.TrimRight(c.BaseURL, "/")))
	}
	if c.Client != nil {
		opts = append(opts, anthropic.WithHTTPClient(c.Client))
	}
	m, err := anthropic.New(opts...)
	if err != nil {
		return nil, redact(fmt.Errorf("the Anthropic model %s: %w", c.Model, err), c.Key)
	}
	return &LLM{Model: m, Timeout: c.Timeout, Prices: c.Prices, secret: c.Key}, nil
}

// BedrockConfig names a model of Amazon Bedrock's runtime.
type BedrockConfig struct {
	// Model is a Bedrock model id (anthropic.claude-…, meta.llama…) or an
	// inference profile.
	Model string
	// Endpoint is the runtime's base URL; empty: the region's. Its host
	// names the region when it is bedrock-runtime.<region>.amazonaws.com.
	Endpoint string
	// Region, when empty: the endpoint's, else the AWS configuration's,
	// else us-east-1.
	Region string
	// Key is <access key id>:<secret access key>; empty: the AWS default
	// credentials (environment, shared files, the instance's role).
	Key string
	// Client, when set, is used as it is (and the fields above that
	// build one are not).
	Client     *bedrockruntime.Client
	HTTPClient *http.Client
	Timeout    time.Duration
	Prices     Prices
}

var bedrockHost = regexp.MustCompile(`^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$`)

// NewBedrock is a Bedrock model through langchaingo's client, which
// declares tools natively to Anthropic's models there; others answer the
// JSON reply.
func NewBedrock(ctx context.Context, c BedrockConfig) (*LLM, error) {
	client := c.Client
	if client == nil {
		var err error
		if client, err = bedrockClient(ctx, c); err != nil {
			return nil, redact(fmt.Errorf("the Bedrock model %s: %w", c.Model, err), c.Key)
		}
	}
	m, err := bedrock.New(bedrock.WithClient(client), bedrock.WithModel(c.Model))
	if err != nil {
		return nil, redact(fmt.Errorf("the Bedrock model %s: %w", c.Model, err), c.Key)
	}
	_, secret, _ := strings.Cut(c.Key, ":")
	return &LLM{Model: m, Timeout: c.Timeout, Prices: c.Prices, secret: secret}, nil
}

func bedrockClient(ctx context.Context, c BedrockConfig) (*bedrockruntime.Client, error) {
	var loads []func(*config.LoadOptions) error
	region := c.Region
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("the endpoint is not an absolute http(s) URL")
		}
		if m := bedrockHost.FindStringSubmatch(u.Hostname()); region == "" && m != nil {
			region = m[1]
		}
	}
	if region != "" {
		loads = append(loads, config.WithRegion(region))
	}
	if c.Key != "" {
		id, secret, ok := strings.Cut(c.Key, ":")
		if !ok || id == "" || secret == "" {
			return nil, errors.New("the key is not <access key id>:<secret access key>")
		}
		loads = append(loads, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(strings.TrimRight(c.Endpoint, "/"))
		}
		if c.HTTPClient != nil {
			o.HTTPClient = c.HTTPClient
		}
	}), nil
}

// OllamaConfig names a model an Ollama server runs.
type OllamaConfig struct {
	Model   string
	BaseURL string // empty: http://127.0.0.1:11434
	Client  *http.Client
	Timeout time.Duration
	Prices  Prices
}

// NewOllama is an Ollama model through langchaingo's client, which sends
// text only: the model is asked for JSON and answers the JSON reply.
func NewOllama(c OllamaConfig) (*LLM, error) {
	opts := []ollama.Option{ollama.WithModel(c.Model)}
	if c.BaseURL != "" {
		// The client gives up the process on a URL it cannot parse:
		// check it first.
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("the Ollama model %s: the server URL is not an absolute http(s) URL", c.Model)
		}
		opts = append(opts, ollama.WithServerURL(strings.TrimRight(c.BaseURL, "/")))
	}
	if c.Client != nil {
		opts = append(opts, ollama.WithHTTPClient(c.Client))
	}
	m, err := ollama.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("the Ollama model %s: %w", c.Model, err)
	}
	return &LLM{Model: m, Timeout: c.Timeout, Prices: c.Prices, TextReplies: true}, nil
}
