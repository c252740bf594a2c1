package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/go-chi/chi/v5"
	"github.com/mark3labs/mcp-go/server"
	"github.com/redis/go-redis/v9"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/mcpclient"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/slack"
	"github.com/gpubroker/pod/ssmparams"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
	"github.com/gpubroker/pod/web"
)

// App is the running platform.
type App struct {
	cfg     Config
	log     *slog.Logger
	Store   *store.Store
	Sealer  secrets.Sealer
	Params  *params.Service
	Tenants *tenant.Service
	Audit   *audit.Writer
	Tools   *tools.Registry
	MCP     *server.MCPServer
	// Identity signs in users and authenticates bearer credentials for the
	// REST and MCP faces.
	Identity *auth.Service
	// Market serves offers: simulated providers for SANDBOX tenants, each
	// LIVE tenant's own adapters for LIVE.
	Market *market.Market
	// Pods runs the pod operations.
	Pods *pods.Service
	// Mail asks for mail in a change's transaction; the delivery worker
	// sends it.
	Mail *mail.Service
	// Billing sets up payments and subscriptions through the processor
	// serving each tenant (Stripe, or the mock one in SANDBOX).
	Billing *billing.Service
	// Decisions records the agent's decisions; Agents runs the agent of
	// each tenant on this instance.
	Decisions *decision.Service
	Agents    *agent.Runtime
	// External reaches the outside MCP servers each tenant names
	// (agent.mcp_servers) for call_external_tool and the agent.
	External *mcpclient.Servers
	// Web serves the pages.
	Web *web.Pages
	// KeyCreated is true when this start created the local key file.
	KeyCreated bool
	// redis holds the shared rate counter's connections (nil without
	// GPUBROKER_REDIS_URL).
	redis *redis.Client
	// stream relays the outbox to Kafka; provisioner consumes deploys,
	// mailer mail requests.
	stream      *stream
	provisioner *provisioner
	idle        *job
	settler     *job
	invoicer    *job
	dunning     *job
	podMachines pods.Machines
	mailer      *mailer
	billing     *billingWorker
	// slackFace posts decisions to Slack and takes its buttons; slack is
	// the worker that posts them from the agent topic.
	slackFace *slack.Face
	slack     *slackWorker
	// realtime is the WebSocket hub at /ws and what feeds it.
	realtime *realtimeFace
	// Notify tells the tenants' admins what the agent does and says;
	// notifier delivers it.
	Notify   *notify.Notifier
	notifier *notifyWorker
}

// Catalog joins every package's declared parameters. platform.base_url
// defaults to the address the platform listens on (addr), so the links it
// mails work until a public URL is set.
func Catalog(addr string) (*params.Catalog, error) {
	platform := params.Platform()
	for i := range platform {
		if platform[i].Key == "platform.base_url" {
			platform[i].Default = baseURLOf(addr)
		}
	}
	return params.NewCatalog(platform, providers.CredentialParams(), market.Params(), mail.Params(), billing.Params(), decision.Params(), notify.Params())
}

