package providersim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// identity is what the simulated AWS account knows about one resource.
type identity struct {
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

// observedFields returns the computed part of status.atProvider the way
// provider-aws reports it after creating the resource: ARNs, IDs, URLs.
func observedFields(id identity) map[string]any {
	name, region, account := id.ExternalName, id.Region, id.Account
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
	}
	str := func(key string) string {
		s, _ := id.ForProvider[key].(string)
		return s
	}
	obs := map[string]any{"region": region}

	switch id.Group + "/" + id.Kind {
	case "ecr.aws.upbound.io/Repository":
		obs["arn"] = arn("ecr", "repository/"+name)
		obs["id"] = name
		obs["registryId"] = account
		obs["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", account, region, name)
	case "ecr.aws.upbound.io/LifecyclePolicy":
		obs["id"] = str("repository")
		obs["registryId"] = account

	case "s3.aws.upbound.io/Bucket":
		obs["arn"] = "arn:aws:s3:::" + name
		obs["id"] = name
		obs["bucketDomainName"] = name + ".s3.amazonaws.com"
		obs["bucketRegionalDomainName"] = fmt.Sprintf("%s.s3.%s.amazonaws.com", name, region)
		obs["bucketRegion"] = region
		obs["hostedZoneId"] = "Z3AQBSTGFYJSTF"
	case "s3.aws.upbound.io/BucketVersioning", "s3.aws.upbound.io/BucketServerSideEncryptionConfiguration",
		"s3.aws.upbound.io/BucketLifecycleConfiguration", "s3.aws.upbound.io/BucketPublicAccessBlock",
		"s3.aws.upbound.io/BucketPolicy", "s3.aws.upbound.io/BucketOwnershipControls":
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
		obs["invokeArn"] = fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, fnARN)
		obs["qualifiedInvokeArn"] = fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s:%s/invocations", region, fnARN, version)
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
		obs["arn"] = fmt.Sprintf("arn:aws:iam::%s:role%s%s", account, iamPath(str("path")), name)
		obs["id"] = name
		obs["uniqueId"] = "AROA" + strings.ToUpper(stableHex(id.UID, 17))
		obs["createDate"] = "2026-01-01T00:00:00Z"
	case "iam.aws.upbound.io/Policy":
		obs["arn"] = fmt.Sprintf("arn:aws:iam::%s:policy%s%s", account, iamPath(str("path")), name)
		obs["id"] = obs["arn"]
		obs["policyId"] = "ANPA" + strings.ToUpper(stableHex(id.UID, 17))
		obs["attachmentCount"] = int64(1)
	case "iam.aws.upbound.io/RolePolicyAttachment":
		obs["id"] = str("role") + "-" + stableHex(id.UID, 26)

	default:
		// A kind without a rule above still gets what every upjet resource
		// has: an ID (and an ARN where the schema has one; see merge).
		obs["id"] = name
		obs["arn"] = arn(strings.TrimSuffix(id.Group, ".aws.upbound.io"), strings.ToLower(id.Kind)+"/"+name)
	}
	return obs
}

// atProvider merges the observed fields with the parameters the resource was
// created with (upjet reports both), keeping only fields the kind's schema
// has. Parameters win: some kinds have a parameter named like an observed
// field (cloudwatchevents Target's arn is the target's ARN).
func atProvider(k *Kind, id identity) map[string]any {
	out := map[string]any{}
	for key, v := range observedFields(id) {
		if k.atProviderFields[key] {
			out[key] = v
		}
	}
	for key, v := range id.ForProvider {
		if k.atProviderFields[key] && !isReferenceField(key) {
			out[key] = v
		}
	}
	return out
}

func isReferenceField(name string) bool {
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

func sortRefs(refs []refField) {
	slices.SortFunc(refs, func(a, b refField) int { return strings.Compare(a.Field, b.Field) })
}
