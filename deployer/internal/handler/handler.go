// Package handler is the deployer Lambda's entry point: it recognises the
// event (a CodePipeline job, or a rollback request invoked directly) and
// drives the deployment's state machine. One concern a file:
//
//   - handler.go: the entry point and its dependencies;
//   - params.go, config.go: the Deploy action's parameters, the deploy
//     targets item and the environment;
//   - job.go: CodePipeline jobs, their verification, continuations and
//     redeliveries;
//   - request.go: rollback requests;
//   - run.go: the deploy and rollback state machine, its deadline and hand-off;
//   - report.go: job results and the rollback-failed metric;
//   - message.go: what a person reads.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/awsapi"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// Deps are the AWS clients the handler uses.
type Deps struct {
	Table      awsapi.Table
	JobResults awsapi.JobResults
	Pipeline   awsapi.Pipeline
	Images     awsapi.Images
	// LambdaFor returns a client acting as roleARN in session, or as the
	// deployer's role when roleARN is empty.
	LambdaFor func(role awsapi.Role, session awsapi.Session) awsapi.Lambda
	// ArtifactsWith returns a client using the job's artifact credentials.
	ArtifactsWith func(accessKeyID, secretAccessKey, sessionToken string) awsapi.Artifacts
	// Metrics receives embedded-metric-format lines (stdout in Lambda, where
	// CloudWatch Logs extracts the metrics).
	Metrics io.Writer
}

// Handler handles the deployer's invocations.
type Handler struct {
	cfg   Config
	deps  Deps
	store *history.Store
	log   *slog.Logger
}

// New returns a Handler.
func New(cfg Config, deps Deps, log *slog.Logger) *Handler {
	if deps.Metrics == nil {
		deps.Metrics = io.Discard
	}
	return &Handler{cfg: cfg, deps: deps, store: history.NewStore(deps.Table, cfg.Table), log: log}
}

// StatusRejected means the event or its parameters were unusable and
// nothing was deployed.
const StatusRejected = "REJECTED"

// Result is the invocation's response: CodePipeline ignores it, a person
// invoking a rollback reads it.
type Result struct {
	DeploymentID      string                 `json:"deploymentId,omitempty"`
	JobID             string                 `json:"jobId,omitempty"`
	Status            string                 `json:"status"`
	Message           string                 `json:"message"`
	ContinuationToken string                 `json:"continuationToken,omitempty"`
	Targets           []history.TargetRecord `json:"targets,omitempty"`
}

// mode says whether the deployment runs for a pipeline job, which hands off
// to a continuation when time runs out, or for a direct request, which
// asks to be invoked again.
type mode int

const (
	pipelineJob mode = iota
	directRequest
	// abandonedDeployment is a pipeline deployment whose action CodePipeline
	// ended without it (timed out, or stopped and abandoned), rolled back by
	// a later deployment: there is no job to report to.
	abandonedDeployment
)

// Handle is the Lambda handler. It returns an error only when the outcome
// could not be reported to CodePipeline (so that Lambda retries the
// invocation, which reports it from the history) or, for a direct rollback
// request, when the rollback failed or must be invoked again.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (result *Result, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			h.log.Error("the deployer panicked; this is a bug", "panic", fmt.Sprint(recovered), "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("the deployer hit an internal error: %v", recovered)
		}
	}()
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil {
		h.log.Error("rejected an event that is not a JSON object", "error", err.Error())
		return nil, fmt.Errorf("the event is not a JSON object: %w", err)
	}
	if job, ok := probe["CodePipeline.job"]; ok {
		return h.handleJobEvent(ctx, job)
	}
	if _, ok := probe["action"]; ok {
		return h.handleRollbackRequest(ctx, payload)
	}
	h.log.Error("rejected an unrecognised event", "keys", keysOf(probe))
	return nil, fmt.Errorf(`unrecognised event: expected a CodePipeline job event {"CodePipeline.job": ...} or a rollback request {"action": %q}`, contract.RollbackAction)
}

func keysOf(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// Misconfigured returns a Lambda handler for a deployer whose configuration
// is unusable: it fails every job with the reason, so the pipeline shows it
// instead of timing out.
func Misconfigured(cause error, jobs awsapi.JobResults, log *slog.Logger) func(context.Context, json.RawMessage) (*Result, error) {
	h := &Handler{deps: Deps{JobResults: jobs}, log: log}
	return func(ctx context.Context, payload json.RawMessage) (*Result, error) {
		var event struct {
			Job struct {
				ID string `json:"id"`
			} `json:"CodePipeline.job"`
		}
		if json.Unmarshal(payload, &event) != nil || event.Job.ID == "" {
			log.Error("the deployer is misconfigured", "error", cause.Error())
			return nil, fmt.Errorf("the deployer is misconfigured: %w", cause)
		}
		message := "Nothing was deployed: the deployer is misconfigured: " + cause.Error()
		log.Error("job rejected: the deployer is misconfigured", "jobId", event.Job.ID, "error", cause.Error())
		if err := h.reportFailure(ctx, event.Job.ID, "", cptypes.FailureTypeConfigurationError, message); err != nil {
			return nil, err
		}
		return &Result{JobID: event.Job.ID, Status: StatusRejected, Message: message}, nil
	}
}

// decodeStrict decodes one JSON value and refuses unknown fields.
func decodeStrict(raw []byte, into any) error {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		return err
	}
	if decoder.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
