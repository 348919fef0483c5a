// Package providerfake describes what provider-aws reports about a managed
// resource once it has created it: Ready and Synced conditions and
// status.atProvider with the ARNs, IDs and URLs the real provider fills in.
// The function's tests and example fixtures use it directly (Observe); the
// e2e provider simulator uses it to fill status on a real API server.
//
// It is test support, not product code: the function never imports it.
package providerfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
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

	at := atProvider(u)
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

// atProvider returns the status.atProvider the provider reports for u: its
// forProvider parameters plus the identifiers AWS assigns.
func atProvider(u *unstructured.Unstructured) map[string]any {
	fp, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
	region, _ := fp["region"].(string)
	gvk := u.GroupVersionKind()
	at := ObservedFields(Identity{
		Group: gvk.Group, Kind: gvk.Kind, ExternalName: externalName(u),
		Region: region, Account: Account, UID: u.GetName(), ForProvider: fp,
	})
	for k, v := range fp {
		if !IsReference(k) {
			at[k] = v
		}
	}
	return at
}

// Identity is what the simulated AWS account knows about one resource.
type Identity struct {
	Group, Kind  string
	ExternalName string // crossplane.io/external-name, else metadata.name
	Region       string
	Account      string
	UID          string         // seeds generated IDs, so they are stable
	ForProvider  map[string]any // the resolved spec.forProvider
	// ConnectionPending holds a CodeStar connection in PENDING, as AWS does
	// until someone completes the handshake in the console.
	ConnectionPending bool
}

// ObservedFields returns the computed part of status.atProvider the way
// provider-aws reports it after creating the resource: ARNs, IDs, URLs, in
// the partition of id.Region (aws-cn for cn-*, aws-us-gov for us-gov-*,
// else aws; "Amazon Resource Names (ARNs)",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
// A global kind (IAM) has no region of its own: give it the provider
// config's region for its partition, else it is in aws.
func ObservedFields(id Identity) map[string]any {
	name, region, account := id.ExternalName, id.Region, id.Account
	part := Partition(region)
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", part, service, region, account, resource)
	}
	str := func(key string) string {
		s, _ := id.ForProvider[key].(string)
		return s
	}
	obs := map[string]any{"region": region}

	// provider-aws's namespaced kinds (*.aws.m.upbound.io) report exactly
	// what their cluster-scoped twins do.
	group := ClusterGroup(id.Group)
	switch group + "/" + id.Kind {
	case "ecr.aws.upbound.io/Repository":
		obs["arn"] = arn("ecr", "repository/"+name)
		obs["id"] = name
		obs["registryId"] = account
		obs["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", account, region, dnsSuffix(part), name)
	case "ecr.aws.upbound.io/LifecyclePolicy":
		obs["id"] = str("repository")
		obs["registryId"] = account

	case "s3.aws.upbound.io/Bucket":
		obs["arn"] = "arn:" + part + ":s3:::" + name
		obs["id"] = name
		obs["bucketDomainName"] = name + ".s3.amazonaws.com"
		obs["bucketRegionalDomainName"] = fmt.Sprintf("%s.s3.%s.amazonaws.com", name, region)
		obs["bucketRegion"] = region
		obs["hostedZoneId"] = "Z3AQBSTGFYJSTF"
	case "s3.aws.upbound.io/BucketVersioning", "s3.aws.upbound.io/BucketServerSideEncryptionConfiguration",
		"s3.aws.upbound.io/BucketLifecycleConfiguration", "s3.aws.upbound.io/BucketPublicAccessBlock",
		"s3.aws.upbound.io/BucketPolicy":
		obs["id"] = str("bucket")

	case "codebuild.aws.upbound.io/Project":
		obs["arn"] = arn("codebuild", "project/"+name)
		obs["id"] = obs["arn"]
	case "codepipeline.aws.upbound.io/Codepipeline":
		obs["arn"] = arn("codepipeline", name)
		obs["id"] = name
	case "codestarconnections.aws.upbound.io/Connection":
		obs["arn"] = arn("codestar-connections", "connection/"+stableUUID(id.UID))
		obs["id"] = obs["arn"]
		obs["connectionStatus"] = "AVAILABLE"
		if id.ConnectionPending {
			obs["connectionStatus"] = "PENDING"
		}

	case "lambda.aws.upbound.io/Function":
		fnARN := arn("lambda", "function:"+name)
		version := "$LATEST"
		if publish, _ := id.ForProvider["publish"].(bool); publish {
			version = "1"
		}
		obs["arn"] = fnARN
		obs["id"] = name
		obs["version"] = version
		obs["qualifiedArn"] = fnARN + ":" + version
		obs["invokeArn"] = fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", part, region, fnARN)
		obs["qualifiedInvokeArn"] = fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s:%s/invocations", part, region, fnARN, version)
		obs["lastModified"] = "2026-01-01T00:00:00.000+0000"

	case "dynamodb.aws.upbound.io/Table":
		tableARN := arn("dynamodb", "table/"+name)
		obs["arn"] = tableARN
		obs["id"] = name
		if enabled, _ := id.ForProvider["streamEnabled"].(bool); enabled {
			obs["streamLabel"] = "2026-01-01T00:00:00.000"
			obs["streamArn"] = tableARN + "/stream/2026-01-01T00:00:00.000"
		}

	case "sns.aws.upbound.io/Topic":
		obs["arn"] = arn("sns", name)
		obs["id"] = obs["arn"]
		obs["owner"] = account
	case "sns.aws.upbound.io/TopicSubscription":
		obs["arn"] = str("topicArn") + ":" + stableUUID(id.UID)
		obs["id"] = obs["arn"]
		obs["ownerId"] = account
		// E-mail subscriptions wait for the recipient to confirm.
		obs["pendingConfirmation"] = strings.HasPrefix(str("protocol"), "email")
		obs["confirmationWasAuthenticated"] = false
	case "sns.aws.upbound.io/TopicPolicy":
		obs["id"] = str("arn")
		obs["owner"] = account

	case "cloudwatch.aws.upbound.io/MetricAlarm":
		obs["arn"] = arn("cloudwatch", "alarm:"+name)
		obs["id"] = name
	case "cloudwatchlogs.aws.upbound.io/Group":
		obs["arn"] = arn("logs", "log-group:"+name)
		obs["id"] = name
	case "cloudwatchevents.aws.upbound.io/Rule":
		bus := str("eventBusName")
		if bus == "" || bus == "default" {
			obs["arn"] = arn("events", "rule/"+name)
			obs["id"] = name
		} else {
			obs["arn"] = arn("events", "rule/"+bus+"/"+name)
			obs["id"] = bus + "/" + name
		}
	case "cloudwatchevents.aws.upbound.io/Target":
		obs["id"] = str("rule") + "-" + str("targetId")

	case "iam.aws.upbound.io/Role":
		obs["arn"] = fmt.Sprintf("arn:%s:iam::%s:role%s%s", part, account, iamPath(str("path")), name)
		obs["id"] = name
		obs["uniqueId"] = "AROA" + strings.ToUpper(stableHex(id.UID, 17))
		obs["createDate"] = "2026-01-01T00:00:00Z"
	case "iam.aws.upbound.io/Policy":
		obs["arn"] = fmt.Sprintf("arn:%s:iam::%s:policy%s%s", part, account, iamPath(str("path")), name)
		obs["id"] = obs["arn"]
		obs["policyId"] = "ANPA" + strings.ToUpper(stableHex(id.UID, 17))
		obs["attachmentCount"] = int64(1)
	case "iam.aws.upbound.io/RolePolicyAttachment":
		obs["id"] = str("role") + "-" + stableHex(id.UID, 26)

	default:
		// A kind without a rule above still gets what every upjet resource
		// has: an ID (and an ARN where the schema has one; see merge).
		obs["id"] = name
		obs["arn"] = arn(strings.TrimSuffix(group, ".aws.upbound.io"), strings.ToLower(id.Kind)+"/"+name)
	}
	return obs
}