// baseURLOf is the http URL of a listen address, on loopback when it
// listens on every interface.
func baseURLOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "http://127.0.0.1:8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// New opens the database (migrating it), the master key and the parameter
// system, and builds the domain services. It does not listen.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg.withDefaults(), log: log}
	if err := a.build(ctx); err != nil {
		// Release whatever was built before the failure.
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

// build constructs every component in order; Close releases those built.
func (a *App) build(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	cat, err := Catalog(a.cfg.Addr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Logger: log})
	if err != nil {
		return err
	}
	a.Store = st
	var opts []params.Option
	if cfg.AWS {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.AWSRegion))
		if err != nil {
			return fmt.Errorf("aws config: %w", err)
		}
		endpoint := func(string) *string {
			if cfg.AWSEndpoint == "" {
				return nil
			}
			return aws.String(cfg.AWSEndpoint)
		}
		ssmc := ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.BaseEndpoint = endpoint("ssm") })
		smc := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint("secretsmanager") })
		opts = append(opts, params.WithValueStore(ssmparams.New(ssmc, smc, cfg.ParamPrefix)))
		if cfg.KMSKeyID == "" {
			return errors.New("GPUBROKER_AWS is on but GPUBROKER_KMS_KEY_ID is empty: name the KMS key that wraps data keys")
		}
		kmsc := kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = endpoint("kms") })
		a.Sealer = secrets.NewEnvelope(secrets.NewKMSKey(kmsc, cfg.KMSKeyID))
	} else {
		key, created, err := secrets.LoadOrCreateKeyFile(cfg.KeyFile)
		if err != nil {
			return err
		}
		a.KeyCreated = created
		a.Sealer = secrets.NewEnvelope(key)
	}
	a.Params = params.NewService(cat, st, a.Sealer, append(opts, params.WithLogger(log))...)
	if err := a.Params.Reload(ctx); err != nil {
		return fmt.Errorf("load parameters: %w", err)
	}
	a.Tenants = tenant.NewService(st, tenant.NewLiveCheck(a.Params))
	if err := a.Tenants.Reload(ctx); err != nil {
		return fmt.Errorf("load tenants: %w", err)
	}
	// Mail comes first: identity queues verification mail through it.
	a.Mail = mail.NewService(st, mail.Options{Now: time.Now, Log: log, Platform: platformName(a.Params, a.Tenants),
		Route: newMailSenders(cfg, a.Params, a.Tenants, mail.NewMailbox(st, time.Now)).route})
	a.Identity = auth.NewService(st, a.Sealer, st, identityOptions(a.Params, a))
	a.Audit = audit.NewWriter(st, 4096, log)
	var rate tools.RateCounter
	if a.redis, rate, err = openRateCounter(ctx, cfg, log); err != nil {
		return err
	}
	a.Tools = tools.NewRegistry(tools.Deps{Tenants: a.Tenants, Limits: tools.ParamLimits{Params: a.Params},
		Budget: st, Audit: a.Audit, Approvals: st, Log: log, Rate: rate})
	tools.RegisterCore(a.Tools, tools.Services{Tenants: a.Tenants, Params: a.Params, Audit: st, Identity: a.Identity, Flush: a.Audit.Flush})
	if a.Market, err = newMarket(a); err != nil {
		return err
	}
	var weights market.WeightsMemo
	offers := tools.OfferServices{Markets: a.Market, Prices: st,
		Weights: func(tenantID string, m mode.Mode) market.Weights {
			return weights.From(a.Params.Snapshot(), tenantID, m)
		}}
	tools.RegisterOffers(a.Tools, offers)
	// Billing comes before pods: a user's plan sets the markup on their
	// pods, the GPUs they may deploy and how many run at once.
	a.Billing = billing.NewService(st, a.Identity, a.Params, billing.NewBackends(a.Params, billing.NewMock(st, time.Now), nil, log),
		billing.Options{Now: time.Now, Log: log, Mail: a.Mail, Tenants: a.Tenants, Events: st,
			StopPods: func(ctx context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error) {
				return stopPodsOf(a.Pods, a.podMachines, log)(ctx, t, userID, by)
			}})
	a.Pods = pods.NewService(st, time.Now)
	a.Pods.HoldFunds(st)
	a.Pods.LimitPods(tools.PlanLimit(a.Tenants, a.Billing))
	podServices := tools.PodServices{Offers: offers, Pods: a.Pods, Plans: a.Billing, Storage: tools.PodStorage(a.Params), Deploy: tools.PodDeploy(a.Params)}
	tools.RegisterPods(a.Tools, podServices)
	tools.RegisterMail(a.Tools, tools.MailServices{Mail: a.Mail, Users: st})
	tools.RegisterBilling(a.Tools, tools.BillingServices{Billing: a.Billing})
	tools.RegisterUsage(a.Tools, tools.UsageServices{Usages: st, Ledger: st})
	a.Pods.Notify(newPodMail(a.Mail, a.Identity, a.Params, log), tenantDuration(a.Params, a.Tenants, "pods.activation_ttl"))
	a.Decisions = decision.NewService(st, time.Now)
	a.External = newExternal(a.Tools, a.Params, a.Tenants, cfg.Version, log)
	a.Agents = newAgents(a.Tools, a.Decisions, a.Params, a.Tenants, st, a.External, log)
	tools.RegisterAgent(a.Tools, tools.AgentServices{Decisions: a.Decisions, Agents: a.Agents, Params: a.Params, Budget: st, Deliveries: st})
	tools.RegisterSlack(a.Tools, tools.SlackServices{Users: st})
	tools.RegisterFleet(a.Tools, tools.FleetServices{Fleet: st})
	tools.RegisterSystem(a.Tools, tools.SystemServices{System: st, Params: a.Params})
	a.Notify = newNotifier(a)
	tools.RegisterNotify(a.Tools, tools.NotifyServices{Notifier: a.Notify})
	a.MCP = mcp.NewServer(a.Tools, cfg.Version, log)
	if a.Web, err = web.New(web.Deps{Tools: a.Tools, VisitorTenant: tenant.DefaultID, Identity: a.Identity, Sessions: st,
		Sealer: a.Sealer, Log: log, Now: time.Now, AdminMFA: tools.ParamLimits{Params: a.Params}.MFARequired,
		AgentStream: api.Stream(agentStream{hub: a.Agents.Stream}, log)}); err != nil {
		return err
	}
	if a.stream, err = openStream(cfg, st, a.Params, log); err != nil {
		return err
	}
	a.Pods.OnCommit(a.stream.relay.Nudge)
	a.Mail.OnCommit(a.stream.relay.Nudge)
	a.Billing.OnCommit(a.stream.relay.Nudge)
	a.Decisions.OnCommit(a.stream.relay.Nudge)
	machines := podServices.Machines(a.Tenants)
	a.podMachines = machines
	if a.provisioner, err = startProvisioner(a.stream.opts, a.Pods, machines, a.Params, log); err != nil {
		return fmt.Errorf("start the provisioning worker: %w", err)
	}
	a.idle = startIdleStopper(a.Pods, machines, tenantDuration(a.Params, a.Tenants, "pods.idle_stop_after"), log)
	a.settler = startSettler(st, time.Now, a.Billing.LowBalance, log)
	a.invoicer = startInvoicer(a.Billing, time.Now, log)
	a.dunning = startDunning(a.Billing, log)
	if a.mailer, err = startMailer(a.stream.opts, a.Mail, a.Params, log); err != nil {
		return fmt.Errorf("start the mail delivery worker: %w", err)
	}
	if a.billing, err = startBillingWorker(a.stream.opts, a.Billing, st, a.Params, log); err != nil {
		return fmt.Errorf("start the billing worker: %w", err)
	}
	// The Slack face comes before the notifier's worker, which posts
	// notices through it.
	a.slackFace = newSlackFace(a.Tools, st, a.Params, a.Tenants, cfg.SlackAPIURL, log)
	if a.notifier, err = startNotifier(a.stream.opts, a.Notify, a.Params, log); err != nil {
		return fmt.Errorf("start the notification worker: %w", err)
	}
	if a.slack, err = startSlackWorker(a.stream.opts, a.slackFace, a.Params, log); err != nil {
		return fmt.Errorf("start the Slack worker: %w", err)
	}
	if a.realtime, err = startRealtime(a); err != nil {
		return fmt.Errorf("start the realtime face: %w", err)
	}
	return nil
}

