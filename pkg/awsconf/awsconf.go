package awsconf

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the configuration for region ("" = the chain's, else
// us-east-1) and endpoint ("" = AWS itself).
func Load(ctx context.Context, region, endpoint string) (aws.Config, error) {
	return LoadWith(ctx, region, endpoint, nil)
}

// LoadWith is Load with creds instead of the default credential chain
// (nil: the chain), as a controller passes a ClusterPair's own credentials.
func LoadWith(ctx context.Context, region, endpoint string, creds aws.CredentialsProvider) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if creds != nil {
		opts = append(opts, config.WithCredentialsProvider(creds))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return aws.Config{}, fmt.Errorf("endpoint %q: want http(s)://host:port", endpoint)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}
