package handler

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/internal/history"
)

func resultOf(rec *history.Record, message string) *Result {
	return &Result{DeploymentID: rec.DeploymentID, JobID: rec.JobID, Status: string(rec.Status), Message: message, Targets: rec.Targets}
}

func errorOf(rec *history.Record) error {
	if rec.Status == history.StatusSucceeded {
		return nil
	}
	return errors.New(outcomeMessage(rec))
}

// outcomeMessage tells a developer what happened and what to do.
func outcomeMessage(rec *history.Record) string {
	var b strings.Builder
	what := "Deployment " + rec.DeploymentID
	if rec.Kind == history.KindRollback {
		what = fmt.Sprintf("Rollback %s (restoring deployment %s)", rec.DeploymentID, rec.RestoredDeploymentID)
	}
	switch rec.Status {
	case history.StatusSucceeded:
		fmt.Fprintf(&b, "%s succeeded: ", what)
		for i, target := range rec.Targets {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s runs %s as version %s", target.FunctionName, target.NewImage, target.NewVersion)
			if target.Alias != "" {
				fmt.Fprintf(&b, " (alias %s)", target.Alias)
			}
		}
		b.WriteString(".")
		if rec.ImageTagError != "" {
			fmt.Fprintf(&b, " Warning: the image did not get its deployed tag (%s); the repository's lifecycle policy may expire it, and a rollback to it would then fail. Tag it by hand.", rec.ImageTagError)
		}
		return b.String()
	case history.StatusInProgress:
		return what + " is in progress."
	}
	fmt.Fprintf(&b, "%s of %s failed: %s.", what, rec.ImageURI, rec.Error)
	var restored, broken, untouched []string
	for _, target := range rec.Targets {
		switch target.Phase {
		case history.PhaseRolledBack:
			restored = append(restored, fmt.Sprintf("%s to %s", target.FunctionName, target.PreviousImage))
		case history.PhaseRollbackFailed:
			broken = append(broken, fmt.Sprintf("%s (%s)", target.FunctionName, target.Error))
		default:
			untouched = append(untouched, target.FunctionName)
		}
	}
	if len(restored) > 0 {
		fmt.Fprintf(&b, " Rolled back %s.", strings.Join(restored, ", "))
	}
	if len(broken) > 0 {
		fmt.Fprintf(&b, " ROLLBACK FAILED for %s: restore these functions by hand (their previous images are in the history table).", strings.Join(broken, "; "))
	}
	if len(untouched) > 0 {
		fmt.Fprintf(&b, " Not changed: %s.", strings.Join(untouched, ", "))
	}
	if hint := hintFor(rec.Error); hint != "" {
		b.WriteString(" " + hint)
	}
	return b.String()
}

// hintFor suggests the usual fix for well-known causes.
func hintFor(cause string) string {
	switch {
	case strings.Contains(cause, "ImageNotFound") || strings.Contains(cause, "image does not exist"):
		return "Check that the image exists in the ECR repository of the target's account and region; a cross-account target needs the image replicated or a repository policy that lets its account pull it."
	case strings.Contains(cause, "AccessDenied"):
		return "Check the deployer role's policy and, for a cross-account target, that its role trusts the deployer role."
	case strings.Contains(cause, "ResourceConflict"):
		return "Another update of the function was in progress; retry the Deploy stage."
	case strings.Contains(cause, "ResourceNotFound"):
		return "Check the target's function name (and the account of its role)."
	case strings.Contains(cause, "another deployment is changing the function"):
		return "Wait for that deployment to finish, then retry the Deploy stage."
	}
	return ""
}

// truncate shortens s to at most limit bytes without splitting a rune.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "..."
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
