// Package app wires the platform together: it reads the bootstrap settings,
// builds every component by explicit injection in one constructor, seeds a
// fresh installation and runs the server until its context ends. Nothing
// else constructs components; no package keeps global state.
package app

import (
	"flag"
	"path/filepath"
	"strings"
)

// Config holds the bootstrap settings, the only settings that are not
// parameters: what is needed to reach the parameters in the first place.
type Config struct {
	Addr        string // GPUBROKER_ADDR
	DataDir     string // GPUBROKER_DATA
	DatabaseURL string // GPUBROKER_DATABASE_URL
	KeyFile     string // GPUBROKER_KEY_FILE
	// AWS keeps parameters in SSM Parameter Store and Secrets Manager and
	// the master key in KMS (GPUBROKER_AWS=1).
	AWS         bool
	AWSEndpoint string // GPUBROKER_AWS_ENDPOINT: one endpoint for every AWS service (tests, local fakes)
	AWSRegion   string // AWS_REGION
	KMSKeyID    string // GPUBROKER_KMS_KEY_ID
	ParamPrefix string // GPUBROKER_PARAM_PREFIX, default /gpubroker
	LogLevel    string // GPUBROKER_LOG_LEVEL: debug, info, warn, error
	// RedisURL (GPUBROKER_REDIS_URL, redis://…) makes instances share
	// their rate limits through Redis; empty counts calls in process.
	RedisURL    string
	RedisPrefix string // GPUBROKER_REDIS_PREFIX, default gpubroker:
	// SlackAPIURL (GPUBROKER_SLACK_API_URL) is the base of Slack's Web API
	// the agent's decisions are posted through; empty is Slack's own.
	SlackAPIURL string
	// KafkaBrokers (GPUBROKER_KAFKA_BROKERS, host:port,…) names the Kafka
	// cluster the event stream uses; empty starts an in-process broker.
	KafkaBrokers string
	// KafkaSASL (GPUBROKER_KAFKA_SASL) is how the client signs in to the
	// cluster: empty for none, scram-sha-256 or scram-sha-512 with
	// KafkaUser and KafkaPassword (GPUBROKER_KAFKA_USER,
	// GPUBROKER_KAFKA_PASSWORD), or aws-msk-iam with the AWS credentials
	// of the environment. KafkaTLS (GPUBROKER_KAFKA_TLS) dials with TLS,
	// which aws-msk-iam implies.
	KafkaSASL     string
	KafkaUser     string
	KafkaPassword string
	KafkaTLS      bool
	// Version is the build version (set by the command, not the user).
	Version string
}

// ConfigFromEnv reads the bootstrap settings from the environment, with the
// embedded defaults of `make run`.
func ConfigFromEnv(getenv func(string) string) Config {
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:          get("GPUBROKER_ADDR", "127.0.0.1:8080"),
		DataDir:       get("GPUBROKER_DATA", "data"),
		DatabaseURL:   getenv("GPUBROKER_DATABASE_URL"),
		KeyFile:       getenv("GPUBROKER_KEY_FILE"),
		AWS:           isTrue(getenv("GPUBROKER_AWS")),
		AWSEndpoint:   getenv("GPUBROKER_AWS_ENDPOINT"),
		AWSRegion:     get("AWS_REGION", "us-east-1"),
		KMSKeyID:      getenv("GPUBROKER_KMS_KEY_ID"),
		ParamPrefix:   get("GPUBROKER_PARAM_PREFIX", "/gpubroker"),
		LogLevel:      get("GPUBROKER_LOG_LEVEL", "info"),
		RedisURL:      getenv("GPUBROKER_REDIS_URL"),
		RedisPrefix:   get("GPUBROKER_REDIS_PREFIX", "gpubroker:"),
		KafkaBrokers:  getenv("GPUBROKER_KAFKA_BROKERS"),
		SlackAPIURL:   getenv("GPUBROKER_SLACK_API_URL"),
		KafkaSASL:     strings.ToLower(strings.TrimSpace(getenv("GPUBROKER_KAFKA_SASL"))),
		KafkaUser:     getenv("GPUBROKER_KAFKA_USER"),
		KafkaPassword: getenv("GPUBROKER_KAFKA_PASSWORD"),
		KafkaTLS:      isTrue(getenv("GPUBROKER_KAFKA_TLS")),
	}
	return c
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Flags registers command-line flags that override the environment.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (GPUBROKER_ADDR)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory for the SQLite file and key file (GPUBROKER_DATA)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://… or sqlite://path; default SQLite under the data directory (GPUBROKER_DATABASE_URL)")
	fs.StringVar(&c.KeyFile, "key-file", c.KeyFile, "master key file for secrets; default <data>/master.key (GPUBROKER_KEY_FILE)")
	fs.BoolVar(&c.AWS, "aws", c.AWS, "keep parameters in SSM/Secrets Manager and the master key in KMS (GPUBROKER_AWS)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (GPUBROKER_LOG_LEVEL)")
	fs.StringVar(&c.KafkaBrokers, "kafka-brokers", c.KafkaBrokers, "host:port,… of the Kafka cluster for the event stream; empty runs an in-process broker (GPUBROKER_KAFKA_BROKERS)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "redis://… to share rate limits across instances; empty counts them in process (GPUBROKER_REDIS_URL)")
}

// withDefaults fills the settings derived from the data directory.
func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "gpubroker.db")
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if c.ParamPrefix == "" {
		c.ParamPrefix = "/gpubroker"
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "gpubroker:"
	}
	return c
}