// Partition is the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// dnsSuffix is the DNS suffix of a partition's endpoints: the China Regions'
// ECR registries are <account>.dkr.ecr.<region>.amazonaws.com.cn
// (https://docs.amazonaws.cn/en_us/AmazonECR/latest/userguide/Registries.html).
func dnsSuffix(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// ClusterGroup returns the cluster-scoped group of a provider-aws group:
// s3.aws.m.upbound.io (namespaced) -> s3.aws.upbound.io; other groups are
// returned as they are.
func ClusterGroup(group string) string {
	if service, ok := strings.CutSuffix(group, ".aws.m.upbound.io"); ok {
		return service + ".aws.upbound.io"
	}
	return group
}

// IsReference reports whether a forProvider field is Crossplane's (a
// reference or selector) rather than an AWS parameter.
func IsReference(name string) bool {
	return strings.HasSuffix(name, "Ref") || strings.HasSuffix(name, "Refs") || strings.HasSuffix(name, "Selector")
}

func iamPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func stableHex(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])[:n]
}

// stableUUID derives a UUID-shaped string from seed.
func stableUUID(seed string) string {
	h := stableHex(seed, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// principalFields are the forProvider parameters of the kinds the function
// composes that hold a resource-based or trust policy, or a principal.
var principalFields = []string{"policy", "assumeRolePolicy", "principal"}

// UnknownPrincipals returns the IAM roles and users of account that u's
// policies name as a principal and that exists reports missing, sorted.
// AWS refuses such a policy when it is created or updated: "Invalid
// principal in policy" (IAM, S3 and SNS: "AWS JSON policy elements:
// Principal", IAM User Guide,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html;
// https://repost.aws/knowledge-center/iam-trust-policy-error;
// https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error),
// and KMS says "the principals in the key policy must exist" (CreateKey,
// Policy). The provider then reports Synced=False and retries. Principals
// of other accounts are not checked: a fake knows only its own.
func UnknownPrincipals(u *unstructured.Unstructured, account string, exists func(arn string) bool) []string {
	fp, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider")
	var out []string
	for _, f := range principalFields {
		s, _ := fp[f].(string)
		for _, p := range principalsOf(s) {
			if identityOf(p, account) && !exists(p) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// principalsOf returns the AWS principals a policy document names, or the
// principal itself when s is not a document (a Lambda permission's).
func principalsOf(s string) []string {
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil || doc.Statement == nil {
		return []string{s}
	}
	var statements []map[string]any
	if err := json.Unmarshal(doc.Statement, &statements); err != nil {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return nil
		}
		statements = []map[string]any{one}
	}
	var out []string
	for _, st := range statements {
		p, _ := st["Principal"].(map[string]any)
		switch aws := p["AWS"].(type) {
		case string:
			out = append(out, aws)
		case []any:
			for _, a := range aws {
				if s, ok := a.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// identityOf reports whether arn is an IAM role or user of account.
func identityOf(arn, account string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != account {
		return false
	}
	return strings.HasPrefix(parts[5], "role/") || strings.HasPrefix(parts[5], "user/")
}
