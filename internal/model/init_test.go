package model

import (
	"strings"
	"testing"
)

func TestSpecOf(t *testing.T) {
	tests := []struct {
		name    string
		s       InitSpec
		wantErr string
	}{
		{"zeros", InitSpec{Kind: KindLogisticRegression, Features: 13, Init: InitZeros}, ""},
		{"normal", InitSpec{Kind: KindLogisticRegression, Features: 1, Init: InitNormal, Seed: 4}, ""},
		{"unknown kind", InitSpec{Kind: "mlp", Features: 13, Init: InitZeros}, `kind "mlp" not supported`},
		{"no features", InitSpec{Kind: KindLogisticRegression, Init: InitZeros}, "features = 0"},
		{"unknown init", InitSpec{Kind: KindLogisticRegression, Features: 13, Init: "ones"}, `init "ones" not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := SpecOf(tt.s)
			_, initErr := Init(tt.s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SpecOf: %v, want %q", err, tt.wantErr)
				}
				if initErr == nil || initErr.Error() != err.Error() {
					t.Fatalf("Init refuses with %v, SpecOf with %v: want the same", initErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := Init(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Spec().Equal(spec); err != nil {
				t.Fatalf("SpecOf differs from Init's model: %v", err)
			}
			if spec.NumParams() != 3*tt.s.Features+1 {
				t.Fatalf("%d parameters, want %d", spec.NumParams(), 3*tt.s.Features+1)
			}
		})
	}
}