// Close stops the workers and the event relay, writes queued audit
// records and releases Redis and the database.
func (a *App) Close() error {
	if a.Agents != nil {
		a.Agents.Close()
	}
	if a.External != nil {
		a.External.Close()
	}
	for _, j := range []*job{a.idle, a.settler, a.invoicer, a.dunning} {
		if j != nil {
			j.Close()
		}
	}
	if a.provisioner != nil {
		a.provisioner.Close()
	}
	if a.mailer != nil {
		a.mailer.Close()
	}
	if a.billing != nil {
		a.billing.Close()
	}
	if a.realtime != nil {
		a.realtime.Close()
	}
	if a.slack != nil {
		a.slack.Close()
	}
	if a.notifier != nil {
		a.notifier.Close()
	}
	if a.stream != nil {
		a.stream.Close()
	}
	if a.Market != nil {
		a.Market.Close()
	}
	if a.Billing != nil {
		a.Billing.Close()
	}
	if a.Identity != nil {
		a.Identity.Close()
	}
	if a.Audit != nil {
		a.Audit.Close()
	}
	a.closeRedis()
	if a.Store == nil {
		return nil
	}
	return a.Store.Close()
}

func (a *App) closeRedis() {
	if a.redis == nil {
		return
	}
	if err := a.redis.Close(); err != nil {
		a.log.Warn("close Redis", "err", err)
	}
}

// Handler is the platform's HTTP handler: health, the REST face under
// /api/v1, sign-in with Google and GitHub under /auth/oauth, Stripe's
// webhooks under /webhooks/stripe, the MCP face at /mcp, Slack's
// interactions under /slack/interactions and the web pages.
func (a *App) Handler() http.Handler {
	return api.NewRouter(api.Deps{Log: a.log, Health: a.Store, Tools: a.Tools, Auth: a.Identity, Sessions: a.Identity, OAuth: a.Identity,
		OAuthPages: a.Web, Webhooks: a.Billing, AgentStream: agentStream{hub: a.Agents.Stream},
		Version: a.cfg.Version,
		Mount: func(r chi.Router) {
			r.With(api.Authenticate(a.Identity, a.log)).Handle("/mcp", mcp.HTTPHandler(a.MCP))
			a.Web.Mount(r)
			r.Handle("/ws", a.realtime.Hub)
			interactions := slackInteractions(a.slackFace)
			r.Method(http.MethodPost, "/slack/interactions", interactions)
			r.Method(http.MethodPost, "/slack/interactions/{tenant}", interactions)
		}})
}

// watch keeps this instance's parameters, tenants and cached API tokens
// current with changes other instances make, until ctx ends.
func (a *App) watch(ctx context.Context) error {
	return a.Store.WatchParams(ctx, func() {
		if err := a.Params.Reload(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("reload parameters", "err", err)
		}
		if err := a.Tenants.Reload(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("reload tenants", "err", err)
		}
		a.Identity.ForgetTokens()
		set := market.SettingsFrom(a.Params.Snapshot())
		a.Market.Each(func(ag *market.Aggregator) { ag.SetSettings(set) })
		// A tenant whose LIVE credentials changed gets a new aggregator on
		// next use, one back in SANDBOX loses its own; the others keep
		// their breakers and cached offers.
		a.Market.Resync(ctx)
	})
}

// keepPricesFresh refreshes every aggregator in use once its snapshot is
// stale, so price history grows even while nobody browses.
func (a *App) keepPricesFresh(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		a.Market.Each(func(ag *market.Aggregator) { ag.Snapshot(ctx) })
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve listens on ln until ctx ends, then shuts down gracefully: the
// listener closes, in-flight requests get up to drain to finish, background
// work stops, and the caller closes the database.
func (a *App) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.watch(bg); err != nil {
			a.log.Error("change watcher stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.keepPricesFresh(bg)
	}()
	defer func() { stopBG(); wg.Wait() }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
