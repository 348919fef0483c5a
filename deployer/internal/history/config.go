package history

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/deployer/contract"
)

// TargetsJSON reads the deploy targets item the composition function writes
// (contract.TargetsItemID) with a consistent read, and returns its
// contract.TargetsAttribute: the JSON of a contract.TargetsItem.
func (s *Store) TargetsJSON(ctx context.Context) (string, error) {
	var item map[string]types.AttributeValue
	found, err := s.getRaw(ctx, contract.TargetsItemID, contract.TargetsItemTimestamp, &item)
	if err != nil {
		return "", fmt.Errorf("reading the deploy targets item: %w", err)
	}
	if !found {
		return "", fmt.Errorf("table %s has no deploy targets item (%s=%q, %s=%d): the composition function writes it from the claim's deployer.targets",
			s.table, contract.HashKey, contract.TargetsItemID, contract.RangeKey, contract.TargetsItemTimestamp)
	}
	value, ok := item[contract.TargetsAttribute].(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("the deploy targets item of table %s has no string attribute %q", s.table, contract.TargetsAttribute)
	}
	return value.Value, nil
}
