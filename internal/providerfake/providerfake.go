// Package providerfake plays provider-aws for tests and example fixtures: it
// turns a desired managed resource into what the provider would report once
// it has created it - Ready and Synced conditions and status.atProvider with
// the ARNs, IDs and URLs the real provider fills in, in a fixed account.
//
// It is test support, not product code: the function never imports it.
package providerfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Account is the AWS account the fake provider creates resources in.
const Account = "123456789012"

// AnnotationCompositionResourceName is how Crossplane (and render) matches an
// observed resource to the function's desired one.
const AnnotationCompositionResourceName = "crossplane.io/composition-resource-name"

// Observe returns the observed form of desired, composed under name for the
// XR named xr: desired plus a generated metadata.name, the composition
// resource name annotation, and a status with Ready and Synced True and the
// provider's atProvider fields. desired is not modified.
func Observe(xr, name string, desired *unstructured.Unstructured) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(desired.Object)}
	u.SetName(xr + "-" + stableHex(xr+"/"+name, 5))
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationCompositionResourceName] = name
	u.SetAnnotations(a)

	at := AtProvider(u)
	u.Object["status"] = map[string]any{
		"atProvider": at,
		"conditions": []any{
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2026-01-01T00:00:00Z"},
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-01-01T00:00:00Z"},
		},
	}
	// The provider records the external name it created the resource with.
	if en := externalName(u); en != "" {
		a[annotationExternalName] = en
		u.SetAnnotations(a)
	}
	return u
}

// SetCondition replaces the named condition of an observed resource, e.g.
// to make it Synced=False with the provider's error message.
func SetCondition(u *unstructured.Unstructured, typ, status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	out := make([]any, 0, len(conds)+1)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			continue
		}
		out = append(out, c)
	}
	c := map[string]any{"type": typ, "status": status, "reason": reason, "lastTransitionTime": "2026-01-01T00:00:00Z"}
	if message != "" {
		c["message"] = message
	}
	out = append(out, c)
	_ = unstructured.SetNestedSlice(u.Object, out, "status", "conditions")
}

const annotationExternalName = "crossplane.io/external-name"

// externalName is the resource's AWS name: the external-name annotation, or
// spec.forProvider.name for kinds named by a parameter, or metadata.name.
func externalName(u *unstructured.Unstructured) string {
	if en := u.GetAnnotations()[annotationExternalName]; en != "" {
		return en
	}
	if n, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "name"); n != "" {
		return n
	}
	return u.GetName()
}

// AtProvider returns the status.atProvider the provider reports for u: its
// forProvider fields plus the identifiers AWS assigns.
func AtProvider(u *unstructured.Unstructured) map[string]any {
	fp, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
	at := map[string]any{}
	for k, v := range fp {
		// References and selectors are Crossplane's, not AWS's.
		if strings.HasSuffix(k, "Selector") || strings.HasSuffix(k, "Ref") || strings.HasSuffix(k, "Refs") {
			continue
		}
		at[k] = v
	}
	region, _ := fp["region"].(string)
	name := externalName(u)
	group, _, _ := strings.Cut(u.GetAPIVersion(), ".")
	arn := func(service, res string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, Account, res)
	}
	switch group + "/" + u.GetKind() {
	case "ecr/Repository":
		at["id"] = name
		at["arn"] = arn("ecr", "repository/"+name)
		at["registryId"] = Account
		at["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", Account, region, name)
	case "ecr/LifecyclePolicy":
		at["id"] = name
		at["registryId"] = Account
	case "s3/Bucket":
		at["id"] = name
		at["arn"] = "arn:aws:s3:::" + name
		at["bucketRegionalDomainName"] = fmt.Sprintf("%s.s3.%s.amazonaws.com", name, region)
	case "codebuild/Project":
		at["arn"] = arn("codebuild", "project/"+name)
		at["id"] = at["arn"]
	case "codepipeline/Codepipeline":
		at["id"] = name
		at["arn"] = arn("codepipeline", name)
	case "codestarconnections/Connection":
		at["arn"] = arn("codestar-connections", "connection/"+stableUUID(name))
		at["id"] = at["arn"]
		at["connectionStatus"] = "AVAILABLE"
	case "lambda/Function":
		at["id"] = name
		fnARN := arn("lambda", "function:"+name)
		at["arn"] = fnARN
		at["qualifiedArn"] = fnARN + ":$LATEST"
		at["invokeArn"] = fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, fnARN)
		at["version"] = "$LATEST"
	case "dynamodb/Table":
		at["id"] = name
		at["arn"] = arn("dynamodb", "table/"+name)
	case "sns/Topic":
		at["arn"] = arn("sns", name)
		at["id"] = at["arn"]
	case "sns/TopicSubscription":
		topic, _ := fp["topicArn"].(string)
		at["arn"] = fmt.Sprintf("%s:%s", topic, stableUUID(u.GetName()))
		at["id"] = at["arn"]
	case "cloudwatch/MetricAlarm":
		at["id"] = name
		at["arn"] = arn("cloudwatch", "alarm:"+name)
	case "cloudwatchevents/Rule":
		at["id"] = name
		at["arn"] = arn("events", "rule/"+name)
	case "iam/Role":
		at["id"] = name
		at["arn"] = fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, name)
		at["uniqueId"] = "AROA" + strings.ToUpper(stableHex(name, 17))
	case "iam/Policy":
		at["arn"] = fmt.Sprintf("arn:aws:iam::%s:policy/%s", Account, name)
		at["id"] = at["arn"]
		at["policyId"] = "ANPA" + strings.ToUpper(stableHex(name, 17))
	default:
		at["id"] = name
	}
	return at
}

func stableHex(seed string, n int) string {
	h := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(h[:])[:n]
}

func stableUUID(seed string) string {
	h := stableHex(seed, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
