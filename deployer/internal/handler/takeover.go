package handler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

// takeOverAbandoned rolls back the pipeline deployment holderID when
// CodePipeline no longer has its Deploy action in progress: CodePipeline
// times the action out after 20 minutes without a reply ("Quotas in AWS
// CodePipeline") and abandons it when the execution is stopped ("Stop a
// pipeline execution in CodePipeline"), and then never invokes the
// deployer for it again. finished says the holder is done (rolled back now,
// finished before, or nothing to undo) and its leases are free; false means
// its rollback ran out of time and continues in the caller's next
// invocation. An error means it could not be told, and the holder is left
// alone.
func (h *Handler) takeOverAbandoned(ctx context.Context, holderID string) (finished bool, err error) {
	work, cancel := h.workContext(ctx)
	defer cancel()
	existing, err := h.store.Lookup(work, holderID)
	if err != nil {
		return false, err
	}
	if existing == nil || existing.Record == nil {
		return false, fmt.Errorf("deployment %s has no record", holderID)
	}
	holder := existing.Record
	if holder.Status.Terminal() {
		// Finished without releasing its leases (the release failed).
		return true, h.store.ReleaseTargets(work, holder.DeploymentID, holder.Targets)
	}
	if holder.Kind != history.KindPipeline {
		return false, fmt.Errorf("deployment %s is a %s, which a person continues", holder.DeploymentID, holder.Kind)
	}
	if time.Now().UnixMilli() < holder.LeaseExpiresAt {
		return false, fmt.Errorf("an invocation is working on deployment %s", holder.DeploymentID)
	}
	actions, err := h.deployActionsInProgress(work, holder.PipelineExecutionID)
	if err != nil && !errors.Is(err, errNotConfirmed) {
		return false, err
	}
	if len(actions) > 0 {
		return false, fmt.Errorf("the Deploy action of deployment %s is still in progress", holder.DeploymentID)
	}
	holder.LeaseExpiresAt = leaseUntil(ctx)
	if err := h.store.Save(work, holder); err != nil {
		return false, fmt.Errorf("taking over deployment %s: %w", holder.DeploymentID, err)
	}
	h.logFor(holder).Warn("CodePipeline ended this deployment's action before it finished (timed out, or stopped and abandoned): rolling it back")
	h.startRollback(holder, errors.New("CodePipeline ended the Deploy action before the deployment finished (it timed out, or the execution was stopped and the action abandoned)"))
	if _, err := h.run(ctx, holder, abandonedDeployment); err != nil {
		return false, err
	}
	return holder.Status.Terminal(), nil
}
