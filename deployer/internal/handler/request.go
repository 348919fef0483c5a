package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

func (h *Handler) handleRollbackRequest(ctx context.Context, payload json.RawMessage) (*Result, error) {
	var req contract.RollbackRequest
	if err := decodeStrict(payload, &req); err != nil {
		h.log.Error("rejected a malformed rollback request", "error", err.Error())
		return nil, fmt.Errorf("the rollback request is malformed (fields: action, requestId, deploymentId, reason): %w", err)
	}
	if req.Action != contract.RollbackAction {
		h.log.Error("rejected a request with an unknown action", "action", req.Action)
		return nil, fmt.Errorf("unknown action %q: the deployer accepts %q", req.Action, contract.RollbackAction)
	}
	requestID := req.RequestID
	if requestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
	}
	if requestID == "" {
		return nil, errors.New("the rollback request has no requestId and the invocation no Lambda request ID")
	}
	deploymentID := "rollback-" + requestID
	work, cancel := h.workContext(ctx)
	defer cancel()
	existing, err := h.store.Lookup(work, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("reading the history of rollback request %s: %w", requestID, err)
	}
	if existing != nil {
		return h.repeatedRequest(ctx, requestID, existing)
	}

	var source *history.Record
	if req.DeploymentID != "" {
		source, err = h.store.LatestRecord(work, req.DeploymentID)
		if err == nil && source.Status != history.StatusSucceeded {
			err = fmt.Errorf("deployment %s is %s; only a SUCCEEDED deployment can be restored", source.DeploymentID, source.Status)
		}
	} else {
		source, err = h.store.RestoreCandidate(work)
	}
	if err != nil {
		h.log.Error("rollback request refused", "error", err.Error())
		return nil, fmt.Errorf("nothing was rolled back: %w", err)
	}

	rec := h.newRecord(ctx, deploymentID, history.KindRollback)
	rec.RestoredDeploymentID = source.DeploymentID
	rec.Reason = req.Reason
	rec.ImageURI, rec.ImageDigest, rec.Commit = source.ImageURI, source.ImageDigest, source.Commit
	for _, target := range source.Targets {
		rec.Targets = append(rec.Targets, history.TargetRecord{
			FunctionName: target.FunctionName, RoleARN: target.RoleARN, ExternalID: target.ExternalID, Alias: target.Alias,
			Phase: history.PhasePending, NewImage: target.NewImage,
		})
	}
	if err := h.checkAliases(work, rec); err != nil {
		h.log.Error("rollback request refused", "error", err.Error())
		return nil, fmt.Errorf("nothing was rolled back: %w", err)
	}
	reserved, err := h.store.Reserve(work, rec)
	if err != nil {
		return nil, fmt.Errorf("nothing was rolled back: recording the rollback: %w", err)
	}
	if reserved != nil {
		return h.repeatedRequest(ctx, requestID, reserved)
	}
	h.logFor(rec).Info("rollback started", "restoring", source.DeploymentID, "targets", len(rec.Targets))
	return h.start(ctx, rec, directRequest)
}

// repeatedRequest answers a rollback request whose ID was seen before: with
// its outcome, or by continuing it when the invocation that ran it ran out
// of time or died.
func (h *Handler) repeatedRequest(ctx context.Context, requestID string, existing *history.Existing) (*Result, error) {
	rec := existing.Record
	switch {
	case rec == nil || time.Now().UnixMilli() < rec.LeaseExpiresAt:
		return nil, fmt.Errorf("rollback request %s is already running", requestID)
	case rec.Status.Terminal():
		return resultOf(rec, outcomeMessage(rec)), errorOf(rec)
	}
	rec.LeaseExpiresAt = leaseUntil(ctx)
	work, cancel := h.workContext(ctx)
	defer cancel()
	if err := h.store.Save(work, rec); err != nil {
		if errors.Is(err, history.ErrConflict) {
			return nil, fmt.Errorf("rollback request %s is already running", requestID)
		}
		return nil, fmt.Errorf("continuing rollback request %s: %w", requestID, err)
	}
	h.logFor(rec).Info("rollback request continued")
	return h.run(ctx, rec, directRequest)
}
