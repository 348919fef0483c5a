package handler

import (
	"fmt"
	"time"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// Environment variables of the deployer's own tuning, beside the contract's.
const (
	// EnvDeadlineMargin is how long before the invocation's deadline the
	// deployer stops and hands CodePipeline a continuation token (a Go
	// duration, default 30s). AWS calls end half of it before the deadline,
	// leaving the other half to record the state and report the job.
	EnvDeadlineMargin = contract.EnvDeadlineMargin
	// EnvPollInterval is the pause between two reads of a function's update
	// status (a Go duration, default 2s).
	EnvPollInterval = "DEPLOYER_POLL_INTERVAL"
)

// Config is the deployer's configuration, from its environment.
type Config struct {
	Table          string
	PipelineName   string
	Environment    string
	DeadlineMargin time.Duration
	PollInterval   time.Duration
}

// ConfigFromEnv reads the configuration with getenv (os.Getenv in Lambda).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Table:          getenv(contract.EnvDeploymentTable),
		PipelineName:   getenv(contract.EnvPipelineName),
		Environment:    getenv(contract.EnvEnvironmentSuffix),
		DeadlineMargin: 30 * time.Second,
		PollInterval:   2 * time.Second,
	}
	if cfg.Table == "" {
		return Config{}, fmt.Errorf("%s is not set: the composition function sets it to the deployment-history table's name", contract.EnvDeploymentTable)
	}
	if cfg.PipelineName == "" {
		return Config{}, fmt.Errorf("%s is not set: the composition function sets it to the pipeline's name, which every job is checked against", contract.EnvPipelineName)
	}
	for name, into := range map[string]*time.Duration{EnvDeadlineMargin: &cfg.DeadlineMargin, EnvPollInterval: &cfg.PollInterval} {
		value := getenv(name)
		if value == "" {
			continue
		}
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("%s=%q is not a non-negative Go duration such as 30s", name, value)
		}
		*into = d
	}
	return cfg, nil
}
