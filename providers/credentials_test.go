package providers

import (
	"reflect"
	"testing"
)

func TestAProviderIsLiveWhenAllItsCredentialsAreSet(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		want map[string]map[string]string
	}{
		{"nothing set makes no provider live", nil, map[string]map[string]string{}},
		{"a provider with one of two credentials is not live",
			map[string]string{"providers.tensordock.api_key": "k"}, map[string]map[string]string{}},
		{"a provider with every credential is live, with its values by suffix",
			map[string]string{"providers.tensordock.api_key": "k", "providers.tensordock.api_token": "t", "providers.lambda.api_key": "l"},
			map[string]map[string]string{"tensordock": {"api_key": "k", "api_token": "t"}, "lambda": {"api_key": "l"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LiveCredentials(func(key string) string { return tt.set[key] })
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("LiveCredentials = %v, want %v", got, tt.want)
			}
		})
	}
}
