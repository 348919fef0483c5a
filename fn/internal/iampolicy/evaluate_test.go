package iampolicy

import "testing"

func TestAllows(t *testing.T) {
	doc := New(
		Allow("Objects", []string{"s3:GetObject", "s3:PutObject"}, "arn:aws:s3:::bkt/*"),
		Allow("Bucket", []string{"s3:GetBucketAcl"}, "arn:aws:s3:::bkt"),
		Allow("Logs", []string{"logs:PutLogEvents"}, "arn:aws:logs:us-east-1:1:log-group:/aws/x:*"),
		Allow("Token", []string{"ecr:GetAuthorizationToken"}, "*"),
		Statement{Effect: "Allow", Action: []string{"s3:DeleteObject"}, Resource: []string{"*"}, Condition: Condition{"Bool": {"aws:SecureTransport": {"true"}}}},
		Statement{Effect: "Deny", Action: []string{"s3:PutObject"}, Resource: []string{"arn:aws:s3:::bkt/locked/*"}},
	)
	cases := map[string]struct {
		action, resource string
		want             bool
	}{
		"ObjectWildcard":       {"s3:GetObject", "arn:aws:s3:::bkt/a/b.zip", true},
		"ActionCaseInsensitve": {"S3:getobject", "arn:aws:s3:::bkt/a", true},
		"ResourceCaseSensitve": {"s3:GetObject", "arn:aws:s3:::BKT/a", false},
		"BucketIsNotObject":    {"s3:GetObject", "arn:aws:s3:::bkt", false},
		"ObjectIsNotBucket":    {"s3:GetBucketAcl", "arn:aws:s3:::bkt/a", false},
		"OtherAction":          {"s3:PutObjectAcl", "arn:aws:s3:::bkt/a", false},
		"LogStream":            {"logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/x:log-stream:s", true},
		"OtherLogGroup":        {"logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/y:log-stream:s", false},
		"Star":                 {"ecr:GetAuthorizationToken", "anything", true},
		"ConditionNeverAllows": {"s3:DeleteObject", "arn:aws:s3:::bkt/a", false},
		"ExplicitDenyWins":     {"s3:PutObject", "arn:aws:s3:::bkt/locked/a", false},
		"QuestionMark":         {"s3:GetObject", "arn:aws:s3:::bkt/?", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := doc.Allows(tc.action, tc.resource); got != tc.want {
				t.Errorf("Allows(%s, %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
			}
		})
	}
	if !Match("a?c", "abc", false) || Match("a?c", "abbc", false) {
		t.Error("? must match exactly one character")
	}
}
